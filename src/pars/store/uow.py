"""The unit of work: one database transaction holding a command's state change, its audit rows and
its outbox events. Nothing is published before commit; nothing committed is lost."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from pars.crypto import KeyRing
from pars.domain.clock import Clock
from pars.domain.events import DomainEvent
from pars.store.accounts import PersonRepository, UserRepository
from pars.store.arrests import ArrestRepository
from pars.store.audit import AuditRow, Pending, append_rows, frontier
from pars.store.engine import NO_SNAPSHOT, READ_ONLY, write_turn
from pars.store.identity import IdentityRepository
from pars.store.relay import DeliveryRepository
from pars.store.sessions import SessionRepository
from pars.store.sharing import SharingRepository
from pars.store.tables import outbox

__all__ = ["AuditEntry", "SqlUnitOfWork", "write_audit"]


_INSERT_OUTBOX = sa.insert(outbox)

AuditEntry = AuditRow
"""One audit row (a leaf of the disclosure log). `details` must hold metadata only."""


def write_audit(
    conn: sa.Connection, entries: list[AuditEntry], clock: Clock, pending: Pending | None = None
) -> list[int]:
    """Append `entries` to the disclosure log in this transaction; their leaf indexes. With
    `pending` (see `pars.store.audit.Frontier`), publish it after COMMIT."""
    return append_rows(conn, entries, clock.now(), pending)


class SqlUnitOfWork:
    """`with uow:` opens a transaction; `uow.commit()` writes everything in it; leaving the block
    without commit rolls all of it back."""

    def __init__(
        self,
        engine: sa.Engine,
        keys: KeyRing,
        clock: Clock,
        source: str,
        read_only: bool = False,
        on_events: Callable[[], None] | None = None,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._snapshot = True  # see `without_snapshot`
        self._on_events = on_events  # called after a COMMIT that wrote outbox events
        self._on_queued = on_queued  # called after a COMMIT that queued deliveries
        self._read_only = read_only
        self._keys = keys
        self._clock = clock
        self._source = source
        # Called inside the transaction just before COMMIT; tests inject failures here.
        self.before_commit: list[Callable[[sa.Connection], None]] = []

    def __enter__(self) -> SqlUnitOfWork:
        self._turn = None if self._read_only else write_turn(self._engine)
        if self._turn is not None:
            self._turn.__enter__()
        self.conn = self._engine.connect()
        if self._read_only:
            self.conn = self.conn.execution_options(**{READ_ONLY: True})
            if self.conn.dialect.name == "postgresql":
                pg: dict[str, Any] = (
                    {"postgresql_readonly": True}
                    if self._snapshot
                    else {"isolation_level": "AUTOCOMMIT"}
                )
                self.conn = self.conn.execution_options(**pg)
            elif not self._snapshot:
                self.conn = self.conn.execution_options(**{NO_SNAPSHOT: True})
        self._tx = self.conn.begin()
        self.arrests = ArrestRepository(self.conn, self._keys)
        self.persons = PersonRepository(self.conn)
        self.identity = IdentityRepository(self.conn)
        self.users = UserRepository(self.conn)
        self.sessions = SessionRepository(self.conn)
        self.sharing = SharingRepository(self.conn)
        self.deliveries = DeliveryRepository(self.conn)
        self._audit: list[AuditEntry] = []
        self._events: list[DomainEvent] = []  # flushed, for the outbox at commit
        self.leaves: list[int] = []  # leaf indexes of the audit entries, once committed
        self._committed = False
        self._prepared: tuple[list[DomainEvent], bool, Pending, list[int]] | None = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._read_only and exc_type is None and self._tx.is_active:
                # A read ends in COMMIT: on PostgreSQL a ROLLBACK makes psycopg drop every
                # prepared statement of the connection (DEALLOCATE ALL).
                self._tx.commit()
            elif not self._committed and self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()
            if self._turn is not None:
                self._turn.__exit__(exc_type, exc, tb)

    def without_snapshot(self) -> SqlUnitOfWork:
        """For a reader whose statements need not see one snapshot: each runs on its own
        (autocommit), without BEGIN and COMMIT: two round trips fewer on PostgreSQL, one
        statement fewer on SQLite. Call before `with`."""
        if not self._read_only:
            raise RuntimeError("only a read-only unit of work may read without a snapshot")
        self._snapshot = False
        return self

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint around the block: if it raises, its writes, its audit entries, the
        events it flushed and the arrests it loaded are all taken back, and the error goes on."""
        audited, flushed = len(self._audit), len(self._events)
        try:
            with self.conn.begin_nested():
                yield
        except BaseException:
            del self._audit[audited:]
            del self._events[flushed:]
            self.arrests.forget()  # the objects may hold the rolled-back changes
            raise

    def audit(self, entry: AuditEntry) -> None:
        self._audit.append(entry)

    def audit_mark(self) -> int:
        """The position the next audit entry takes; after COMMIT, `leaves[mark]` is its leaf."""
        return len(self._audit)

    def flush(self) -> None:
        """Write the changed arrests and their versions now (inside a savepoint, so that a
        rollback to it takes them back: see `pars.store.group_commit`); their events wait for
        the outbox insert at commit."""
        self._events += self.arrests.flush(self._clock.now())

    def prepare(self) -> None:
        """Everything of `commit` but the COMMIT itself: the changed arrests and their versions,
        the outbox and audit rows, the `before_commit` hooks. A failure here leaves the outcome
        certain (nothing is committed; see `pars.store.group_commit`, which retries then);
        `commit` calls it unless it was called."""
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._prepared is not None:
            return
        now = self._clock.now()
        self.flush()
        events, self._events = self._events, []
        if events:
            rows: list[dict[str, Any]] = [
                {
                    "id": str(uuid.uuid4()),
                    "type": e.type,
                    "source": self._source,
                    "subject": e.subject,
                    "time": now,
                    "arrest_version": e.version,
                    "data": e.data,
                }
                for e in events
            ]
            # On PostgreSQL the insert's trigger notifies `pars_outbox` (migration 0016),
            # which wakes relays in other processes at COMMIT.
            self.conn.execute(_INSERT_OUTBOX, rows)
        # Deliveries queued (by the relay, a recall, anything else) wake the feeds and streams
        # of this process after COMMIT; on PostgreSQL the insert's trigger notifies
        # `pars_queue` (migration 0017), which wakes those of other processes at COMMIT.
        queued = self.deliveries.queued
        # The log's head lock is taken last, held only until COMMIT: see store/audit.py.
        pending = frontier(self._engine).pending()
        leaves = write_audit(self.conn, self._audit, self._clock, pending)
        for hook in self.before_commit:
            hook(self.conn)
        self._prepared = (events, queued, pending, leaves)

    def commit(self) -> list[DomainEvent]:
        """Write the changed aggregates, their versions, audit and outbox rows, then COMMIT.
        Returns the events that were committed."""
        self.prepare()
        assert self._prepared is not None
        events, queued, pending, leaves = self._prepared
        self._tx.commit()
        self._committed = True
        pending.publish()
        self._audit = []
        self.leaves = leaves
        if events and self._on_events is not None:
            self._on_events()
        if queued and self._on_queued is not None:
            self._on_queued()  # and in this process
        return events
