"""The relay: reads the outbox in order and queues, for each agreement in force that covers an
event, the projection of the event for that agreement's partner. Also drops what may no longer
leave: queued items of agreements that ended, were suspended or revoked, or that the policy no
longer allows, are withheld and never sent.

Nothing here sends anything: transports (the HTTP feed, webhooks, NATS) serve the queue, and they
check the agreement again at the moment of sending.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from pars import heap
from pars.domain.arrest import Arrest
from pars.logs import error_name
from pars.services.app import Pars
from pars.services.delivery.disclosure import withheld as withheld_entry
from pars.services.delivery.in_force import in_force_reason
from pars.services.lifecycle.corrections import as_corrected
from pars.services.lifecycle.withhold import LIFECYCLE_EVENTS
from pars.services.views import full_record
from pars.sharing.agreements import Agreement, Transport
from pars.sharing.projection import Event, Shared, project
from pars.store.relay import DeliveryStream
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = ["relay_once", "withhold_ended"]

_log = structlog.get_logger("pars.relay")


def _record(
    uow: SqlUnitOfWork, arrest: Arrest | None, row: dict[str, Any]
) -> dict[str, Any] | None:
    if arrest is not None:
        return full_record(arrest)
    if _expunged(row):
        # Expungement destroyed every version; what is left (identifiers, the order, whether
        # it was a juvenile's) is the record as it is now.
        return full_record(uow.arrests.get(row["subject"], lock=False))
    return None  # destroyed since: nothing is left to send


def _expunged(row: dict[str, Any]) -> bool:
    return bool(row["type"] == "pars.record.expunged")


def relay_once(pars: Pars, batch: int = 500) -> int:
    """Relay up to `batch` outbox events; returns how many were relayed. If the batch fails as
    a whole, it is done again item by item, and whatever fails on its own (a projection, a
    constraint) is quarantined, so that one bad row never holds back the others."""
    with pars.reader().without_snapshot() as reader:  # one statement: no BEGIN, no COMMIT
        if not reader.deliveries.has_pending():
            return 0  # idle: no write transaction, so no write lock taken
    # A batch's objects all live until it commits: see pars.heap for why no collection runs.
    with heap.paused():
        try:
            return _relay(pars, batch, isolate=False)
        except Exception as e:
            _log.warning("relay batch failed; relaying it item by item", error=error_name(e))
        # Outside the handler, so that an item's own failure is not chained to the batch's.
        return _relay(pars, batch, isolate=True)


def _relay(pars: Pars, batch: int, isolate: bool) -> int:
    now = pars.clock.now()
    with pars.uow() as uow:
        rows = uow.deliveries.next_batch(batch)
        if not rows:
            uow.commit()
            return 0
        # Every active agreement version (a renewal's old version stays active to its end);
        # the projection decides, to the second. Newest version first: an event goes once to
        # each agreement, under the newest version that may carry it.
        agreements = sorted(uow.sharing.active(), key=lambda a: (a.id, -a.version))
        # Whether each may disclose now is the same for every event of the batch.
        reasons = {(a.id, a.version): in_force_reason(a, pars, now) for a in agreements}
        covered = [r for r in rows if any(r["type"] in a.event_types for a in agreements)]
        # The arrests of the whole batch, each at its event's version (as corrected since),
        # and which of them are sealed or expunged now.
        read = as_corrected(uow, [(r["subject"], r["arrest_version"]) for r in covered])
        arrests, closed = read.arrests, read.closed
        out = _Batch(uow, now, isolate)
        if not isolate:
            # Read now what the loop would read: its delivery rows stream into a COPY while it
            # runs, and nothing else may use the connection until that ends.
            for r in covered:
                if _expunged(r) and arrests.get((r["subject"], r["arrest_version"])) is None:
                    arrests[r["subject"], r["arrest_version"]] = uow.arrests.get(
                        r["subject"], lock=False
                    )
        with out.writing():
            _queue(pars, uow, out, rows, agreements, arrests, closed, reasons, now)
        out.finish()
        uow.deliveries.set_cursor(rows[-1]["seq"])
        uow.audit(
            AuditEntry(
                "relay",
                "relay:batch",
                details={
                    "events": len(rows),
                    "queued": out.queued,
                    "withheld": out.withheld,
                    "quarantined": out.quarantined,
                    "last_seq": rows[-1]["seq"],
                },
            )
        )
        uow.commit()  # what it queued wakes the feeds and streams (see SqlUnitOfWork.commit)
    return len(rows)


def _queue(
    pars: Pars,
    uow: SqlUnitOfWork,
    out: _Batch,
    rows: list[dict[str, Any]],
    agreements: list[Agreement],
    arrests: dict[tuple[str, int], Arrest],
    closed: set[str],
    reasons: dict[tuple[str, int], str | None],
    now: datetime,
) -> None:
    """Each outbox row's delivery rows: one per agreement that covers its type."""
    for row in rows:
        if row["subject"] in closed and row["type"] not in LIFECYCLE_EVENTS:
            continue  # committed before the record was sealed or expunged: never sent
        versions: dict[str, list[Agreement]] = {}
        for a in agreements:
            if row["type"] in a.event_types:
                versions.setdefault(a.id, []).append(a)
        if not versions:
            continue
        found = arrests.get((row["subject"], row["arrest_version"]))
        try:
            record = out.guard(row, None, partial(_record, uow, found, row))
        except _Quarantined:
            continue
        if record is None:
            continue
        event = Event(
            row["id"],
            row["type"],
            row["source"],
            row["subject"],
            row["time"],
            row["arrest_version"],
            record,
        )
        shared = Shared()  # cuts made once per event: the same leaves, the same parts
        for candidates in versions.values():
            make = partial(_item, pars, candidates, event, row, now, reasons, shared)
            try:
                out.add(row, candidates[0], make)
            except _Quarantined:
                continue


