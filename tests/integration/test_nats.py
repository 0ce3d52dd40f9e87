"""NATS JetStream delivery against a real `nats-server` that the tests start on a free port:
messages arrive in commit order with `Nats-Msg-Id` = `<partner>.<agreement>.<CloudEvent id>`, every
partner gets its own copy; the server is stopped during submissions and nothing is lost; a
publish whose acknowledgement was lost is published again under the same id and the stream keeps
one copy."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest

from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest, expunge
from pars.services.delivery.nats import (
    JetStreamPublisher,
    PublishFailed,
    deliver_nats,
    message_id,
    shared_publisher,
)
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.inputs import ArrestIn, CourtOrderIn
from tests.conftest import rows
from tests.factories import active_agreement, arrest_body
from tests.natsd import NatsServer

OFFICER = Principal("officer1", "officer")
STREAM = "PARS"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A throwaway JetStream server of the tests' own, always: the tests stop, pause and
    reconfigure it, which they must not do to a shared server (so PARS_TEST_NATS_URL is not
    used here)."""
    store = tmp_path / "nats"
    store.mkdir()
    server = NatsServer(store)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture
def settings_overrides(nats_url: str) -> dict[str, Any]:
    return {"webhook_timeout_seconds": 0.5, "webhook_max_attempts": 8, "nats_url": nats_url}


@pytest.fixture
def publisher(nats_url: str) -> Iterator[JetStreamPublisher]:
    pub = JetStreamPublisher(nats_url, STREAM, 120)
    yield pub
    pub.close()


