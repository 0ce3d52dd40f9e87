"""Queued copies die with the record.

Called by the seal, expunge and correct handlers inside their unit of work, so that the change of
the record and the fate of every copy waiting for a partner commit together:

- sealed or expunged: every queued delivery of the arrest is withheld (payload destroyed,
  `withheld_reason` names the order), and the payload kept for re-reads of delivered items is
  destroyed too, so that no later feed read (from an older cursor) serves it again. Events of
  the arrest still in the outbox are dropped by the relay (`corrections.as_corrected` reads
  which are closed). One `disclosure:withheld` entry per agreement counts what did not leave.
- corrected: every stored payload of the arrest (queued, and kept for re-reads of delivered
  items) is projected again from the corrected record under its own agreement; a queued item
  the agreement no longer carries is withheld, a delivered one loses its payload. Events still
  in the outbox are projected as corrected by the relay (`corrections.as_corrected`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pars.domain.arrest import Arrest
from pars.services.app import Pars
from pars.services.delivery.disclosure import withheld as withheld_entry
from pars.services.views import full_record
from pars.sharing.projection import project_record
from pars.store.relay import RECALL_EVENT
from pars.store.tables import deliveries
from pars.store.uow import SqlUnitOfWork

__all__ = ["LIFECYCLE_EVENTS", "on_closed", "on_corrected"]

# What a sealed or expunged arrest may still emit: the news of its own end (identifiers only).
LIFECYCLE_EVENTS = frozenset({"pars.record.sealed", "pars.record.expunged"})


def _audit_counts(
    uow: SqlUnitOfWork, counts: dict[tuple[str, str, int], int], reason: str, arrest_id: str
) -> None:
    for (partner_id, agreement_id, version), count in sorted(counts.items()):
        uow.audit(
            withheld_entry(
                "lifecycle", partner_id, (agreement_id, version), count, reason, record=arrest_id
            )
        )


def on_closed(uow: SqlUnitOfWork, arrest: Arrest, now: datetime) -> int:
    """Withhold every queued copy of a just sealed or expunged `arrest` and destroy the stored
    payloads of its delivered items; returns how many queued items were withheld."""
    reason = f"record {arrest.state.value}"
    mine = sa.and_(deliveries.c.subject == arrest.id, deliveries.c.event_type != RECALL_EVENT)
    queued = uow.conn.execute(
        sa.select(
            deliveries.c.id,
            deliveries.c.partner_id,
            deliveries.c.agreement_id,
            deliveries.c.agreement_version,
        ).where(mine, deliveries.c.status == "queued")
    ).all()
    counts: dict[tuple[str, str, int], int] = {}
    for _, partner_id, agreement_id, version in queued:
        key = (partner_id, agreement_id, version)
        counts[key] = counts.get(key, 0) + 1
    if queued:
        uow.conn.execute(
            sa.update(deliveries)
            .where(mine, deliveries.c.status == "queued")
            .values(status="withheld", payload=sa.null(), withheld_at=now, withheld_reason=reason)
        )
    # What left once is not withheld, but it is never served again either.
    uow.conn.execute(
        sa.update(deliveries)
        .where(mine, deliveries.c.status != "queued", deliveries.c.payload.is_not(None))
        .values(payload=sa.null())
    )
    _audit_counts(uow, counts, reason, arrest.id)
    return len(queued)


def on_corrected(pars: Pars, uow: SqlUnitOfWork, arrest: Arrest, now: datetime) -> int:
    """Project every stored copy of `arrest` again from the corrected record; returns how many
    were replaced. A queued copy the agreement no longer carries at all is withheld; a copy
    kept for re-reads of a delivered item loses its payload (it left once: not withheld)."""
    rows = uow.conn.execute(
        sa.select(deliveries).where(
            deliveries.c.subject == arrest.id,
            deliveries.c.payload.is_not(None),
            deliveries.c.event_type != RECALL_EVENT,
        )
    ).mappings()
    record = full_record(arrest)
    replaced = 0
    dropped: dict[tuple[str, str, int], int] = {}
    for row in list(rows):
        agreement = uow.sharing.get(row["agreement_id"], row["agreement_version"])
        payload: dict[str, Any] | None = dict(row["payload"]) if row["payload"] else None
        data = (
            None
            if agreement is None or payload is None
            else project_record(agreement, record, now, pars.policy)
        )
        if (data is None or payload is None) and row["status"] != "queued":
            uow.conn.execute(
                sa.update(deliveries).where(deliveries.c.id == row["id"]).values(payload=sa.null())
            )
            continue
        if data is None or payload is None:
            uow.conn.execute(
                sa.update(deliveries)
                .where(deliveries.c.id == row["id"])
                .values(
                    status="withheld",
                    payload=sa.null(),
                    withheld_at=now,
                    withheld_reason="record corrected",
                )
            )
            key = (row["partner_id"], row["agreement_id"], row["agreement_version"])
            dropped[key] = dropped.get(key, 0) + 1
            continue
        payload["data"] = data
        uow.conn.execute(
            sa.update(deliveries).where(deliveries.c.id == row["id"]).values(payload=payload)
        )
        replaced += 1
    _audit_counts(uow, dropped, "record corrected", arrest.id)
    return replaced
