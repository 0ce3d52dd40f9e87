"""The feed's shared rounds: asks woken by the same queueing are served in one transaction,
each exactly as if served alone; one partner's failure is never another's; and an idle stream
wakes as soon as the relay queues, from whichever thread."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from pars.services import agreements as ag
from pars.services.app import Pars
from pars.services.delivery import feed
from pars.services.delivery.feed import Ask, serve_round
from pars.services.delivery.relay import relay_once
from pars.store import uow as uow_module
from pars.web.api import feed_rounds
from tests.conftest import START, Api, rows
from tests.factories import active_agreement, arrest_body


def _partner(pars: Pars, name: str) -> dict[str, Any]:
    partner_id, _ = ag.add_partner(pars, name, "state_repository")
    active_agreement(pars, name, ends_at=START + timedelta(days=30))
    with pars.reader() as reader:
        partner = reader.sharing.partner(partner_id)
    assert partner is not None
    return partner


def _submitted(api: Api, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _appends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many entries each write transaction appended to the disclosure log (one number per
    committed write)."""
    seen: list[int] = []
    real = uow_module.write_audit

    def counting(conn: Any, entries: list[Any], clock: Any, pending: Any = None) -> list[int]:
        seen.append(len(entries))
        return real(conn, entries, clock, pending)

    monkeypatch.setattr(uow_module, "write_audit", counting)
    return seen


@pytest.mark.parametrize("woken", [False, True])  # True: no look before the round (PostgreSQL)
def test_a_round_serves_each_ask_as_if_alone_in_one_commit(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch, woken: bool
) -> None:
    pars = api.pars
    a, b, idle = (_partner(pars, name) for name in ("PSP", "DA-NEXT", "IDLE"))
    ids = _submitted(api, 3)
    assert relay_once(pars) == 3
    # IDLE's queue holds the same three; it asks from past them, so it has nothing new.
    last = max(r["id"] for r in rows(pars, "deliveries") if r["partner_id"] == idle["id"])
    before = len(rows(pars, "audit_log"))
    appends = _appends(monkeypatch)
    asks = [
        Ask(a, 0, 100, "sse", woken),
        Ask(b, 0, 2, "feed", woken),
        Ask(idle, last, 100, "sse", woken),
        Ask(a, 0, 100, "feed"),  # the same partner again from the same cursor: a re-read
    ]
    served = serve_round(pars, asks)
    assert appends == [3 + 2 + 3]  # one write transaction, one append for every disclosure
    assert [[e["subject"] for _, e in s] for s, _ in served] == [ids, ids[:2], [], ids]
    cursors = [cursor for _, cursor in served]
    assert cursors[2] == last and cursors[0] == cursors[3] == served[0][0][-1][0]
    assert cursors[1] == served[1][0][-1][0]
    log = rows(pars, "audit_log")[before:]
    actions = [(e["record_id"], e["action"], e["details"]["transport"]) for e in log]
    assert sorted(actions) == sorted(
        [(i, "disclosure:delivered", "sse") for i in ids]
        + [(i, "disclosure:delivered", "feed") for i in ids[:2]]
        + [(i, "disclosure:redelivered", "feed") for i in ids]
    )
    # Every receipt names its own entry: the leaf of this partner's disclosure of this event.
    by_leaf = {e["leaf_index"]: e for e in log}
    for (items, _), ask in zip(served, asks, strict=True):
        for cursor, event in items:
            entry = by_leaf[int(event["parslogindex"])]
            assert entry["details"]["delivery"] == cursor
            assert entry["details"]["event"] == event["id"]
            assert entry["details"]["transport"] == ask.transport
    delivered = {r["id"]: r["status"] for r in rows(pars, "deliveries")}
    assert all(delivered[c] == "delivered" for s, _ in served for c, _ in s)