def _wait_stopped(pid: int) -> None:
    """Until the kernel reports every thread of `pid` stopped: kill() only queues SIGSTOP, and
    a server thread already running on the other core could still answer one more request."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        states = [
            (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
            for task in Path(f"/proc/{pid}/task").iterdir()
        ]
        if all(state in ("T", "t") for state in states):
            return
        time.sleep(0.01)
    raise AssertionError("nats-server did not stop")


def _partner_and_agreement(pars: Pars) -> str:
    partner_id, _ = ag.add_partner(pars, "DA Case Management", "prosecutor")
    active_agreement(pars, "DA Case Management", transport="nats")
    return partner_id


def _submit(pars: Pars) -> str:
    return create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit=True).id


def _read(url: str, partner_id: str) -> list[dict[str, Any]]:
    """Everything the stream holds for the partner, oldest first, read by a fresh consumer."""

    async def read() -> list[dict[str, Any]]:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            sub = await js.subscribe(f"pars.partner.{partner_id}.>", ordered_consumer=True)
            out: list[dict[str, Any]] = []
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except (TimeoutError, nats.errors.TimeoutError):
                    return out
                out.append(
                    {"subject": msg.subject, "headers": msg.headers, "event": json.loads(msg.data)}
                )
        finally:
            await nc.close()

    return asyncio.run(read())


def _drain(pars: Pars, clock: FakeClock, publisher: Any = None, rounds: int = 50) -> None:
    """Deliver until nothing is queued, moving the clock past any backoff."""
    for _ in range(rounds):
        if not any(d["status"] == "queued" for d in rows(pars, "deliveries")):
            return
        if not deliver_nats(pars, publisher):
            clock.advance(timedelta(minutes=5))
    raise AssertionError("the queue did not empty")


def _queued_event_ids(pars: Pars) -> list[str]:
    return [d["event_id"] for d in rows(pars, "deliveries")]  # rows are in id (commit) order


def _message_ids(pars: Pars) -> list[str]:
    return [message_id(d) for d in rows(pars, "deliveries")]


def test_delivered_in_order_with_the_event_id(pars: Pars, clock: FakeClock, nats_url: str) -> None:
    partner_id = _partner_and_agreement(pars)
    subjects = [_submit(pars) for _ in range(3)]
    relay_once(pars)
    try:
        _drain(pars, clock)  # the process's shared publisher, from PARS_NATS_URL
    finally:
        shared_publisher(pars.settings).close()
    got = _read(nats_url, partner_id)
    assert [m["event"]["subject"] for m in got] == subjects
    assert [m["event"]["id"] for m in got] == _queued_event_ids(pars)
    assert [m["headers"]["Nats-Msg-Id"] for m in got] == _message_ids(pars)
    for m in got:
        assert m["subject"] == f"pars.partner.{partner_id}.pars.arrest.submitted"
        assert m["event"]["type"] == "pars.arrest.submitted"
        assert "ssn" not in m["event"]["data"]["person"] and "victims" not in m["event"]["data"]
    statuses = {(d["status"], d["transport"]) for d in rows(pars, "deliveries")}
    assert statuses == {("delivered", "nats")}
    audit = [a["action"] for a in rows(pars, "audit_log")]
    assert audit.count("disclosure:delivered") == 3 and audit.count("disclosure:acknowledged") == 3


def test_server_outage_loses_nothing_and_keeps_order(
    pars: Pars,
    clock: FakeClock,
    nats_server: NatsServer,
    publisher: JetStreamPublisher,
) -> None:
    partner_id = _partner_and_agreement(pars)
    before = [_submit(pars) for _ in range(2)]
    relay_once(pars)
    _drain(pars, clock, publisher)

    nats_server.stop()
    during = [_submit(pars) for _ in range(3)]
    relay_once(pars)
    assert deliver_nats(pars, publisher) == 1  # the head fails
    assert deliver_nats(pars, publisher) == 0  # it waits for its retry, and the rest behind it
    clock.advance(timedelta(seconds=3))
    assert deliver_nats(pars, publisher) == 1  # the same head again: still down
    queued = [d for d in rows(pars, "deliveries") if d["status"] == "queued"]
    assert [d["subject"] for d in queued] == during
    assert [d["attempts"] for d in queued] == [2, 0, 0]
    assert queued[0]["last_error"]

    nats_server.start()  # the same port and store: the stream and its messages are still there
    after = [_submit(pars)]
    relay_once(pars)
    clock.advance(timedelta(seconds=10))
    _drain(pars, clock, publisher)

    got = _read(nats_server.url, partner_id)
    ids = [m["event"]["id"] for m in got]
    assert len(ids) == len(set(ids))  # exactly once per id
    assert ids == _queued_event_ids(pars)  # every event, in commit order
    assert [m["event"]["subject"] for m in got] == before + during + after
    assert all(m["headers"]["Nats-Msg-Id"] in _message_ids(pars) for m in got)
    assert {d["status"] for d in rows(pars, "deliveries")} == {"delivered"}
    failed = [a for a in rows(pars, "audit_log") if a["action"] == "nats:failed"]
    assert len(failed) >= 2


def test_lost_ack_is_republished_under_the_same_id_without_a_duplicate(
    pars: Pars, clock: FakeClock, nats_url: str, publisher: JetStreamPublisher
) -> None:
    partner_id = _partner_and_agreement(pars)
    first, second = _submit(pars), _submit(pars)
    relay_once(pars)
    sent: list[str] = []
    lose = [True]

    def ack_lost_once(subject: str, headers: dict[str, str], body: bytes, timeout: float) -> None:
        sent.append(headers["Nats-Msg-Id"])
        publisher(subject, headers, body, timeout)  # the stream stores it...
        if lose and lose.pop():
            raise PublishFailed("TimeoutError: no acknowledgement")  # ...but PARS never hears

    assert deliver_nats(pars, ack_lost_once) == 1
    (head, _) = rows(pars, "deliveries")
    assert (head["status"], head["attempts"]) == ("queued", 1)
    assert deliver_nats(pars, ack_lost_once) == 0  # the second waits behind the head
    _drain(pars, clock, ack_lost_once)

    assert sent[0] == sent[1]  # the retry carries the same message id
    got = _read(nats_url, partner_id)
    assert [m["event"]["subject"] for m in got] == [first, second]  # one copy each
    assert [m["headers"]["Nats-Msg-Id"] for m in got] == _message_ids(pars)

    async def stored() -> int:
        nc = await nats.connect(nats_url)
        try:
            filt = f"pars.partner.{partner_id}.>"
            info = await nc.jetstream().stream_info(STREAM, subjects_filter=filt)
            return sum((info.state.subjects or {}).values())
        finally:
            await nc.close()

    assert asyncio.run(stored()) == 2  # the stream itself holds no duplicate


def test_real_ack_timeout_on_a_paused_server_is_retried_without_a_duplicate(
    pars: Pars,
    clock: FakeClock,
    nats_server: NatsServer,
    publisher: JetStreamPublisher,
) -> None:
    partner_id = _partner_and_agreement(pars)
    first = _submit(pars)
    relay_once(pars)
    assert deliver_nats(pars, publisher) == 1  # connected, stream made, delivered
    second = _submit(pars)
    relay_once(pars)
    nats_server.proc.send_signal(signal.SIGSTOP)  # the publish is sent; no PubAck comes back
    _wait_stopped(nats_server.proc.pid)
    try:
        assert deliver_nats(pars, publisher) == 1
    finally:
        nats_server.proc.send_signal(signal.SIGCONT)  # the server then stores the message
    (_, item) = rows(pars, "deliveries")
    assert (item["status"], item["attempts"]) == ("queued", 1)
    assert "Timeout" in item["last_error"]
    # The paused server stored the message once it ran again: the retry is a true duplicate.
    assert [m["event"]["subject"] for m in _read(nats_server.url, partner_id)] == [first, second]
    clock.advance(timedelta(seconds=10))
    _drain(pars, clock, publisher)
    got = _read(nats_server.url, partner_id)
    assert [m["event"]["subject"] for m in got] == [first, second]  # the retry was a duplicate
    assert [m["headers"]["Nats-Msg-Id"] for m in got] == _message_ids(pars)


def test_an_existing_stream_is_brought_up_to_date_keeping_its_limits(
    nats_server: NatsServer, publisher: JetStreamPublisher
) -> None:

    async def create() -> None:
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().add_stream(
            name=STREAM, subjects=["other.>"], duplicate_window=5, max_msgs=1000
        )
        await nc.close()

    async def config() -> Any:
        nc = await nats.connect(nats_server.url)
        info = await nc.jetstream().stream_info(STREAM)
        await nc.close()
        return info.config

    asyncio.run(create())
    publisher("pars.partner.p1.pars.arrest.submitted", {"Nats-Msg-Id": "e1"}, b"{}", 2)
    cfg = asyncio.run(config())
    assert set(cfg.subjects) == {"other.>", "pars.partner.>"}
    assert cfg.duplicate_window == 120 and cfg.max_msgs == 1000


def test_every_partner_gets_its_own_copy_of_an_event(
    pars: Pars, clock: FakeClock, nats_url: str, publisher: JetStreamPublisher
) -> None:
    """One stream holds every partner's subjects, and its duplicate window is keyed by message
    id alone: each partner's copy needs its own id, or only the first partner would get it."""
    partners = []
    for name in ("DA Case Management", "Public Defender Intake", "Court Scheduling"):
        partner_id, _ = ag.add_partner(pars, name, "prosecutor")
        active_agreement(pars, name, transport="nats")
        partners.append(partner_id)
    subject = _submit(pars)
    relay_once(pars)
    _drain(pars, clock, publisher)
    event_ids = set()
    for partner_id in partners:
        got = _read(nats_url, partner_id)
        assert [m["event"]["subject"] for m in got] == [subject], partner_id
        event_ids.add(got[0]["event"]["id"])
    assert len(event_ids) == 1  # the same event, and the same CloudEvent id, for all of them


