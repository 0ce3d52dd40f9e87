"""Push in rounds, one lane per partner (issue 11): the due head items of every partner are put on
the log in ONE write-ahead transaction, sent concurrently (at most `push_concurrency` at once), and
their outcomes recorded in ONE transaction per batch of finished sends.

A partner's lane holds at most one send in flight (its items go in commit order, one at a time,
as before). Lanes do not wait for each other: `step()` records the sends that have finished and
starts the next item of every partner whose lane is free, so a partner that is slow or does not
answer holds only its own lane, for at most its timeout, while the others go on round after round.

`deliver_webhooks(pars)` and `deliver_nats(pars)` run one whole round (start, wait for every send,
record); the relay loop keeps a `Lanes` per transport across its rounds, so that it never waits
for the slowest send.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from pars.services.app import Pars
from pars.services.delivery.push import Prepared, Refusal, prepare_round, quarantine, record_results

__all__ = ["Lanes", "Send"]

#: Starts one prepared item's send; the future gives None (delivered) or the error in words.
Send = Callable[[dict[str, Any], Prepared], "Future[str | None]"]


class Lanes:
    """The in-flight sends of one push transport, at most one per partner."""

    def __init__(
        self,
        pars: Pars,
        transport: str,
        send: Send,
        refuse: Refusal = lambda a, p: None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.pars, self.transport, self._send, self._refuse = pars, transport, send, refuse
        self._wake = wake  # called when a send finishes (the relay loop's wait ends)
        self._flying: dict[str, tuple[dict[str, Any], Prepared, Future[str | None]]] = {}
        self._lock = threading.Lock()

    def _finished(self, _: Future[str | None]) -> None:
        if self._wake is not None:
            self._wake()

    @property
    def in_flight(self) -> int:
        return len(self._flying)

    def step(self) -> int:
        """Record what finished, then start the due head of every partner whose lane is free;
        returns how many sends finished, plus how many items were tried."""
        return self.collect() + self._start()

    def _start(self) -> int:
        """Start the due heads of the free lanes; returns how many items were tried (sent, or
        withheld because they may no longer go)."""
        free = self.pars.settings.push_concurrency - len(self._flying)
        if free <= 0:
            return 0
        with self.pars.reader().without_snapshot() as uow:  # one statement
            heads = uow.deliveries.push_heads(self.pars.clock.now(), self.transport)
        heads = [h for h in heads if h["partner_id"] not in self._flying][:free]
        if not heads:
            return 0
        ready, broken = prepare_round(self.pars, heads, self.transport, self._refuse)
        for item, error in broken:
            quarantine(self.pars, item, self.transport, error)
        for item, prepared in ready:
            try:
                future = self._send(item, prepared)
            except Exception as e:  # the send could not even start (a payload it cannot encode)
                quarantine(self.pars, item, self.transport, e)
                continue
            self._flying[item["partner_id"]] = (item, prepared, future)
            future.add_done_callback(self._finished)
        return len(heads)

    def collect(self) -> int:
        """Record the outcomes of the sends that have finished, in one transaction."""
        with self._lock:
            done = [(p, f) for p, f in self._flying.items() if f[2].done()]
            results: list[tuple[dict[str, Any], dict[str, Any], str | None]] = []
            failed: list[tuple[dict[str, Any], Exception]] = []
            for _, (item, prepared, future) in done:
                try:
                    results.append((item, prepared.partner, future.result()))
                except Exception as e:  # not a transport failure: the item is set aside
                    failed.append((item, e))
            record_results(self.pars, self.transport, results)
            for partner_id, _ in done:
                del self._flying[partner_id]  # only once recorded: a failed record retries
            for item, error in failed:
                quarantine(self.pars, item, self.transport, error)
            return len(done)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for every send in flight, then record them; returns how many finished."""
        futures = [f for _, _, f in self._flying.values()]
        concurrent.futures.wait(futures, timeout=timeout)
        return self.collect()

    def round(self) -> int:
        """One whole round: start every due head, wait for the sends, record them; returns how
        many items were tried."""
        self.collect()
        tried = self._start()
        self.wait()
        return tried