def test_idle_asks_take_no_write_transaction(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    pars = api.pars
    a = _partner(pars, "PSP")
    appends = _appends(monkeypatch)
    assert serve_round(pars, [Ask(a, 0, 100, "sse"), Ask(a, 0, 5, "feed")]) == [([], 0), ([], 0)]
    assert appends == []


def test_woken_asks_with_nothing_due_append_nothing(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A woken ask skips the look on PostgreSQL: its round's write transaction finds nothing
    and appends nothing to the log. On SQLite, where that transaction would take the write
    lock, the look stays and there is no write transaction at all."""
    pars = api.pars
    a = _partner(pars, "PSP")
    appends = _appends(monkeypatch)
    asks = [Ask(a, 0, 100, "sse", woken=True), Ask(a, 0, 5, "feed", woken=True)]
    assert serve_round(pars, asks) == [([], 0), ([], 0)]
    assert appends == ([0] if backend == "postgres" else [])


def test_one_partners_failure_is_not_anothers(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    pars = api.pars
    good, bad = _partner(pars, "PSP"), _partner(pars, "BROKEN")
    ids = _submitted(api, 2)
    relay_once(pars)
    real = feed._serve_rows
    rounds: list[list[str]] = []
    real_round = feed_rounds.serve_round

    def counting_round(p: Pars, asks: list[Ask]) -> Any:
        rounds.append([ask.partner["name"] for ask in asks])
        return real_round(p, asks)

    def serve_one(p: Pars, uow: Any, ask: Ask, *rest: Any) -> Any:
        if ask.partner["id"] == bad["id"]:
            raise RuntimeError("this partner's page cannot be built")
        return real(p, uow, ask, *rest)

    monkeypatch.setattr(feed, "_serve_rows", serve_one)
    monkeypatch.setattr(feed_rounds, "serve_round", counting_round)

    async def both() -> list[Any]:
        return await asyncio.gather(
            feed_rounds.serve(pars, Ask(good, 0, 100, "sse")),
            feed_rounds.serve(pars, Ask(bad, 0, 100, "sse")),
            return_exceptions=True,
        )

    ok, failed = asyncio.run(both())
    assert rounds[0] == ["PSP", "BROKEN"]  # one round for both, then each alone
    assert sorted(rounds[1:]) == [["BROKEN"], ["PSP"]]
    assert isinstance(failed, RuntimeError)
    assert [e["subject"] for _, e in ok[0]] == ids
    # The failed round wrote nothing: the good partner's items were disclosed once, by the
    # round it was served in alone.
    disclosed = [e for e in rows(pars, "audit_log") if e["action"] == "disclosure:delivered"]
    assert sorted(e["record_id"] for e in disclosed) == sorted(ids)


def test_an_idle_stream_wakes_when_another_thread_queues(pars: Pars) -> None:
    async def wait_for_queue() -> float:
        started = time.monotonic()
        generation = pars.queue_generation
        threading.Timer(0.05, pars.wake_feeds).start()
        await feed_rounds.queue_moved(pars, generation, 60)
        return time.monotonic() - started

    # Woken, not timed out: without the wake-up it would wait the whole minute.
    assert asyncio.run(wait_for_queue()) < 30
    assert not pars._queue_watchers  # the watch ended with the wait


def test_a_queueing_before_the_watch_is_not_missed(pars: Pars) -> None:
    async def wait_after_moved() -> float:
        generation = pars.queue_generation
        pars.wake_feeds()  # between reading the generation and watching
        started = time.monotonic()
        await feed_rounds.queue_moved(pars, generation, 60)
        return time.monotonic() - started

    assert asyncio.run(wait_after_moved()) < 30


def test_a_timed_out_wait_forgets_its_watcher(pars: Pars) -> None:
    asyncio.run(feed_rounds.queue_moved(pars, pars.queue_generation, 0.01))
    assert not pars._queue_watchers


def test_a_stream_sees_what_was_queued_while_its_round_ran(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay queues (and wakes the streams) while a stream's round is being served, after
    the round found nothing: the stream must answer at that wake-up, not at its next poll."""
    from pars.web.api import feed as feed_api

    pars = api.pars
    _, key = ag.add_partner(pars, "PSP", "state_repository")
    active_agreement(pars, "PSP", ends_at=START + timedelta(days=30))
    monkeypatch.setattr(feed_api, "_POLL", 120.0)  # a missed wake-up would wait two minutes
    [arrest] = _submitted(api, 1)
    real_round = feed_rounds.serve_round
    calls = []

    def round_then_queue(p: Pars, asks: list[Ask]) -> Any:
        served = real_round(p, asks)
        calls.append(len(served[0][0]))
        if len(calls) == 1:
            relay_once(p)  # queued (and woke the streams) as the empty round ends
        return served

    monkeypatch.setattr(feed_rounds, "serve_round", round_then_queue)
    got: list[str] = []

    def read() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        params = {"max_events": 1}
        with api.client.stream("GET", "/api/v1/feed/stream", params=params, headers=headers) as r:
            got.extend(line for line in r.iter_lines() if line.startswith("data:"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    assert not reader.is_alive(), "the stream waited for its poll: the wake-up was missed"
    assert calls[0] == 0 and arrest in got[0]


def test_keys_asked_together_are_read_together(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys of requests that arrive together (ten long-polls re-asking after one event)
    are read in one call, each answered with its own partner; a revoked or unknown key with
    None; and a revocation refuses the key from the next ask on."""
    pars = api.pars
    keys = {name: ag.add_partner(pars, name, "state_repository")[1] for name in ("PSP", "DA")}
    old = ag.add_partner(pars, "ROTATED", "state_repository")[1]
    new = ag.rotate_partner_key(pars, "ROTATED")
    calls: list[list[str]] = []
    real = feed_rounds.authenticate_partners

    def counting(p: Pars, asked: list[str]) -> Any:
        calls.append(list(asked))
        return real(p, asked)

    monkeypatch.setattr(feed_rounds, "authenticate_partners", counting)
    asked = [keys["PSP"], keys["DA"], old, "parsk_unknown", new, keys["PSP"]]

    async def together(keys: list[str]) -> list[Any]:
        return await asyncio.gather(*(feed_rounds.partner(pars, key) for key in keys))

    got = asyncio.run(together(asked))
    assert [p["name"] if p else None for p in got] == ["PSP", "DA", None, None, "ROTATED", "PSP"]
    assert calls == [asked]
    ag.rotate_partner_key(pars, "PSP")
    assert asyncio.run(together([keys["PSP"], keys["DA"]]))[0] is None
    assert len(calls) == 2