def test_a_recall_reaches_a_nats_partner_whose_agreement_ended(
    pars: Pars, clock: FakeClock, nats_url: str, publisher: JetStreamPublisher, backend: str
) -> None:
    """Issue 12 over NATS: the partner received the arrest, its agreement ended, the arrest was
    expunged; the recall notice is published to its subjects all the same, with no record
    data, and counts as acknowledged on the PubAck."""
    partner_id, _ = ag.add_partner(pars, "DA Case Management", "prosecutor")
    active_agreement(
        pars, "DA Case Management", transport="nats", ends_at=clock.now() + timedelta(days=1)
    )
    subject = _submit(pars)
    relay_once(pars)
    _drain(pars, clock, publisher)
    clock.advance(timedelta(days=2))  # the agreement has ended
    withhold_ended(pars)
    expunge(
        pars, Principal("clerk1", "clerk"), subject, CourtOrderIn(order="CP-51-MD-0000001-2026")
    )
    relay_once(pars)
    withhold_ended(pars)  # the sweep of ended agreements leaves the recall alone
    _drain(pars, clock, publisher)

    got = _read(nats_url, partner_id)
    assert [m["event"]["type"] for m in got] == ["pars.arrest.submitted", "pars.record.recall"]
    notice = got[1]["event"]
    assert notice["subject"] == subject and notice["data"]["happened"] == "expunged"
    assert set(notice["data"]) == {"recall", "happened", "action", "arrest_id", "otn", "receipts"}
    for canary in ("Doe", "John", "1990-04-02", "Market"):
        assert canary not in json.dumps(notice)
    recall = [d for d in rows(pars, "deliveries") if d["event_type"] == "pars.record.recall"]
    assert [d["status"] for d in recall] == ["delivered"]
