"""The partner's HTTP feed: pages of its queued deliveries, each checked against its agreement
and the current policy at the moment it is served. What may no longer leave is withheld."""

from __future__ import annotations

import hashlib
from typing import Any

from pars.domain.errors import Unauthenticated
from pars.services.app import Pars
from pars.services.delivery.disclosure import disclosure, partner_actor, with_receipt
from pars.services.delivery.disclosure import withheld as withheld_entry
from pars.services.delivery.in_force import in_force_reason
from pars.sharing.agreements import Agreement
from pars.sharing.projection import compile_projector
from pars.store.relay import RECALL_EVENT

__all__ = ["Partner", "authenticate_partner", "feed_page"]

Partner = dict[str, Any]


def authenticate_partner(pars: Pars, key: str) -> Partner:
    """The partner holding this API key; Unauthenticated if it is unknown or revoked."""
    with pars.reader() as uow:
        partner = uow.sharing.partner_by_key(hashlib.sha256(key.encode()).hexdigest())
    if partner is None:
        raise Unauthenticated("unknown or revoked partner key")
    return partner


def feed_page(pars: Pars, partner: Partner, after: int, limit: int) -> dict[str, Any]:
    """Up to `limit` CloudEvents after the cursor `after`, in order, and the cursor to go on
    from. Items are marked delivered (and audited) before the response leaves."""
    served, next_cursor = serve(pars, partner, after, limit, "feed")
    return {"items": [payload for _, payload in served], "next_cursor": str(next_cursor)}


def serve(
    pars: Pars, partner: Partner, after: int, limit: int, transport: str
) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """(cursor, CloudEvent) pairs after `after`, and the cursor after the last row looked at
    (withheld rows included, so the partner moves past them)."""
    now = pars.clock.now()
    with pars.reader() as reader:
        if not reader.deliveries.page(partner["id"], after, 1):
            return [], after  # nothing new (an idle poll): no write transaction, no write lock
    with pars.uow() as uow:
        rows = uow.deliveries.page(partner["id"], after, limit)
        agreements: dict[tuple[str, int], Agreement | None] = {}
        items: list[tuple[int, dict[str, Any], bytes]] = []
        served: list[int] = []
        withheld: dict[tuple[str, str, int], list[int]] = {}
        for row in rows:
            key = (row["agreement_id"], row["agreement_version"])
            if key not in agreements:
                agreements[key] = uow.sharing.get(*key)
            agreement = agreements[key]
            recall = row["event_type"] == RECALL_EVENT  # goes whatever the agreement's term
            reason = None if recall else in_force_reason(agreement, pars, now)
            again = row["status"] == "delivered"  # a re-read from an older cursor
            if reason is not None or agreement is None or row["payload"] is None:
                if not again:  # an item that left once is never counted as withheld
                    withheld.setdefault((reason or "no payload", *key), []).append(row["id"])
                continue
            payload = dict(row["payload"])
            # The policy may have tightened since the item was queued: filter again.
            if not recall:
                payload["data"] = compile_projector(agreement, pars.policy).apply(payload["data"])
            # Write-ahead: the disclosure is on the log in this transaction, before it leaves.
            # Served again, it leaves again: a disclosure, but not a new item.
            entry, salt = disclosure(
                "disclosure:redelivered" if again else "disclosure:delivered",
                partner,
                agreement,
                row["subject"],
                payload,
                payload["data"],
                {"delivery": row["id"], "event": row["event_id"], "transport": transport},
            )
            uow.audit(entry)
            items.append((row["id"], payload, salt))
            served.append(row["id"])
        uow.deliveries.mark_delivered(served, now)
        for (reason, agreement_id, version), ids in withheld.items():
            count = uow.deliveries.withhold(ids, reason, now)
            if not count:
                continue
            uow.audit(
                withheld_entry(
                    partner_actor(partner),
                    partner["id"],
                    (agreement_id, version),
                    count,
                    reason,
                    first=ids[0],
                    last=ids[-1],
                )
            )
        uow.commit()
        leaves = uow.leaves
    # The served items' entries were queued first, so they hold the first leaves.
    receipts = [
        (cursor, with_receipt(payload, leaf, salt))
        for (cursor, payload, salt), leaf in zip(items, leaves[: len(items)], strict=True)
    ]
    return receipts, (rows[-1]["id"] if rows else after)
