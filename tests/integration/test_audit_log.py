"""The disclosure log in the database: leaves in commit order, checkpoints, proofs, receipts,
`pars audit verify` finding exactly what was tampered with, and write-ahead disclosures."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from pars.audit.checkpoint import parse_note, verify_note
from pars.audit.entries import payload_hash
from pars.audit.merkle import (
    compute_root,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services import audit
from pars.services.app import Pars
from pars.services.audit_verify import verify
from pars.services.delivery.relay import relay_once
from pars.store import audit as log
from pars.store.tables import audit_head, audit_log, audit_nodes, deliveries
from tests.conftest import Api, rows
from tests.factories import active_agreement, arrest_body

JSON = {"Accept": "application/json"}


def _b(value: str) -> bytes:
    return base64.b64decode(value)


def _submit(api: Api, n: int = 1) -> list[str]:
    ids = []
    for _ in range(n):
        r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _entries(pars: Pars) -> list[bytes]:
    with pars.engine.connect() as conn:
        return [
            bytes(r.entry)
            for r in conn.execute(sa.select(audit_log.c.entry).order_by(audit_log.c.leaf_index))
        ]


def test_every_audit_row_is_a_leaf_in_commit_order(api: Api, backend: str) -> None:
    _submit(api, 3)
    api.as_("prosecutor").get("/api/v1/arrests")
    with api.pars.engine.connect() as conn:
        got = conn.execute(
            sa.select(audit_log.c.leaf_index, audit_log.c.entry, audit_log.c.action).order_by(
                audit_log.c.leaf_index
            )
        ).all()
        size = log.log_size(conn)
        root = log.prefetched(conn, size, lambda t: t.root())
    assert [r.leaf_index for r in got] == list(range(size)) and size == len(got) > 3
    for r in got:
        entry = json.loads(r.entry)
        assert entry["i"] == r.leaf_index and entry["action"] == r.action
    # The cached tree agrees with the definition computed from the entries alone.
    assert root == compute_root([leaf_hash(bytes(r.entry)) for r in got])


def test_checkpoint_and_proofs_verify_against_the_signed_root(api: Api, backend: str) -> None:
    _submit(api, 2)
    first = api.as_("auditor").post("/api/v1/audit/checkpoint").json()
    _submit(api, 3)
    second = api.as_("auditor").post("/api/v1/audit/checkpoint").json()
    public = _b(api.client.get("/api/v1/audit/public-key").json()["public_key"])
    for cp in (first, second):
        assert verify_note(cp["note"], _b(cp["signature"]), public)
        assert parse_note(cp["note"]).size == cp["size"]
    latest = api.client.get("/api/v1/audit/checkpoint", headers=JSON).json()
    assert latest == second
    assert [c["size"] for c in api.client.get("/api/v1/audit/checkpoints").json()["items"]] == [
        first["size"],
        second["size"],
    ]
    entries = _entries(api.pars)
    for index in (0, first["size"] - 1, second["size"] - 1):
        proof = api.client.get("/api/v1/audit/proof/inclusion", params={"index": index}).json()
        assert proof["tree_size"] == second["size"]
        assert verify_inclusion(
            leaf_hash(entries[index]),
            index,
            second["size"],
            [_b(p) for p in proof["proof"]],
            _b(second["root_hash"]),
        )
    c = api.client.get("/api/v1/audit/proof/consistency", params={"first": first["size"]}).json()
    assert verify_consistency(
        first["size"],
        second["size"],
        _b(first["root_hash"]),
        _b(second["root_hash"]),
        [_b(p) for p in c["proof"]],
    )


def test_proof_queries_are_checked(api: Api) -> None:
    r = api.client.get("/api/v1/audit/checkpoint")
    assert r.status_code == 404  # none signed yet
    api.as_("auditor").post("/api/v1/audit/checkpoint")
    size = api.client.get("/api/v1/audit/checkpoint", headers=JSON).json()["size"]
    for params, name in (
        ({"index": size}, "index"),
        ({"index": -1}, "index"),
        ({"index": "x"}, "index"),
        ({"index": 0, "size": size + 10_000}, "size"),
    ):
        r = api.client.get("/api/v1/audit/proof/inclusion", params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["parameter"] == name
    r = api.client.get("/api/v1/audit/proof/consistency", params={"first": size + 1})
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "first"
    # Signing and exporting are for the right roles.
    api.client.headers.pop("Authorization", None)
    assert api.client.post("/api/v1/audit/checkpoint").status_code == 401
    assert api.as_("officer").post("/api/v1/audit/checkpoint").status_code == 403
    assert api.as_("clerk").get("/api/v1/audit/export").status_code == 403


@pytest.fixture
def partner(api: Api) -> dict[str, Any]:
    partner_id, key = ag.add_partner(api.pars, "PSP", "state_repository")
    active_agreement(
        api.pars,
        partner_id,
        ends_at=api.pars.clock.now() + timedelta(days=30),
        event_types=["pars.arrest.submitted"],
    )
    return {"id": partner_id, "headers": {"Authorization": f"Bearer {key}"}}


def test_a_delivered_event_carries_a_receipt_the_partner_can_check(
    api: Api, partner: dict[str, Any], backend: str
) -> None:
    _submit(api, 2)
    relay_once(api.pars)
    items = api.client.get("/api/v1/feed", headers=partner["headers"]).json()["items"]
    assert len(items) == 2
    api.as_("auditor").post("/api/v1/audit/checkpoint")
    for item in items:
        index, salt = int(item["parslogindex"]), _b(item["parslogsalt"])
        got = api.client.get(f"/api/v1/feed/receipts/{index}", headers=partner["headers"])
        assert got.status_code == 200, got.text
        receipt = got.json()
        entry = json.loads(receipt["entry"])
        assert entry["action"] == "disclosure:delivered" and entry["record"] == item["subject"]
        sent = {k: v for k, v in item.items() if k not in ("parslogindex", "parslogsalt")}
        assert entry["payload_hash"] == payload_hash(salt, sent)
        assert "case" in entry["classes"] and "protected" not in entry["classes"]
        proof, cp = receipt["inclusion"], receipt["checkpoint"]
        assert verify_inclusion(
            leaf_hash(receipt["entry"].encode()),
            index,
            cp["size"],
            [_b(p) for p in proof["proof"]],
            _b(cp["root_hash"]),
        )
    # Another partner, or another index, gets nothing.
    _other_id, other_key = ag.add_partner(api.pars, "Other", "state_repository")
    r = api.client.get(
        f"/api/v1/feed/receipts/{items[0]['parslogindex']}",
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert r.status_code == 404
    assert api.client.get("/api/v1/feed/receipts/0", headers=partner["headers"]).status_code == 404


def test_a_delivery_whose_log_entry_cannot_be_written_is_not_sent(
    api: Api, partner: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _submit(api, 1)
    relay_once(api.pars)

    def broken(*args: Any, **kwargs: Any) -> list[int]:
        raise sa.exc.OperationalError("INSERT INTO audit_log", {}, Exception("disk full"))

    monkeypatch.setattr("pars.store.uow.append_rows", broken)
    r = api.client.get("/api/v1/feed", headers=partner["headers"])
    assert r.status_code == 503 and "item" not in r.text
    monkeypatch.undo()
    with api.pars.engine.connect() as conn:
        statuses = conn.execute(sa.select(deliveries.c.status)).scalars().all()
    assert statuses == ["queued"]  # not marked delivered: it will go out, logged, next time
    items = api.client.get("/api/v1/feed", headers=partner["headers"]).json()["items"]
    assert len(items) == 1 and "parslogindex" in items[0]


# -- verification and tampering -------------------------------------------------------------


@pytest.fixture
def logged(api: Api, partner: dict[str, Any]) -> Pars:
    """A log of a few dozen entries with two checkpoints, disclosures among them."""
    _submit(api, 3)
    relay_once(api.pars)
    api.client.get("/api/v1/feed", headers=partner["headers"])
    audit.checkpoint(api.pars)
    _submit(api, 2)
    audit.checkpoint(api.pars)
    report = verify(api.pars)
    assert report.ok, report.problems
    assert report.entries == report.size > 20 and report.checkpoints == 2
    return api.pars


def _update(pars: Pars, statement: Any) -> None:
    with pars.engine.begin() as conn:
        conn.execute(statement)


def _first_problem(pars: Pars) -> str:
    report = verify(pars)
    assert not report.ok
    return report.problems[0]


@pytest.mark.parametrize("index", [0, 7, -1])
@pytest.mark.parametrize("position", [0, 25, -2])
def test_flipping_a_byte_of_an_entry_names_it(logged: Pars, index: int, position: int) -> None:
    entries = _entries(logged)
    index %= len(entries)
    raw = bytearray(entries[index])
    raw[position % len(raw)] ^= 0x01
    _update(
        logged,
        sa.update(audit_log).where(audit_log.c.leaf_index == index).values(entry=bytes(raw)),
    )
    assert _first_problem(logged).startswith(f"entry {index}:")


@pytest.mark.parametrize(("level", "which"), [(0, 0), (0, -1), (1, 3), (2, 1), (4, 0)])
def test_flipping_a_cached_hash_names_it(logged: Pars, level: int, which: int) -> None:
    with logged.engine.connect() as conn:
        idxs = sorted(
            conn.execute(sa.select(audit_nodes.c.idx).where(audit_nodes.c.level == level))
            .scalars()
            .all()
        )
        idx = idxs[which]
        value = bytearray(
            conn.execute(
                sa.select(audit_nodes.c.hash).where(
                    audit_nodes.c.level == level, audit_nodes.c.idx == idx
                )
            ).scalar_one()
        )
    value[5] ^= 0x80
    _update(
        logged,
        sa.update(audit_nodes)
        .where(audit_nodes.c.level == level, audit_nodes.c.idx == idx)
        .values(hash=bytes(value)),
    )
    problem = _first_problem(logged)
    assert (f"({level}, {idx})") in problem, problem


def test_a_rewritten_column_is_named(logged: Pars, backend: str) -> None:
    _update(
        logged,
        sa.update(audit_log)
        .where(audit_log.c.action == "disclosure:delivered")
        .values(action="arrest:read"),
    )
    with logged.engine.connect() as conn:
        first = conn.execute(
            sa.select(sa.func.min(audit_log.c.leaf_index)).where(
                audit_log.c.action == "arrest:read", audit_log.c.payload_hash.is_not(None)
            )
        ).scalar_one()
    assert _first_problem(logged) == f"entry {first}: column action differs from the logged entry"


def test_truncation_is_detected(logged: Pars, backend: str) -> None:
    size = verify(logged).size
    with logged.engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.leaf_index >= size - 3))
        conn.execute(sa.update(audit_head).values(size=size - 3))
    problems = verify(logged).problems
    assert any("truncated" in p for p in problems), problems


def test_a_deleted_entry_is_named(logged: Pars, backend: str) -> None:
    _update(logged, sa.delete(audit_log).where(audit_log.c.leaf_index == 9))
    assert _first_problem(logged) == "entry 9: missing (the next entry is 10)"


def test_reordering_is_detected(logged: Pars, backend: str) -> None:
    entries = _entries(logged)
    with logged.engine.begin() as conn:
        for index, entry in ((4, entries[5]), (5, entries[4])):
            conn.execute(
                sa.update(audit_log).where(audit_log.c.leaf_index == index).values(entry=entry)
            )
    problem = _first_problem(logged)
    assert problem.startswith("entry 4:") and "reordered" in problem


def test_a_fork_under_a_later_checkpoint_is_detected(logged: Pars, backend: str) -> None:
    """Rewrite entry 3, rebuild every cached hash consistently and sign a new checkpoint: the
    log now agrees with itself, but not with the checkpoints signed before."""
    entries = _entries(logged)
    forged = entries[3].replace(b'"outcome":"success"', b'"outcome":"failure"')
    assert forged != entries[3]
    entries[3] = forged
    with logged.engine.begin() as conn:
        conn.execute(
            sa.update(audit_log)
            .where(audit_log.c.leaf_index == 3)
            .values(entry=forged, outcome="failure")
        )
        conn.execute(sa.delete(audit_nodes))
        store = log.DbNodeStore(conn)
        log.MerkleLog(store, 0).append([leaf_hash(e) for e in entries])
    audit.checkpoint(logged)
    problems = verify(logged).problems
    assert problems and all("checkpoint" in p for p in problems), problems
    assert any("rewritten or forked" in p for p in problems)


def test_the_log_still_verifies_after_expungement(api: Api, logged: Pars) -> None:
    arrest_id = _submit(api, 1)[0]
    r = api.as_("clerk").post(
        f"/api/v1/arrests/{arrest_id}/expunge", json={"order": "CP-51-MD-8-2026"}
    )
    assert r.status_code == 200 and r.json()["state"] == "expunged", r.text
    audit.checkpoint(logged)
    assert verify(logged).ok


def test_entries_hold_no_personal_data(api: Api, partner: dict[str, Any], backend: str) -> None:
    body = arrest_body()
    _submit(api, 1)
    relay_once(api.pars)
    api.client.get("/api/v1/feed", headers=partner["headers"])
    text = b"\n".join(_entries(api.pars)).decode()
    person = body["person"]
    for value in (person["last_name"], person["first_name"], person.get("ssn")):
        if value:
            assert value not in text
    assert all(a["salt"] is None or len(a["salt"]) == 16 for a in rows(api.pars, "audit_log"))


def test_node_hashes_follow_the_definition(logged: Pars) -> None:
    with logged.engine.connect() as conn:
        nodes = {(r.level, r.idx): bytes(r.hash) for r in conn.execute(sa.select(audit_nodes))}
    for (level, idx), value in nodes.items():
        if level:
            assert value == node_hash(nodes[(level - 1, 2 * idx)], nodes[(level - 1, 2 * idx + 1)])


def test_checkpoints_on_a_schedule(pars: Pars, clock: FakeClock) -> None:
    assert audit.maybe_checkpoint(pars) is not None  # none yet: sign one
    assert audit.maybe_checkpoint(pars) is None  # nothing new
    pars.audit_now(log.AuditRow("cli", "test:event"))
    assert audit.maybe_checkpoint(pars) is None  # grew, but the interval has not passed
    clock.advance(timedelta(seconds=pars.settings.checkpoint_interval_seconds))
    assert audit.maybe_checkpoint(pars) is not None


def test_the_relay_survives_a_failing_step(pars: Pars, monkeypatch: pytest.MonkeyPatch) -> None:
    from pars.services.delivery import loop

    calls: list[int] = []
    real = loop.relay_once

    def flaky(p: Pars) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real(p)

    monkeypatch.setattr(loop, "relay_once", flaky)
    loop.relay_forever(pars, interval=0.001, stop=lambda: len(calls) >= 3)
    assert len(calls) == 3  # it went on after the failure
    assert audit.latest_checkpoint(pars)["size"] > 0  # and signed the log on its schedule


def test_a_batch_appended_in_one_go_verifies_and_a_failed_one_leaves_nothing(
    pars: Pars, backend: str
) -> None:
    """A batch of BULK_FROM or more entries streams into one COPY on PostgreSQL (executemany on
    SQLite): its rows and tree verify; a batch that fails while its rows stream (here, details
    that are not JSON) leaves neither rows nor leaves once its transaction is rolled back."""
    n = log.BULK_FROM * 3 + 1
    batch = [
        log.AuditRow("relay", "disclosure:sent", subject=f"s{i}", details={"i": i, "big": 10**20})
        for i in range(n)
    ]
    with pars.engine.begin() as conn:
        before = log.log_size(conn)
        assert log.append_rows(conn, batch, pars.clock.now()) == list(range(before, before + n))
    bad = [*batch[:20], log.AuditRow("relay", "disclosure:sent", details={"x": object()})]
    with pytest.raises(TypeError), pars.engine.begin() as conn:
        log.append_rows(conn, [*bad, *batch[:5]], pars.clock.now())
    with pars.engine.connect() as conn:
        assert log.log_size(conn) == before + n
        details = conn.execute(
            sa.select(audit_log.c.details).where(audit_log.c.leaf_index >= before)
        ).scalars()
        assert sorted(d["i"] for d in details) == list(range(n))
    report = verify(pars)
    assert report.ok, report.problems
    assert report.entries == before + n
