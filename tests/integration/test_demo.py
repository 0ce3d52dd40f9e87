"""`pars demo` on a small history: the database it builds is real PARS data, reproducible, and the
demo's fast path writes exactly what the store's own code writes."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from pars.config import Settings
from pars.crypto import KeyRing
from pars.demo import run_demo
from pars.domain.arrest import ArrestState
from pars.domain.events import EVENT_TYPES
from pars.domain.roles import Role
from pars.services import auth

UNTIL = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
# Stamped when a transaction commits: the fast path commits several commands at once.
# `entry` is the audit row's disclosure-log bytes, which hold its commit instant too.
_COMMIT_TIMES = {"updated_at", "changed_at", "at", "time", "entry"}
# A disclosure entry's payload hash is salted with fresh random bytes each time.
_COMMIT_TIMES |= {"payload_hash", "salt"}


def _build(data_dir: Path, per_day: int = 15, **options: Any) -> Path:
    settings = Settings(data_dir=data_dir)
    assert run_demo(settings, days=3, per_day=per_day, serve=False, seed=1, **options) == 0
    return data_dir / "demo"


def _rows(demo: Path, table: str, order: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{demo / 'pars.db'}")
    try:
        with engine.connect() as conn:
            query = sa.text(f"SELECT * FROM {table} ORDER BY {order}")
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Each build adds a user per role; full-strength argon2 would be most of this module's time."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
        yield


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history ending now, as `pars demo --days 3 --per-day 15 --seed 1` builds it."""
    return _build(tmp_path_factory.mktemp("now"))


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two fast builds and one through the store's own code, all ending at UNTIL; large enough
    (about 90 arrests) to hold the rarer outcomes."""
    return (
        _build(tmp_path_factory.mktemp("fast1"), per_day=30, until=UNTIL),
        _build(tmp_path_factory.mktemp("fast2"), per_day=30, until=UNTIL),
        _build(tmp_path_factory.mktemp("store"), per_day=30, until=UNTIL, batched=False),
    )


def _states(demo: Path) -> Counter[str]:
    return Counter(r["state"] for r in _rows(demo, "arrests", "otn"))


def test_arrests_in_every_stage(demo: Path, fixed: tuple[Path, Path, Path]) -> None:
    now = _states(demo)
    assert set(now) <= {s.value for s in ArrestState}
    assert {"arraigned", "submitted", "draft"} <= set(now)
    assert len(now) >= 5
    assert 30 <= sum(now.values()) <= 60
    # The fixed history has every stage (a declined case may have been sealed since).
    at_until = _states(fixed[0])
    stages = {"submitted", "charging_review", "charged", "arraignment_scheduled", "arraigned"}
    assert stages | {"released_for_summons", "sealed"} <= set(at_until)
    outcomes = {
        (json.loads(a["document"])["document"].get("charging") or {}).get("outcome")
        for a in _rows(fixed[0], "arrests", "otn")
    }
    assert {"charge", "decline"} <= outcomes


def test_one_user_per_role(demo: Path) -> None:
    users = {(u["username"], u["role"]) for u in _rows(demo, "users", "id")}
    owners = {("owner_district_attorney", "privacy_officer"), ("owner_courts", "privacy_officer")}
    assert users == {(r.value, r.value) for r in Role} | owners


def test_versions_audit_and_outbox_are_the_services(demo: Path) -> None:
    arrests = _rows(demo, "arrests", "otn")
    versions = Counter(v["arrest_id"] for v in _rows(demo, "arrest_versions", "arrest_id"))
    for a in arrests:
        assert versions[a["id"]] == a["version"], a["state"]
        assert (a["version"] == 0) == (a["state"] == "draft")
    events = _rows(demo, "outbox", "seq")
    assert events
    assert {e["type"] for e in events} <= EVENT_TYPES
    assert {"pars.arrest.submitted", "pars.arraignment.completed"} <= {e["type"] for e in events}
    audit = Counter(a["action"] for a in _rows(demo, "audit_log", "id"))
    assert audit["arrest:created"] == len(arrests)
    assert audit["account:created"] == len(Role) + 2  # and two owners' privacy officers
    assert audit["arraignment:completed"] == sum(
        1 for a in arrests if json.loads(a["document"])["document"].get("arraignment")
    )


def test_protected_fields_are_ciphertext_only(demo: Path) -> None:
    keys = KeyRing.load(None, demo)
    arrests = _rows(demo, "arrests", "otn")
    ssns = set()
    for a in arrests:
        if a["protected"] is not None:
            assert bytes(a["protected"]).startswith(b"v1:")
            person = keys.decrypt(a["protected"], a["id"]).get("person", {})
            ssns.update([person["ssn"]] if "ssn" in person else [])
    assert ssns
    texts = [a["document"] for a in arrests]
    texts += [v["snapshot"] for v in _rows(demo, "arrest_versions", "arrest_id")]
    texts += [json.dumps(e["data"]) for e in _rows(demo, "outbox", "seq")]
    texts += [str(e["details"]) for e in _rows(demo, "audit_log", "id")]
    for text in texts:
        assert not _SSN.search(text)
        assert not any(ssn in text for ssn in ssns)


def test_times_are_plausible(demo: Path) -> None:
    now = datetime.now(UTC)
    for a in _rows(demo, "arrests", "otn"):
        doc = json.loads(a["document"])
        arrested = datetime.fromisoformat(doc["document"]["arrested_at"])
        steps = [datetime.fromisoformat(h["at"]) for h in doc["history"]]
        assert arrested < steps[0]
        assert steps == sorted(steps)
        assert steps[-1] <= now
        arraignment = doc["document"].get("arraignment")
        if arraignment:
            assert 6 * 60 <= arraignment["arrest_to_arraignment_minutes"] <= 48 * 60
    assert max(datetime.fromisoformat(a["at"]) for a in _rows(demo, "audit_log", "id")) < (
        now + timedelta(seconds=1)
    ).replace(tzinfo=None)


def test_same_seed_same_history(fixed: tuple[Path, Path, Path]) -> None:
    first, second, _ = fixed
    assert _states(first) == _states(second)
    assert [r["otn"] for r in _rows(first, "arrests", "otn")] == [
        r["otn"] for r in _rows(second, "arrests", "otn")
    ]


def _contents(demo: Path) -> dict[str, list[Any]]:
    """Every table with ids replaced by stable labels, protected blobs decrypted, and the
    commit instants left out."""
    keys = KeyRing.load(None, demo)
    arrests = _rows(demo, "arrests", "otn")
    label = {a["id"]: a["otn"] for a in arrests}
    label |= {p["id"]: f"person {p['state_id']}" for p in _rows(demo, "persons", "state_id")}

    def norm(row: dict[str, Any], arrest_id: str | None = None) -> str:
        out = {k: v for k, v in row.items() if k not in _COMMIT_TIMES and k not in ("id", "seq")}
        if out.get("protected") is not None and arrest_id is not None:
            out["protected"] = keys.decrypt(out["protected"], arrest_id)
        text = json.dumps(out, sort_keys=True, default=str)
        return _UUID.sub(lambda m: label.get(m.group(), "?"), text)

    return {
        "arrests": [norm(a, a["id"]) for a in arrests],
        "versions": sorted(
            norm(v, v["arrest_id"]) for v in _rows(demo, "arrest_versions", "arrest_id, version")
        ),
        "audit": [norm(a) for a in _rows(demo, "audit_log", "id")],
        "outbox": [norm(e) for e in _rows(demo, "outbox", "seq")],
        "persons": [norm(p) for p in _rows(demo, "persons", "state_id")],
    }


def test_fast_path_writes_what_the_store_writes(fixed: tuple[Path, Path, Path]) -> None:
    fast, _, store = fixed
    # The comparison covers a command after a correction (whose reason must not carry over).
    actions: dict[str, list[str]] = {}
    for v in _rows(store, "arrest_versions", "arrest_id, version"):
        actions.setdefault(v["arrest_id"], []).append(v["action"])
    assert any("correct" in a[:-1] for a in actions.values())
    fast_rows, store_rows = _contents(fast), _contents(store)
    for table, rows in store_rows.items():
        assert rows, table
        assert fast_rows[table] == rows, table


def test_partners_were_fed_and_the_log_verifies(fixed: tuple[Path, Path, Path]) -> None:
    """Two partners received what their agreements covered, the one that ended received nothing
    after its end, the report shows it, and the whole disclosure log verifies."""
    from pars.config import Settings
    from pars.services.app import Pars
    from pars.services.audit_verify import verify
    from pars.services.transparency import report

    demo = fixed[0]
    pars = Pars(Settings(data_dir=demo), keys=KeyRing.load(None, demo))
    try:
        result = verify(pars)
        assert result.ok, result.problems
        assert result.checkpoints == 1 and result.entries == result.size
        public = report(pars)
    finally:
        pars.engine.dispose()
    actions = Counter(a["action"] for a in _rows(demo, "audit_log", "id"))
    assert actions["disclosure:delivered"] > 20
    delivered = {d["partner_id"] for d in _rows(demo, "deliveries", "id")
                 if d["status"] == "delivered"}  # fmt: skip
    assert len(delivered) == 2
    ended = [a for a in public["agreements"] if a.get("ended")]
    assert len(ended) == 1 and ended[0]["ended"]["holds"] is True
    assert public["warnings"] == []


def test_it_serves_while_it_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pars demo` serves before its history is built: pages say how far the build has come,
    signing in works, changes are refused; once the build is done, changes are taken and the
    history is all there."""
    import threading
    import time as clock

    from fastapi.testclient import TestClient

    from pars.demo import run as demo_run
    from pars.web import server

    release = threading.Event()
    plan = demo_run._Simulation.plan

    def held_plan(self: Any, per_day: int) -> None:
        assert release.wait(60), "the test never released the build"
        plan(self, per_day)

    monkeypatch.setattr(demo_run._Simulation, "plan", held_plan)
    seen: dict[str, Any] = {}

    def serve(app: Any, settings: Any, host: str, port: int) -> None:
        printed = capsys.readouterr().out
        seen["serving"] = "history are being built meanwhile" in printed
        officer = next(x for x in printed.splitlines() if x.strip().startswith("officer "))
        with TestClient(app, raise_server_exceptions=False) as client:
            page = client.get("/signin", headers={"accept": "text/html"})
            seen["notice"] = "still being built" in page.text
            login = {"username": "officer", "password": officer.split()[-1]}
            token = client.post("/api/v1/auth/token", json=login)
            assert token.status_code == 200, token.text
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            body = {"notes": "not yet"}
            refused = client.post("/api/v1/arrests", json=body)
            seen["refused"] = refused.status_code, refused.json()["type"]
            release.set()
            deadline = clock.monotonic() + 120
            while "still being built" in client.get("/signin").text:
                assert clock.monotonic() < deadline, "the build did not finish"
                clock.sleep(0.2)
            seen["after"] = client.post("/api/v1/arrests", json=body).status_code

    monkeypatch.setattr(server, "run", serve)
    settings = Settings(data_dir=tmp_path)
    assert run_demo(settings, days=2, per_day=10, serve=True, seed=3, port=0) == 0
    assert seen["serving"] is True
    assert seen["notice"] is True
    assert seen["refused"] == (503, "/problems/read-only")
    assert seen["after"] == 422  # taken, and answered on its merits (the body is not an arrest)
    assert "The demo is built" in capsys.readouterr().out
    assert _states(tmp_path / "demo").total() > 5
