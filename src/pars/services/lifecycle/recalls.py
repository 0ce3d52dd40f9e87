"""Recall notices (issue 12 item 2): when an arrest is sealed, expunged or corrected, every
partner that ever received any part of it (known from the disclosure log, not from today's
agreements) gets a notice through the transport of the agreement it received it under, even if
that agreement has ended: a recall discloses nothing new.

A notice is a delivery row of event type `pars.record.recall`, a CloudEvent like the others,
whose data carries no personal data: what happened, the identifiers the partner already holds
(arrest id, OTN, the log indexes of its receipts) and what it must do. Each notice is a log
entry `recall:sent`, written in the handler's own transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from pars.domain.arrest import Arrest
from pars.services.app import Pars
from pars.sharing.projection import AGREEMENT_ATTRIBUTE
from pars.store.relay import RECALL_EVENT
from pars.store.tables import audit_log
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = ["RECALL_EVENT", "send_recalls"]

# What each change asks of the partner.
_TODO = {"sealed": "restrict", "expunged": "destroy", "corrected": "replace"}
_RECEIVED = ("disclosure:delivered", "disclosure:redelivered", "disclosure:lookup")


def _recipients(uow: SqlUnitOfWork, arrest_id: str) -> dict[tuple[str, str, int], list[int]]:
    """(partner, agreement, version) -> the leaf indexes of the entries of what it received."""
    q = (
        sa.select(
            audit_log.c.subject,
            audit_log.c.agreement_id,
            audit_log.c.agreement_version,
            audit_log.c.leaf_index,
            audit_log.c.id,
        )
        .where(audit_log.c.record_id == arrest_id, audit_log.c.action.in_(_RECEIVED))
        .order_by(audit_log.c.id)
    )
    out: dict[tuple[str, str, int], list[int]] = {}
    for partner_id, agreement_id, version, leaf, _ in uow.conn.execute(q):
        if partner_id is None or agreement_id is None:
            continue
        leaves = out.setdefault((partner_id, agreement_id, int(version)), [])
        if leaf is not None:
            leaves.append(int(leaf))
    return out


def send_recalls(pars: Pars, uow: SqlUnitOfWork, arrest: Arrest, what: str, now: datetime) -> int:
    """Queue a recall notice for every past recipient of `arrest`; returns how many."""
    recipients = _recipients(uow, arrest.id)
    rows: list[dict[str, Any]] = []
    for (partner_id, agreement_id, version), leaves in sorted(recipients.items()):
        agreement = uow.sharing.get(agreement_id, version)
        transport = agreement.transport.value if agreement is not None else "feed"
        event_id = str(uuid.uuid4())
        payload = {
            "specversion": "1.0",
            "id": event_id,
            "source": "/pars/lifecycle",
            "type": RECALL_EVENT,
            "subject": arrest.id,
            "time": now.astimezone(UTC).isoformat(),
            "datacontenttype": "application/json",
            AGREEMENT_ATTRIBUTE: f"{agreement_id}/v{version}",
            "data": {
                "recall": event_id,
                "happened": what,
                "action": _TODO[what],
                "arrest_id": arrest.id,
                "otn": arrest.otn,
                "receipts": [str(i) for i in leaves],
            },
        }
        rows.append(
            {
                "partner_id": partner_id,
                "agreement_id": agreement_id,
                "agreement_version": version,
                "event_id": event_id,
                "outbox_seq": 0,
                "event_type": RECALL_EVENT,
                "subject": arrest.id,
                "created_at": now,
                "transport": transport,
                "status": "queued",
                "payload": payload,
                "next_attempt_at": None if transport == "feed" else now,
            }
        )
        uow.audit(
            AuditEntry(
                "lifecycle",
                "recall:sent",
                "success",
                "partner",
                partner_id,
                {"recall": event_id, "happened": what, "transport": transport},
                agreement_id=agreement_id,
                agreement_version=version,
                record_id=arrest.id,
            )
        )
    if rows:
        uow.deliveries.enqueue(rows)  # feeds and streams wake at COMMIT, in every process
    return len(rows)
