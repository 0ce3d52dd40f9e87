"""The demo's fast path (see `pars.demo.run`): consecutive commands on different arrests join
one open transaction, written by the store's own flush and committed once; `_Repository` keeps
the arrests a batch wrote in memory, so the next batch does not read them back."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from pars.config import Settings
from pars.crypto import KeyRing
from pars.domain.arrest import Arrest
from pars.domain.clock import FakeClock
from pars.domain.events import DomainEvent
from pars.services.app import Pars
from pars.store.arrests import ArrestRepository
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = ["BatchedPars"]


class _Repository(ArrestRepository):
    """For the demo's single writer: arrests stay in memory between transactions (as a reload
    would rebuild them), so a batch of commands does not read back what it wrote."""

    def __init__(self, conn: sa.Connection, keys: KeyRing, known: dict[str, Arrest]) -> None:
        super().__init__(conn, keys)
        self._known = known

    def get(self, arrest_id: str, lock: bool = True) -> Arrest:
        arrest = self._known.get(arrest_id)
        if arrest is not None and arrest_id not in self._seen:
            self._seen[arrest_id] = (arrest, arrest.version, False)
        return super().get(arrest_id, lock)

    def flush(self, now: datetime) -> list[DomainEvent]:
        touched = [a for a, _, new in self._seen.values() if new or a.history_dirty]
        events = super().flush(now)
        for arrest in touched:
            self._known[arrest.id] = arrest
        return events


class _Batch(SqlUnitOfWork):
    """One open transaction that several commands join: their `with` and `commit()` do nothing;
    `finish()` writes what they all did and commits once."""

    def __init__(self, pars: BatchedPars) -> None:
        super().__init__(pars.engine, pars.keys, pars.clock, pars.source)
        super().__enter__()
        self.arrests = _Repository(self.conn, pars.keys, pars.known)

    def __enter__(self) -> SqlUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> list[DomainEvent]:
        return []

    def finish(self, commit: bool) -> None:
        try:
            if commit:
                super().commit()
        finally:
            super().__exit__(None, None, None)  # rolls back what was not committed


class BatchedPars(Pars):
    """Pars whose commands join the open batch, when there is one."""

    def __init__(self, settings: Settings, clock: FakeClock, keys: KeyRing) -> None:
        super().__init__(settings, clock=clock, keys=keys)
        self.fake_clock = clock
        self.batch: _Batch | None = None
        self.known: dict[str, Arrest] = {}  # every arrest a batch wrote, by id

    def uow(self) -> SqlUnitOfWork:
        return self.batch if self.batch is not None else super().uow()

    def audit_now(self, entry: AuditEntry) -> None:
        # Only a refused command gets here, and that ends the demo: don't wait on the batch.
        return self.batch.audit(entry) if self.batch else super().audit_now(entry)

    def next_batch(self, commit: bool = True, open_next: bool = True) -> None:
        batch, self.batch = self.batch, None
        if batch is not None:
            batch.finish(commit)  # before the next one begins: SQLite has one writer
        self.batch = _Batch(self) if open_next else None
