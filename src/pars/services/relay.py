"""The relay: reads the outbox in order and queues, for each agreement in force that covers an
event, the projection of the event for that agreement's partner. Also drops what may no longer
leave: queued items of agreements that ended, were suspended or revoked, or that the policy no
longer allows, are withheld and never sent.

Nothing here sends anything: transports (the HTTP feed, webhooks, NATS) serve the queue, and they
check the agreement again at the moment of sending.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from pars.domain.arrest import Arrest
from pars.services.app import Pars
from pars.services.disclosure import withheld as withheld_entry
from pars.services.views import full_record
from pars.sharing.agreements import Agreement, AgreementState, Transport
from pars.sharing.projection import Event, project
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = ["in_force_reason", "relay_forever", "relay_once", "withhold_ended"]

_log = structlog.get_logger("pars.relay")


def in_force_reason(a: Agreement | None, pars: Pars, now: datetime) -> str | None:
    """None when the agreement may disclose at `now`; otherwise why not."""
    if a is None:
        return "agreement missing"
    if a.state is not AgreementState.ACTIVE:
        return f"agreement {a.state.value}"
    if now < a.starts_at:
        return "agreement not started"
    if now >= a.ends_at:
        return "agreement ended"
    refusals = pars.policy.refusals(a.partner_class, a.granted_classes())
    if refusals:
        return "policy: " + refusals[0]
    return None


def _record(
    uow: SqlUnitOfWork, arrest: Arrest | None, row: dict[str, Any]
) -> dict[str, Any] | None:
    if arrest is not None:
        return full_record(arrest)
    if row["type"] == "pars.record.expunged":
        # Expungement destroyed every version; what is left (identifiers, the order, whether
        # it was a juvenile's) is the record as it is now.
        return full_record(uow.arrests.get(row["subject"], lock=False))
    return None  # destroyed since: nothing is left to send


def relay_once(pars: Pars, batch: int = 500) -> int:
    """Relay up to `batch` outbox events; returns how many were relayed."""
    now = pars.clock.now()
    with pars.reader() as reader:
        if not reader.deliveries.has_pending():
            return 0  # idle: no write transaction, so no write lock taken
    with pars.uow() as uow:
        cursor = uow.deliveries.cursor()
        rows = uow.deliveries.pending(cursor, batch)
        if not rows:
            uow.commit()
            return 0
        # Every active agreement version (a renewal's old version stays active to its end);
        # the projection decides, to the second.
        agreements = uow.sharing.active()
        # Whether each may disclose now is the same for every event of the batch.
        reasons = {(a.id, a.version): in_force_reason(a, pars, now) for a in agreements}
        queue: list[dict[str, Any]] = []
        withheld: list[dict[str, Any]] = []
        covered = [r for r in rows if any(r["type"] in a.event_types for a in agreements)]
        # The arrests of the whole batch, each at its event's version, in one query.
        arrests = uow.arrests.at_versions([(r["subject"], r["arrest_version"]) for r in covered])
        for row in rows:
            covering = [a for a in agreements if row["type"] in a.event_types]
            at = (row["subject"], row["arrest_version"])
            record = _record(uow, arrests.get(at), row) if covering else None
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
            for a in covering:
                base = {
                    "partner_id": a.partner, "agreement_id": a.id,
                    "agreement_version": a.version, "event_id": row["id"],
                    "outbox_seq": row["seq"], "event_type": row["type"],
                    "subject": row["subject"], "created_at": now,
                    "transport": a.transport.value,
                }  # fmt: skip
                payload = project(a, event, now, pars.policy)
                reason = reasons[(a.id, a.version)]
                if payload is not None:
                    push = a.transport is not Transport.FEED
                    queue.append(
                        {
                            **base,
                            "status": "queued",
                            "payload": payload,
                            "next_attempt_at": now if push else None,
                        }
                    )
                elif reason is not None and a.starts_at <= row["time"] < a.ends_at:
                    # Committed while the agreement was in force, relayed after it stopped:
                    # recorded as withheld, so the count of what was not sent is honest.
                    withheld.append(
                        {
                            **base,
                            "status": "withheld",
                            "withheld_at": now,
                            "withheld_reason": reason[:120],
                        }
                    )
        uow.deliveries.enqueue(queue)
        uow.deliveries.enqueue(withheld)
        by_agreement: dict[tuple[str, str, int], int] = {}
        for item in withheld:
            key = (item["partner_id"], item["agreement_id"], item["agreement_version"])
            by_agreement[key] = by_agreement.get(key, 0) + 1
        for (partner_id, agreement_id, version), count in by_agreement.items():
            reason = "agreement not in force when relayed"
            uow.audit(withheld_entry("relay", partner_id, (agreement_id, version), count, reason))
        uow.deliveries.set_cursor(rows[-1]["seq"])
        uow.audit(
            AuditEntry(
                "relay",
                "relay:batch",
                details={
                    "events": len(rows),
                    "queued": len(queue),
                    "withheld": len(withheld),
                    "last_seq": rows[-1]["seq"],
                },
            )
        )
        uow.commit()
    if queue:
        pars.queue_generation += 1  # wakes the SSE streams of this process
    return len(rows)


def withhold_ended(pars: Pars) -> int:
    """Withhold every queued item whose agreement may no longer disclose; returns how many.
    Reads first: the write transaction (and SQLite's write lock) only when there is work."""
    now = pars.clock.now()
    with pars.reader() as reader:
        stopped = {
            key: reason
            for key in reader.deliveries.queued_agreements()
            if (reason := in_force_reason(reader.sharing.get(*key), pars, now)) is not None
        }
    if not stopped:
        return 0
    total = 0
    with pars.uow() as uow:
        for (agreement_id, version), reason in stopped.items():
            count = uow.deliveries.withhold_agreement(agreement_id, version, reason, now)
            total += count
            uow.audit(withheld_entry("relay", None, (agreement_id, version), count, reason))
        uow.commit()
    return total


def relay_forever(
    pars: Pars, interval: float = 0.2, stop: Callable[[], bool] = lambda: False
) -> None:
    """Relay and withhold until `stop()`; sleeps `interval` seconds when there is nothing to do.
    Signs a checkpoint of the disclosure log when it grew and the interval has passed."""
    from pars.services.audit import maybe_checkpoint
    from pars.services.nats import deliver_nats
    from pars.services.webhooks import deliver_webhooks

    failures = 0
    every = timedelta(seconds=pars.settings.checkpoint_interval_seconds)
    next_checkpoint = pars.clock.now()  # look at the log this often, not on every round
    while not stop():
        pars.outbox_signal.clear()  # a commit from here on wakes the wait below at once
        try:
            moved = relay_once(pars)
            withhold_ended(pars)
            moved += deliver_webhooks(pars)
            moved += deliver_nats(pars) if pars.settings.nats_url else 0
            if pars.clock.now() >= next_checkpoint:
                maybe_checkpoint(pars)
                next_checkpoint = pars.clock.now() + every
            failures = 0
        except Exception:
            # A database outage (or a log write that fails: then nothing was sent) must not end
            # the relay: every step is a transaction, so it starts again where it stopped.
            failures += 1
            _log.exception("relay step failed; trying again", failures=failures)
            time.sleep(min(interval * 2**failures, 30.0))
            continue
        if not moved:
            pars.outbox_signal.wait(interval)
