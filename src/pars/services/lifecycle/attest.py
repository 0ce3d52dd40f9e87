"""Acknowledgement and attestation of recall notices (issue 12 items 3 and 4).

A notice is acknowledged when its delivery is (the feed serving it, a 2xx to the webhook, a NATS
ack: the deliveries machinery marks it `delivered`, and resends push notices with backoff until
then). The partner then attests that it destroyed or restricted its copies:
`POST /api/v1/feed/recalls/{id}/attestation`, a `recall:attested` log entry with when and by whom
on its side. A notice not attested `PARS_RECALL_ATTESTATION_DAYS` after it was sent is overdue.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pars.domain.errors import Conflict, InvalidInput, NotFound
from pars.services.agreements import READ_ROLES
from pars.services.app import Pars, Principal
from pars.services.auth import require_role
from pars.services.delivery.disclosure import partner_actor
from pars.store.relay import RECALL_EVENT
from pars.store.tables import audit_log, deliveries
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = ["attest", "by_digest", "partner_recalls", "recall_rows"]


_BY_KEY_LABEL = b"pars:audit:recall-attested-by"


def by_digest(pars: Pars, by: str) -> str:
    """`key-id:hex`, a keyed hash (HMAC-SHA-256) of who attested, for the log entry."""
    kid, key = pars.keys.derived_keys(_BY_KEY_LABEL)[0]
    return f"{kid}:{hmac.new(key, by.encode(), hashlib.sha256).hexdigest()[:32]}"


def _attestations(uow: SqlUnitOfWork, partner_id: str | None) -> dict[str, dict[str, Any]]:
    q = sa.select(audit_log.c.subject, audit_log.c.details, audit_log.c.at).where(
        audit_log.c.action == "recall:attested"
    )
    if partner_id is not None:
        q = q.where(audit_log.c.subject == partner_id)
    out: dict[str, dict[str, Any]] = {}
    for _, details, at in uow.conn.execute(q):
        out[str(details["recall"])] = {**details, "logged_at": at}
    return out


def recall_rows(uow: SqlUnitOfWork, pars: Pars, partner_id: str | None) -> list[dict[str, Any]]:
    """Every recall notice (of one partner, or all), oldest first, with its state: `sent`,
    `acknowledged`, `attested` or `overdue` (sent or acknowledged, unattested past the
    deadline). Metadata only."""
    q = sa.select(deliveries).where(deliveries.c.event_type == RECALL_EVENT)
    if partner_id is not None:
        q = q.where(deliveries.c.partner_id == partner_id)
    attested = _attestations(uow, partner_id)
    deadline = timedelta(days=pars.settings.recall_attestation_days)
    now = pars.clock.now()
    out = []
    for row in uow.conn.execute(q.order_by(deliveries.c.id)).mappings():
        recall = row["event_id"]
        data = (row["payload"] or {}).get("data", {})
        if recall in attested:
            state = "attested"
        elif row["created_at"] + deadline <= now:
            state = "overdue"
        elif row["status"] == "delivered":
            state = "acknowledged"
        else:
            state = "sent"
        a = attested.get(recall)
        out.append(
            {
                "id": recall,
                "partner_id": row["partner_id"],
                "agreement": f"{row['agreement_id']}/v{row['agreement_version']}",
                "arrest_id": row["subject"],
                "happened": data.get("happened"),
                "action": data.get("action"),
                "transport": row["transport"],
                "state": state,
                "sent_at": row["created_at"],
                "acknowledged_at": row["delivered_at"],
                "due_at": row["created_at"] + deadline,
                "attested_at": a["attested_at"] if a else None,
                "attested_by": row["attested_by"] if a else None,
            }
        )
    return out


def _text(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def partner_recalls(pars: Pars, who: Principal, partner_id: str | None) -> list[dict[str, Any]]:
    """For the privacy officer (and auditors): the recalls of one partner, or all."""
    require_role(pars, who, READ_ROLES, "read recalls")
    with pars.reader() as uow:
        if partner_id is not None and uow.sharing.partner(partner_id) is None:
            raise NotFound("no such partner")
        return [_text(r) for r in recall_rows(uow, pars, partner_id)]


def attest(
    pars: Pars, partner: dict[str, Any], recall_id: str, attested_at: datetime, by: str, done: str
) -> dict[str, Any]:
    """The partner attests it carried out recall `recall_id` (`done`: destroyed, restricted or
    replaced) at `attested_at`, by `by` on its side. NotFound for a recall not addressed to it;
    Conflict if already attested."""
    now = pars.clock.now()
    if attested_at > now + timedelta(minutes=5):
        raise InvalidInput.one("/attested_at", "an attestation is of something already done")
    with pars.uow() as uow:
        row = (
            uow.conn.execute(
                sa.select(deliveries).where(
                    deliveries.c.event_id == recall_id,
                    deliveries.c.event_type == RECALL_EVENT,
                    deliveries.c.partner_id == partner["id"],
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("no such recall")
        if recall_id in _attestations(uow, partner["id"]):
            raise Conflict("this recall is already attested")
        # Who, in the partner's words, is free text: kept on the recall's row (erasable), and
        # in the log only as a keyed hash, which checks a name given later.
        uow.conn.execute(
            sa.update(deliveries).where(deliveries.c.id == row["id"]).values(attested_by=by)
        )
        details = {"recall": recall_id, "attested_at": attested_at.isoformat(),
                   "by_hmac": by_digest(pars, by), "done": done}  # fmt: skip
        uow.audit(
            AuditEntry(
                partner_actor(partner),
                "recall:attested",
                "success",
                "partner",
                partner["id"],
                details,
                agreement_id=row["agreement_id"],
                agreement_version=row["agreement_version"],
                record_id=row["subject"],
            )
        )
        uow.commit()
    return {"id": recall_id, "state": "attested", **details, "by": by}
