"""Group commit: concurrent commands of one process share one transaction.

A command's fixed cost is mostly its transaction's: BEGIN and COMMIT (a WAL flush on
PostgreSQL), the disclosure log's head update and its node rows, the outbox insert, the
connection checkout. When commands arrive faster than one transaction commits, `GroupCommit`
runs the waiting ones in one unit of work and pays that cost once:

- The first caller to find no batch running leads: it takes every command waiting (up to
  `limit`, its own first), runs them in arrival order, commits, wakes their callers, and hands
  the lead to the first command that arrived meanwhile. Nobody waits on a timer: a command
  alone runs at once, as it would without grouping.
- A batch of one runs in its own transaction: exactly that of an ungrouped command.
- A larger batch runs first all together with no savepoint, its arrests, versions and events
  written at the end in one statement per table. If anything fails before the COMMIT (a
  refusal, a constraint, a bug), that transaction is rolled back whole and the batch runs
  again, each command in its own savepoint with its arrests written there
  (`SqlUnitOfWork.savepoint`, `flush`): a command that fails then takes back its own writes,
  audit entries and events only, and its error is raised to its own caller.
- No caller returns before the COMMIT that makes its command durable. If that COMMIT fails,
  every command of the batch fails with its error, as each would have alone; it is never
  retried, since it may have committed.

So grouped work may run twice: it must build what it writes afresh on each call (a second
call must not see objects the first one changed).

Grouped work must use only the unit of work it is given (a second transaction of its own
would wait on the SQLite write lock its leader holds), and should be a command whose locks
cannot interleave with another process's batch in a different order: on PostgreSQL two
batches that lock two existing arrests in opposite orders would deadlock where two single
commands would not. Creating an arrest inserts new rows only (its OTN number comes from a
sequence on PostgreSQL) and takes one row lock, the log's head, last, so it is grouped;
commands on existing arrests are not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from pars.store.uow import SqlUnitOfWork

__all__ = ["GroupCommit"]

_T = TypeVar("_T")


class _Job(Generic[_T]):
    __slots__ = ("error", "lead", "value", "wake", "work")

    def __init__(self, work: Callable[[SqlUnitOfWork], _T]) -> None:
        self.work = work
        self.wake = threading.Event()
        self.lead = False  # set (under the lock) for the caller that runs the next batch
        self.value: _T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> _T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # the work's own result


class GroupCommit:
    """`run(work)`: `work(uow)` in a transaction shared with the commands of other threads
    waiting at the same time; its result once that transaction has committed."""

    def __init__(
        self,
        open_uow: Callable[[], SqlUnitOfWork],
        limit: int = 64,
        before_batch: Callable[[SqlUnitOfWork, int], None] | None = None,
    ) -> None:
        """`before_batch(uow, n)` runs first in a batch of n run all together: to take ahead
        what each command would take alone (the new arrests' OTN numbers)."""
        if limit < 1:
            raise ValueError("a batch holds at least one command")
        self._open = open_uow
        self._before_batch = before_batch
        self._limit = limit
        self._lock = threading.Lock()
        self._waiting: list[_Job[object]] = []
        self._busy = False
        # For the benchmarks and the tests: batches run (committed or failed), the commands in
        # them, and the batches that had to be run again command by command.
        self.batches = 0
        self.commands = 0
        self.retried = 0

    @property
    def waiting(self) -> int:
        """Commands queued behind the batch that is running."""
        with self._lock:
            return len(self._waiting)

    def run(self, work: Callable[[SqlUnitOfWork], _T]) -> _T:
        job: _Job[_T] = _Job(work)
        with self._lock:
            self._waiting.append(job)  # type: ignore[arg-type]
            if not self._busy:
                self._busy = True
                job.lead = True
        if not job.lead:
            job.wake.wait()  # until its batch is done, or it is handed the lead
        if job.lead:
            self._lead()
        return job.outcome()

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[: self._limit]
            del self._waiting[: self._limit]
        try:
            self._execute(batch)
        finally:
            with self._lock:
                self.batches += 1
                self.commands += len(batch)
                if self._waiting:
                    following = self._waiting[0]
                    following.lead = True
                    following.wake.set()
                else:
                    self._busy = False
            for job in batch:
                job.wake.set()

    def _execute(self, batch: list[_Job[object]]) -> None:
        try:
            if len(batch) == 1:
                self._alone(batch[0])
            elif not self._together(batch):
                with self._lock:
                    self.retried += 1
                self._apart(batch)
        except BaseException as e:  # opening, or the COMMIT: the whole batch fails
            for job in batch:
                if job.error is None:
                    job.value, job.error = None, e

    def _alone(self, job: _Job[object]) -> None:
        """The command's own transaction, with no savepoint: as if there were no grouping."""
        with self._open() as uow:
            try:
                job.value = job.work(uow)
            except BaseException as e:
                job.error = e
                return  # leaving the block rolls back
            uow.commit()

    def _together(self, batch: list[_Job[object]]) -> bool:
        """The batch in one transaction with no savepoint, its arrests written at the end in
        one statement per table: the common case, in which no command fails. False, with
        nothing written and nothing kept, if anything failed before the COMMIT."""
        with self._open() as uow:
            try:
                if self._before_batch is not None:
                    self._before_batch(uow, len(batch))
                values = [job.work(uow) for job in batch]
                uow.prepare()
            except Exception:
                return False  # leaving the block rolls back
            uow.commit()
        for job, value in zip(batch, values, strict=True):
            job.value = value
        return True

    def _apart(self, batch: list[_Job[object]]) -> None:
        """The batch again, each command in its own savepoint: one that fails takes back its
        own writes, audit entries and events, and its error is raised to its caller alone."""
        with self._open() as uow:
            for job in batch:
                try:
                    with uow.savepoint():
                        job.value = job.work(uow)
                        uow.flush()
                except BaseException as e:
                    job.value, job.error = None, e
            if any(job.error is None for job in batch):
                uow.commit()