def _item(
    pars: Pars,
    versions: list[Agreement],
    event: Event,
    row: dict[str, Any],
    now: datetime,
    reasons: dict[tuple[str, int], str | None],
    shared: Shared,
) -> dict[str, Any] | None:
    """The delivery row of one event for one agreement: queued under the newest version whose
    projection carries it; withheld if it was committed while a version was in force that no
    longer is; None if it was never due."""
    for a in versions:
        payload = project(a, event, now, pars.policy, shared)
        if payload is not None:
            push = a.transport is not Transport.FEED
            return _row(
                a, row, now, "queued", payload=payload, next_attempt_at=now if push else None
            )
    for a in versions:
        reason = reasons[(a.id, a.version)]
        if reason is not None and a.starts_at <= row["time"] < a.ends_at:
            # Committed while the agreement was in force, relayed after it stopped: recorded
            # as withheld, so the count of what was not sent is honest.
            return _row(a, row, now, "withheld", withheld_at=now, withheld_reason=reason[:120])
    return None


def _row(
    a: Agreement, row: dict[str, Any], now: datetime, status: str, **more: Any
) -> dict[str, Any]:
    """A delivery row, built as one dictionary (the relay makes one per partner per event)."""
    return {
        "partner_id": a.partner, "agreement_id": a.id, "agreement_version": a.version,
        "event_id": row["id"], "outbox_seq": row["seq"], "event_type": row["type"],
        "subject": row["subject"], "created_at": now, "transport": a.transport.value,
        "status": status, **more,
    }  # fmt: skip


class _Quarantined(Exception):
    """An item was set aside; the caller goes on with the next."""


