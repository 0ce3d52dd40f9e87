"""Issue 11 item 1: wake-ups instead of polls, across processes. A commit that wrote events
wakes a separate `pars relay` and the relay's queueing wakes the feeds of every other process
(PostgreSQL: LISTEN/NOTIFY; SQLite: datagrams beside the database file); the HTTP feed
long-polls (`?wait=`).

No test asserts a time: the relay runs with a poll interval of ten minutes and the long-poll
waits up to thirty seconds, so what arrives within the tests' generous waits arrived because it
was woken."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pars.crypto import KeyRing
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest, expunge
from pars.services.delivery.feed import authenticate_partner, feed_page
from pars.services.delivery.relay import relay_once
from pars.services.inputs import ArrestIn, CourtOrderIn
from tests.conftest import AUDIT_SIGNING_KEY, KEYS, START, Api, rows
from tests.factories import active_agreement, arrest_body

OFFICER = Principal("officer1", "officer")
CLERK = Principal("clerk1", "clerk")


def _submit(pars: Pars) -> str:
    return create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), True).id


def _until(check: Any, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


def test_a_commit_wakes_a_relay_in_another_process(
    pars: Pars, backend: str, tmp_path: Path
) -> None:
    ag.add_partner(pars, "PSP", "state_repository")
    active_agreement(pars, "PSP", starts_at="2020-01-01T00:00:00+00:00",
                     ends_at="2099-01-01T00:00:00+00:00")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_")}
    env.update({
        "PARS_DATA_DIR": str(tmp_path), "PARS_DATABASE_URL": pars.settings.sqlalchemy_url,
        "PARS_ENCRYPTION_KEYS": KEYS, "PARS_LOG_LEVEL": "warning",
        "PARS_AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY,
    })  # fmt: skip
    relay = subprocess.Popen(
        [sys.executable, "-m", "pars.cli", "relay", "--interval", "600"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        # The first arrest may be found by the relay's first round; the rest only by wake-ups,
        # since after a round that found nothing it sleeps ten minutes.
        for n in range(1, 4):
            _submit(pars)
            assert _until(lambda n=n: len(rows(pars, "deliveries")) == n), relay.poll()
            time.sleep(0.5)  # it is asleep again before the next commit
    finally:
        relay.terminate()
        _, err = relay.communicate(timeout=20)
    assert len(rows(pars, "deliveries")) == 3, err.decode()


@contextlib.contextmanager
def _another_process(pars: Pars) -> Iterator[Pars]:
    """Another API process on the same database, LISTENing (as `pars serve` does)."""
    other = Pars(pars.settings, clock=pars.clock, keys=KeyRing(KEYS))
    other.listen()
    try:
        assert _until(lambda: other.listening)
        yield other
    finally:
        other.stop_listening()
        other.engine.dispose()


def test_the_relays_queueing_wakes_another_processs_feeds(pars: Pars, backend: str) -> None:
    with _another_process(pars) as other:
        ag.add_partner(pars, "PSP", "state_repository")
        active_agreement(pars, "PSP")
        before = other.queue_generation
        _submit(pars)
        assert relay_once(pars) == 1  # the relay, in "this" process
        assert _until(lambda: other.queue_generation > before)
        # a commit with events wakes the other process's relay too
        other.outbox_signal.clear()
        _submit(pars)
        assert other.outbox_signal.wait(60)


def _received_then_expunged(pars: Pars) -> tuple[int, int]:
    """A partner whose agreement covers no lifecycle event receives an arrest, which is then
    expunged: the expungement queues a recall and the relay has nothing to queue for its event.
    The queue's generation before and after the expungement's COMMIT."""
    _, key = ag.add_partner(pars, "PSP", "state_repository")
    active_agreement(pars, "PSP")  # pars.arrest.submitted only
    arrest_id = _submit(pars)
    assert relay_once(pars) == 1
    assert feed_page(pars, authenticate_partner(pars, key), 0, 100)["items"]  # received
    before = pars.queue_generation
    expunge(pars, CLERK, arrest_id, CourtOrderIn(order="CP-51-MD-0001234-2026"))
    assert relay_once(pars) == 1  # the expunged event: nothing for this agreement
    kinds = [(d["event_type"], d["status"]) for d in rows(pars, "deliveries")]
    assert ("pars.record.recall", "queued") in kinds
    return before, pars.queue_generation


def test_a_recall_wakes_this_processs_feeds(pars: Pars) -> None:
    before, after = _received_then_expunged(pars)
    assert after > before  # open streams and long-polls look again at once, not at their poll


def test_a_recall_wakes_another_processs_feeds(pars: Pars, backend: str) -> None:
    with _another_process(pars) as other:
        seen = other.queue_generation
        _received_then_expunged(pars)
        # The relay's queueing of the first event and the recall each notify; the recall is
        # the last, so the other process moves at least twice.
        assert _until(lambda: other.queue_generation >= seen + 2)


@pytest.fixture
def partner(api: Api) -> dict[str, str]:
    _, key = ag.add_partner(api.pars, "PSP", "state_repository")
    active_agreement(api.pars, "PSP", ends_at=START + timedelta(days=30))
    return {"Authorization": f"Bearer {key}"}


def test_a_long_poll_answers_when_an_event_is_queued(
    api: Api, partner: dict[str, str], backend: str
) -> None:
    answer: dict[str, Any] = {}

    def poll() -> None:
        r = api.client.get("/api/v1/feed", params={"wait": 30}, headers=partner)
        answer["status"], answer["body"] = r.status_code, r.json()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)  # the poll is waiting on an empty queue
    assert poller.is_alive()
    subject = _submit(api.pars)
    relay_once(api.pars)
    poller.join(60)
    assert not poller.is_alive() and answer["status"] == 200, answer
    assert [e["subject"] for e in answer["body"]["items"]] == [subject]


def test_a_long_poll_with_nothing_new_answers_an_empty_page(
    api: Api, partner: dict[str, str]
) -> None:
    r = api.client.get("/api/v1/feed", params={"wait": 1}, headers=partner)
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": "0"}


@pytest.mark.parametrize("wait", ["31", "-1", "soon", "1.5"])
def test_the_wait_is_bounded(api: Api, partner: dict[str, str], wait: str) -> None:
    r = api.client.get("/api/v1/feed", params={"wait": wait}, headers=partner)
    assert r.status_code == 422 and "wait" in r.text, r.text
