"""The partner's HTTP feed: pages of its queued deliveries, each checked against its agreement
and the current policy at the moment it is served. What may no longer leave is withheld."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pars.domain.errors import Unauthenticated
from pars.services.app import Pars
from pars.services.delivery.disclosure import disclosure, partner_actor, with_receipt
from pars.services.delivery.disclosure import withheld as withheld_entry
from pars.services.delivery.in_force import in_force_reason
from pars.sharing.agreements import Agreement
from pars.sharing.projection import compile_projector
from pars.store.relay import RECALL_EVENT
from pars.store.uow import SqlUnitOfWork

__all__ = [
    "Ask",
    "Partner",
    "Served",
    "authenticate_partner",
    "authenticate_partners",
    "feed_page",
    "page_of",
    "serve",
    "serve_round",
]

Partner = dict[str, Any]


def authenticate_partner(pars: Pars, key: str) -> Partner:
    """The partner holding this API key; Unauthenticated if it is unknown or revoked."""
    partner = authenticate_partners(pars, [key])[0]
    if partner is None:
        raise Unauthenticated("unknown or revoked partner key")
    return partner


def authenticate_partners(pars: Pars, keys: Sequence[str]) -> list[Partner | None]:
    """The partner holding each API key, in order; None for a key unknown or revoked. Read on
    every request (a revocation in any process refuses the key from the next request on): the
    keys of requests that arrive together (ten partners' long-polls re-asking after the same
    event) in one statement, without BEGIN and COMMIT."""
    hashes = [hashlib.sha256(key.encode()).hexdigest() for key in keys]
    with pars.reader().without_snapshot() as uow:
        found = uow.sharing.partners_by_keys(hashes)
    return [found.get(h) for h in hashes]


def feed_page(pars: Pars, partner: Partner, after: int, limit: int) -> dict[str, Any]:
    """Up to `limit` CloudEvents after the cursor `after`, in order, and the cursor to go on
    from. Items are marked delivered (and audited) before the response leaves."""
    return page_of(*serve(pars, partner, after, limit, "feed"))


def page_of(served: list[tuple[int, dict[str, Any]]], next_cursor: int) -> dict[str, Any]:
    """The feed's answer for what `serve` served."""
    return {"items": [payload for _, payload in served], "next_cursor": str(next_cursor)}


@dataclass(frozen=True)
class Ask:
    """One partner's request for its queued deliveries: after the cursor `after`, at most
    `limit`, by `transport` ("feed" or "sse", as its log entries say). `woken`: asked because
    the relay queued something (a hint that the page is likely not empty)."""

    partner: Partner
    after: int
    limit: int
    transport: str
    woken: bool = False


# (cursor, CloudEvent) pairs, and the cursor after the last row looked at (withheld rows
# included, so the partner moves past them).
Served = tuple[list[tuple[int, dict[str, Any]]], int]


def serve(pars: Pars, partner: Partner, after: int, limit: int, transport: str) -> Served:
    """One partner's page: `serve_round` of one ask."""
    return serve_round(pars, [Ask(partner, after, limit, transport)])[0]


def serve_round(pars: Pars, asks: Sequence[Ask]) -> list[Served]:
    """Serve several asks (the feed's polls and streams woken by the same queueing) in one
    write transaction: each ask exactly as if served alone, one after the other, but one
    commit and one append to the disclosure log for them all, and one statement for all their
    pages, so that the tenth partner does not wait for nine. Asks with nothing new after their
    cursor take no write lock."""
    now = pars.clock.now()
    results: list[Served] = [([], ask.after) for ask in asks]
    if any(ask.woken for ask in asks) and pars.engine.dialect.name == "postgresql":
        # Woken by a queueing, so something is likely due: no look first. On PostgreSQL a
        # write transaction that finds nothing only costs its BEGIN and COMMIT (and takes no
        # lock); on SQLite it would take the write lock, so the look stays.
        due = list(range(len(asks)))
    else:
        with pars.reader().without_snapshot() as reader:  # one statement: no BEGIN, no COMMIT
            heads = reader.deliveries.pages(
                [(ask.partner["id"], ask.after, 1) for ask in asks], columns=("id",)
            )
        due = [i for i, head in enumerate(heads) if head]
        if not due:
            return results  # idle polls: no write transaction, no write lock
    # A partner's first ask reads its page with the others; a second ask of the same partner
    # (two streams) is served after it, so that it sees what the first one marked delivered.
    seen: set[str] = set()
    firsts: list[int] = []
    repeats: list[int] = []
    for i in due:
        (repeats if asks[i].partner["id"] in seen else firsts).append(i)
        seen.add(asks[i].partner["id"])
    pending: dict[int, tuple[list[_Item], int]] = {}
    with pars.uow() as uow:
        pages = uow.deliveries.pages(
            [(asks[i].partner["id"], asks[i].after, asks[i].limit) for i in firsts]
        )
        keys = {(r["agreement_id"], r["agreement_version"]) for page in pages for r in page}
        found = uow.sharing.get_many(keys)
        agreements: dict[tuple[str, int], Agreement | None] = {k: found.get(k) for k in keys}
        delivered: list[int] = []
        for i, rows in zip(firsts, pages, strict=True):
            pending[i] = _serve_rows(pars, uow, asks[i], rows, agreements, now)
            delivered += [row_id for row_id, *_ in pending[i][0]]
        uow.deliveries.mark_delivered(delivered, now)
        for i in repeats:
            rows = uow.deliveries.page(asks[i].partner["id"], asks[i].after, asks[i].limit)
            for row in rows:
                key = (row["agreement_id"], row["agreement_version"])
                if key not in agreements:
                    agreements[key] = uow.sharing.get(*key)
            pending[i] = _serve_rows(pars, uow, asks[i], rows, agreements, now)
            uow.deliveries.mark_delivered([row_id for row_id, *_ in pending[i][0]], now)
        uow.commit()
        leaves = uow.leaves
    for i, (items, cursor) in pending.items():
        results[i] = (
            [
                (row_id, with_receipt(payload, leaves[mark], salt))
                for row_id, payload, salt, mark in items
            ],
            cursor,
        )
    return results


# A served item: its cursor (delivery id), the CloudEvent, its payload hash's salt, and the
# position of its log entry in the round's appends.
_Item = tuple[int, dict[str, Any], bytes, int]


def _serve_rows(
    pars: Pars,
    uow: SqlUnitOfWork,
    ask: Ask,
    rows: list[dict[str, Any]],
    agreements: dict[tuple[str, int], Agreement | None],
    now: datetime,
) -> tuple[list[_Item], int]:
    """One ask's page inside the round's transaction: its items with their write-ahead log
    entries queued, what may no longer leave withheld, and the cursor to go on from. The
    caller marks the items delivered."""
    partner = ask.partner
    items: list[_Item] = []
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
            {"delivery": row["id"], "event": row["event_id"], "transport": ask.transport},
        )
        items.append((row["id"], payload, salt, uow.audit_mark()))
        uow.audit(entry)
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
    return items, (rows[-1]["id"] if rows else ask.after)
