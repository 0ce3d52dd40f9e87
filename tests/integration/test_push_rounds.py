"""Push in rounds (issue 11 item 2): the due heads of every partner go on the log in one
write-ahead transaction, are sent concurrently, and their outcomes are recorded in one more; a
partner that is slow or never answers holds only its own lane."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import pytest
import sqlalchemy as sa

from pars.services import agreements as ag
from pars.services.delivery import relay
from pars.services.delivery.webhooks import deliver_webhooks, webhook_lanes
from tests.conftest import Api, rows
from tests.factories import active_agreement, arrest_body

NAMES = ("fast-a", "fast-b", "slow")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_allowlist": ",".join(NAMES), "push_concurrency": 8}


@pytest.fixture
def partners(api: Api) -> dict[str, str]:
    """Partner id by webhook host name, each with a webhook agreement in force."""
    out = {}
    for name in NAMES:
        pid, _ = ag.add_partner(api.pars, name, "prosecutor")
        ag.set_webhook_secret(api.pars, name)
        active_agreement(api.pars, name, transport="webhook", webhook_url=f"http://{name}/")
        out[name] = pid
    return out


def _submit(api: Api) -> str:
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _host(url: str) -> str:
    return url.removeprefix("http://").rstrip("/")


def test_a_round_sends_to_every_partner_at_once_in_two_transactions(
    backend: str, api: Api, partners: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _submit(api)
    relay.relay_once(api.pars)
    # Each send waits until all three are in flight: sent one after the other, none would be.
    together = threading.Barrier(len(NAMES), timeout=10)

    def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        together.wait()
        return 204

    writes = 0
    unit_of_work = api.pars.uow

    def counted() -> AbstractContextManager[Any]:
        nonlocal writes
        writes += 1
        return unit_of_work()

    monkeypatch.setattr(api.pars, "uow", counted)
    statements: list[str] = []
    sa.event.listen(
        api.pars.engine, "before_cursor_execute", lambda *a: statements.append(a[2]), named=False
    )
    assert deliver_webhooks(api.pars, send) == len(NAMES)
    assert writes == 2  # the round's write-ahead entries, then its results
    # The round's agreements and partners are read once for all three items.
    reads = [m[1] for q in statements if (m := re.match(r"SELECT\s.*?\sFROM\s+(\w+)", q, re.S))]
    assert reads.count("agreements") == 1 and reads.count("partners") == 1, reads
    assert {d["status"] for d in rows(api.pars, "deliveries")} == {"delivered"}
    actions = [a["action"] for a in rows(api.pars, "audit_log")]
    assert actions.count("disclosure:delivered") == len(NAMES)
    assert actions.count("disclosure:acknowledged") == len(NAMES)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as p:
        yield p


def test_a_slow_partner_holds_only_its_own_lane(
    backend: str, api: Api, partners: dict[str, str], pool: ThreadPoolExecutor
) -> None:
    release = threading.Event()
    got: dict[str, list[str]] = {name: [] for name in NAMES}

    def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        host = _host(url)
        if host == "slow":
            release.wait(30)  # does not answer until the test lets it
        got[host].append(headers["webhook-id"])
        return 204

    lanes = webhook_lanes(api.pars, pool, send)
    first, second, third = (_submit(api) for _ in range(3))
    relay.relay_once(api.pars)
    try:
        # Rounds go on while the slow partner's first send is in flight.
        for _ in range(50):
            lanes.step()
            if len(got["fast-a"]) == 3 and len(got["fast-b"]) == 3:
                break
            lanes.wait(0.05)
        assert len(got["fast-a"]) == len(got["fast-b"]) == 3
        assert got["slow"] == []
        assert lanes.in_flight == 1  # the slow partner's one item, nothing else of its own
        statuses = {(d["partner_id"], d["status"]) for d in rows(api.pars, "deliveries")}
        assert (partners["slow"], "queued") in statuses
        assert (partners["slow"], "delivered") not in statuses
    finally:
        release.set()
    for _ in range(20):
        lanes.wait(5)
        if lanes.step() == 0 and lanes.in_flight == 0:
            break
    # The slow partner then gets its items in commit order, each once.
    events = {d["subject"]: d["event_id"] for d in rows(api.pars, "deliveries")}
    assert got["slow"] == [events[first], events[second], events[third]]
    assert {d["status"] for d in rows(api.pars, "deliveries")} == {"delivered"}


def test_a_dead_partner_fails_alone_and_the_others_are_delivered(
    backend: str, api: Api, partners: dict[str, str]
) -> None:
    _submit(api)
    relay.relay_once(api.pars)

    def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        if _host(url) == "slow":
            raise ConnectionRefusedError("refused")
        return 204

    assert deliver_webhooks(api.pars, send) == len(NAMES)
    by_partner = {d["partner_id"]: d for d in rows(api.pars, "deliveries")}
    dead = by_partner[partners["slow"]]
    assert (dead["status"], dead["attempts"]) == ("queued", 1)
    assert "ConnectionRefusedError" in dead["last_error"]
    for name in ("fast-a", "fast-b"):
        assert by_partner[partners[name]]["status"] == "delivered"
