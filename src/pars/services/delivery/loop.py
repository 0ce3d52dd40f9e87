"""`pars relay`'s loop: queue (the relay), push (webhooks, NATS), withhold what may no longer
leave, sign checkpoints; each step its own transaction, a failing step retried with backoff and
never stopping the others. The one module that knows every step, so the steps need not know
each other.

Only the holder of the relay lease (store/lease.py) runs the steps: every other relay on the
same database stands by, trying for the lease every `standby_poll` seconds, and takes over when
the active one dies."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import structlog

from pars.logs import error_name
from pars.services.app import Pars
from pars.services.audit import maybe_checkpoint
from pars.services.delivery.lanes import Lanes
from pars.services.delivery.nats import nats_lanes
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.delivery.webhooks import webhook_lanes
from pars.services.lifecycle.limited_access import run_if_due
from pars.store.lease import Lease, lease_for

__all__ = ["relay_forever"]

_log = structlog.get_logger("pars.relay")


def relay_forever(
    pars: Pars,
    interval: float = 0.2,
    stop: Callable[[], bool] = lambda: False,
    standby_poll: float = 0.25,
    lease: Lease | None = None,
) -> None:
    """Relay and withhold until `stop()`, while holding the relay lease; stand by while another
    relay holds it. Sleeps `interval` seconds when there is nothing to do. Signs a checkpoint of
    the disclosure log when it grew and the interval has passed, and applies the limited-access
    rule once a day."""
    lease = lease or lease_for(pars.engine)
    standing_by = False
    try:
        while not stop():
            if not lease.acquire():
                if not standing_by:
                    _log.info("relay standing by: another relay holds the relay lease")
                    standing_by = True
                time.sleep(standby_poll)
                continue
            standing_by = False
            _log.info("relay active: this process holds the relay lease")
            _run_steps(pars, interval, stop, lease)
            if not stop():
                _log.warning("relay lost its lease; standing by")
    finally:
        lease.release()


def _run_steps(pars: Pars, interval: float, stop: Callable[[], bool], lease: Lease) -> None:
    """The steps, round after round, until `stop()` or the lease is lost. The push steps keep
    their sends in flight across rounds (see delivery.lanes): a round never waits for a slow
    partner, and a send that finishes wakes the loop."""
    workers = pars.settings.push_concurrency
    with ThreadPoolExecutor(max_workers=2 * workers, thread_name_prefix="pars-push") as pool:
        lanes = [
            webhook_lanes(pars, pool, wake=pars.outbox_signal.set),
            nats_lanes(pars, pool, wake=pars.outbox_signal.set),
        ]
        try:
            _rounds(pars, interval, stop, lease, *lanes)
        finally:
            for lane in lanes:  # what is in flight was logged: record how it ended
                with contextlib.suppress(Exception):
                    lane.wait(pars.settings.webhook_timeout_seconds)


def _rounds(
    pars: Pars,
    interval: float,
    stop: Callable[[], bool],
    lease: Lease,
    webhooks: Lanes,
    nats: Lanes,
) -> None:
    failures = 0
    every = timedelta(seconds=pars.settings.checkpoint_interval_seconds)
    next_checkpoint = pars.clock.now()  # look at the log this often, not on every round
    next_lifecycle = pars.clock.now()  # the limited-access rule: once a day (services.lifecycle)
    # The pushes right after the relay, so that what it queued leaves first. The sweep of
    # ended agreements after them, and at most once per `interval`: every send checks its
    # agreement itself at that instant, so the sweep only records sooner what will not leave,
    # and run after every batch it competed with the partners' rounds for the same cores.
    sweep = _Every(interval, lambda: withhold_ended(pars))
    steps: list[tuple[str, Callable[[], int]]] = [
        ("relay", lambda: relay_once(pars)),
        ("webhooks", webhooks.step),
        ("nats", lambda: nats.step() if pars.settings.nats_url else 0),
        ("withhold", sweep),
    ]
    while not stop() and lease.held():
        pars.outbox_signal.clear()  # a commit from here on wakes the wait below at once
        moved, failed = 0, False
        # Each step on its own: one that fails (a database outage, a log write that fails, in
        # which case nothing was sent) must neither end the relay nor stop the other steps.
        # Every step is a transaction, so it starts again where it stopped.
        for name, step in steps:
            if name != "relay" and not lease.held():
                return  # lost between steps: push nothing more (queueing is guarded anyway)
            try:
                moved += step()
            except Exception as e:
                failed = True
                _log.error("relay step failed; trying again", step=name, error=error_name(e))
        try:
            if pars.clock.now() >= next_checkpoint:
                maybe_checkpoint(pars)
                next_checkpoint = pars.clock.now() + every
        except Exception as e:
            failed = True
            _log.error("relay step failed; trying again", step="checkpoint", error=error_name(e))
        try:
            if pars.clock.now() >= next_lifecycle:
                next_lifecycle = run_if_due(pars)
        except Exception as e:
            failed = True
            _log.error("relay step failed; trying again", step="lifecycle", error=error_name(e))
        if failed:
            failures += 1
            time.sleep(min(interval * 2**failures, 30.0))
            continue
        failures = 0
        if not moved:
            pars.outbox_signal.wait(interval)


class _Every:
    """`step()`, at most once per `seconds` (0 when not yet due). A step that raised is due
    again at once, so that its retry is not put off."""

    def __init__(self, seconds: float, step: Callable[[], int]) -> None:
        self._seconds, self._step = seconds, step
        self._next = 0.0

    def __call__(self) -> int:
        now = time.monotonic()
        if now < self._next:
            return 0
        moved = self._step()  # if it raises, _next stays: due again next round
        self._next = now + self._seconds
        return moved
