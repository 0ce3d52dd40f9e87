"""Wake-ups across processes on PostgreSQL: LISTEN/NOTIFY.

A transaction that wrote outbox events notifies `pars_outbox` (the `outbox` table's trigger
does, migration 0016); one that queued deliveries (the relay's) notifies `pars_queue` (the
`deliveries` table's trigger, migration 0017).
PostgreSQL delivers a notification only when the transaction commits (and never for one rolled
back), so a wake-up never runs ahead of the data.
A `Listener` in each process (`pars serve`, `pars relay`) holds one connection that LISTENs
and calls the process's in-process wake-ups: the relay's event, the SSE streams' and
long-polls' counter. The polls stay as the fallback: a notification lost while the listener
was reconnecting is made up for by calling every wake-up once it is back, and by the polls.

On SQLite there is one process writing, and its wake-ups are in-process (`on_events`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import psycopg
import sqlalchemy as sa
import structlog
from psycopg import sql

from pars.logs import error_name

__all__ = ["OUTBOX", "QUEUE", "Listener"]

OUTBOX = "pars_outbox"  # a commit wrote outbox events: the relay has work
QUEUE = "pars_queue"  # the relay queued deliveries: feeds and streams have news

_log = structlog.get_logger("pars.notify")


class Listener:
    """A daemon thread LISTENing on the channels of `wakeups` and calling the wake-up of each
    notification's channel. Reconnects with backoff; after a reconnect it calls every wake-up
    once, since notifications sent meanwhile were lost."""

    def __init__(self, engine: sa.Engine, wakeups: dict[str, Callable[[], None]]) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._wakeups = dict(wakeups)
        self._stop = threading.Event()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.listening = threading.Event()  # set while LISTEN is in place (tests wait on it)
        self._thread = threading.Thread(target=self._run, name="pars-listen", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    for channel in self._wakeups:
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    if failures:
                        self._wake_all()  # what was sent while we were away is not resent
                    failures = 0
                    self.listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            wake = self._wakeups.get(note.channel)
                            if wake is not None:
                                wake()
            except (psycopg.Error, OSError) as e:
                self.listening.clear()
                failures += 1
                _log.warning("listener lost its connection; reconnecting", error=error_name(e))
                self._stop.wait(min(0.2 * 2**failures, 10.0))
        self.listening.clear()

    def _wake_all(self) -> None:
        for wake in self._wakeups.values():
            with contextlib.suppress(Exception):
                wake()