class _Batch:
    """The delivery rows of one relay batch. Normally they stream into the database as they are
    made (`writing`: on PostgreSQL one COPY for the batch, which the server inserts while the
    next events are projected); in isolation each is inserted under its own savepoint, and what
    fails is quarantined."""

    def __init__(self, uow: SqlUnitOfWork, now: datetime, isolate: bool) -> None:
        self.uow, self.now, self.isolate = uow, now, isolate
        self._sink: DeliveryStream | None = None
        self.queued = self.withheld = self.quarantined = 0
        self._withheld_by: dict[tuple[str, str, int], int] = {}

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """The block in which items are added; every row is in by its end."""
        if self.isolate:
            yield
            return
        with self.uow.deliveries.stream() as self._sink:
            yield
        self._sink = None

    def guard(self, row: dict[str, Any], a: Agreement | None, work: Callable[[], Any]) -> Any:
        """`work()`; in isolation, a failure quarantines the item and raises _Quarantined."""
        if not self.isolate:
            return work()
        try:
            with self.uow.savepoint():  # a failure takes back the item's rows (and any audit)
                return work()
        except Exception as e:
            self._quarantine(row, a, e)
            raise _Quarantined from None

    def add(
        self, row: dict[str, Any], a: Agreement, make: Callable[[], dict[str, Any] | None]
    ) -> None:
        # Outside isolation a failure fails the batch, which is then done again in isolation.
        item = self.guard(row, a, partial(self._insert, make)) if self.isolate else make()
        if item is None:
            return
        if self._sink is not None:
            self._sink.add(item)
        if item["status"] == "queued":
            self.queued += 1
        else:
            self.withheld += 1
            key = (item["partner_id"], item["agreement_id"], item["agreement_version"])
            self._withheld_by[key] = self._withheld_by.get(key, 0) + 1

    def _insert(self, make: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        item = make()
        if item is not None:
            self.uow.deliveries.enqueue([item])
        return item

    def _quarantine(self, row: dict[str, Any], a: Agreement | None, e: Exception) -> None:
        self.quarantined += 1
        error = error_name(e)
        _log.error(
            "relay item quarantined",
            stage="relay",
            event_id=row["id"],
            agreement=None if a is None else f"{a.id}/v{a.version}",
            error=error,
        )
        self.uow.deliveries.quarantine(
            {
                "stage": "relay",
                "outbox_seq": row["seq"],
                "event_id": row["id"],
                "partner_id": None if a is None else a.partner,
                "agreement_id": None if a is None else a.id,
                "agreement_version": None if a is None else a.version,
                "error": error,
                "at": self.now,
            }
        )
        self.uow.audit(
            AuditEntry(
                "relay",
                "delivery:quarantined",
                "failure",
                None if a is None else "partner",
                None if a is None else a.partner,
                {"stage": "relay", "event": row["id"], "error": error},
                agreement_id=None if a is None else a.id,
                agreement_version=None if a is None else a.version,
            )
        )

    def finish(self) -> None:
        """Audit the withheld items per agreement."""
        for (partner_id, agreement_id, version), count in self._withheld_by.items():
            reason = "agreement not in force when relayed"
            self.uow.audit(
                withheld_entry("relay", partner_id, (agreement_id, version), count, reason)
            )


def withhold_ended(pars: Pars) -> int:
    """Withhold every queued item whose agreement may no longer disclose; returns how many.
    Reads first: the write transaction (and SQLite's write lock) only when there is work."""
    now = pars.clock.now()
    with pars.reader() as reader:  # two statements, whatever the number of agreements
        keys = reader.deliveries.queued_agreements()
        found = reader.sharing.get_many(keys)
        stopped = {
            key: reason
            for key in keys
            if (reason := in_force_reason(found.get(key), pars, now)) is not None
        }
    if not stopped:
        return 0
    total = 0
    with pars.uow() as uow:
        for (agreement_id, version), reason in stopped.items():
            held, halted = uow.deliveries.withhold_agreement(agreement_id, version, reason, now)
            total += held + halted
            if held:
                uow.audit(withheld_entry("relay", None, (agreement_id, version), held, reason))
            if halted:
                uow.audit(
                    AuditEntry(
                        "relay",
                        "delivery:retries_stopped",
                        details={"count": halted, "reason": reason},
                        agreement_id=agreement_id,
                        agreement_version=version,
                    )
                )
        uow.commit()
    return total
