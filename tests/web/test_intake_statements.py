"""How much database work one intake command costs: the statements and round trips of
`POST /api/v1/arrests?submit=true`, counted with SQLAlchemy's engine events on both stores.

A deterministic bound, not a timing: a change that adds a statement to every arrest (a
re-read of what was just written, a per-row insert where one statement per table would do)
fails here, and the bound is lowered when a statement is taken away. What each one is for is
listed in docs/performance.md ("Intake": "Statements per arrest").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from pars.store.accounts import RevocationProbe
from pars.store.engine import NO_SNAPSHOT
from tests.conftest import Api
from tests.factories import arrest_body

# Per create-and-submit, once the token is cached. Statements are what reaches the driver's
# cursor; round trips add each BEGIN and COMMIT (separate messages on PostgreSQL; on SQLite
# BEGIN is a statement PARS sends to the driver itself, and COMMIT a call into the library).
MAX_STATEMENTS = {"sqlite": 11, "postgres": 11}
MAX_ROUND_TRIPS = {"sqlite": 12, "postgres": 13}


@contextmanager
def counted(engine: sa.Engine, probe: RevocationProbe | None = None) -> Iterator[dict[str, Any]]:
    """Count the statements (and BEGIN/COMMIT/ROLLBACK) that `engine` sends while open, and
    the reads of `probe` (SQLite's token check on the event loop, outside SQLAlchemy)."""
    seen: dict[str, Any] = {"statements": [], "begins": 0, "commits": 0, "rollbacks": 0}
    probed = probe.reads if probe is not None else 0

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen["statements"].append(" ".join(statement.split())[:80])

    def bump(key: str) -> Any:
        def on(conn: Any, *args: Any) -> None:
            # Under autocommit no BEGIN or COMMIT reaches the server; a SQLite reader without
            # a snapshot sends no BEGIN.
            options = conn.get_execution_options()
            if options.get("isolation_level") != "AUTOCOMMIT" and not options.get(NO_SNAPSHOT):
                seen[key] += 1

        return on

    hooks = [
        ("before_cursor_execute", on_execute),
        ("begin", bump("begins")),
        ("commit", bump("commits")),
        ("rollback", bump("rollbacks")),
    ]
    for name, fn in hooks:
        sa.event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in hooks:
            sa.event.remove(engine, name, fn)
        if probe is not None:
            seen["statements"] += ["SELECT version FROM revocation_version (probe)"] * (
                probe.reads - probed
            )


def _create(api: Api, n: int) -> dict[str, Any]:
    body = arrest_body(report_number=f"2026-06-{n:06d}")
    body["person"] = {**body["person"], "last_name": f"Doe{n}"}
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_statements_per_intake_command(api: Api, backend: str) -> None:
    _create(api, 0)  # the token is read and cached, the model looked up once
    _create(api, 1)
    with counted(api.pars.engine, api.pars.revocation_probe) as seen:
        made = _create(api, 2)
    assert made["state"] == "submitted"
    statements = seen["statements"]
    on_driver = [s for s in statements if s.split()[0].upper() not in ("BEGIN", "COMMIT")]
    round_trips = len(statements) + seen["begins"]
    if backend == "postgres":
        round_trips += seen["commits"]
    assert seen["rollbacks"] == 0, statements
    assert len(on_driver) <= MAX_STATEMENTS[backend], "\n".join(statements)
    assert round_trips <= MAX_ROUND_TRIPS[backend], "\n".join(statements)


def test_the_counted_command_did_all_its_work(api: Api, backend: str) -> None:
    """The bound is met by doing the same work: the arrest, its version, its events, its audit
    rows and its identity decision are all there."""
    with counted(api.pars.engine) as seen:
        made = _create(api, 3)
    assert any(s.startswith("INSERT INTO arrests ") for s in seen["statements"])
    with api.pars.engine.connect() as conn:
        decisions = conn.execute(
            sa.text("SELECT outcome FROM identity_decisions WHERE arrest_id = :a"),
            {"a": made["id"]},
        ).all()
        audits = conn.execute(
            sa.text("SELECT action FROM audit_log WHERE subject = :a ORDER BY leaf_index"),
            {"a": made["id"]},
        ).all()
        events = conn.execute(
            sa.text("SELECT type FROM outbox WHERE subject = :a"), {"a": made["id"]}
        ).all()
    assert len(decisions) == 1
    assert [a.action for a in audits] == ["arrest:created", "arrest:submitted", "person:match"]
    assert events
    reader = api.as_("officer")
    assert reader.get(f"/api/v1/arrests/{made['id']}").json()["version"] == made["version"]
    versions = reader.get(f"/api/v1/arrests/{made['id']}/versions").json()["items"]
    assert [v["version"] for v in versions] == [made["version"]]
