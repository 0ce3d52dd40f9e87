"""The statements of the relay's view of the outbox and of the delivery queue
(`pars.store.relay`) that run on every batch and every feed round: built once, so that
SQLAlchemy finds them compiled and psycopg prepared, their parameters passed as values
(arrays on PostgreSQL, whatever their number)."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pars.store.bulk import one_of_array
from pars.store.tables import deliveries, outbox, relay_state

__all__ = [
    "HAS_PENDING",
    "MARK_DELIVERED",
    "NEXT_BATCH",
    "PAGES_AT_ONCE",
    "RELAY",
    "SET_CURSOR",
    "feed_items",
    "pages_by_arrays",
    "pages_statement",
]

RELAY = "outbox"  # the relay's row in relay_state


def _position() -> sa.ScalarSelect[Any]:
    return sa.select(relay_state.c.last_seq).where(relay_state.c.name == RELAY).scalar_subquery()


HAS_PENDING = sa.select(sa.exists().where(outbox.c.seq > sa.func.coalesce(_position(), 0)))
SET_CURSOR = (
    sa.update(relay_state)
    .where(relay_state.c.name == RELAY)
    .values(last_seq=sa.bindparam("last_seq", type_=sa.Integer))
)


def _next_batch_statement() -> sa.Select[Any]:
    """PostgreSQL: the relay's position, locked, and the outbox rows after it (see
    `DeliveryRepository.next_batch`)."""
    after = (
        sa.select(outbox)
        .where(outbox.c.seq > relay_state.c.last_seq)
        .order_by(outbox.c.seq)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .lateral("after")
    )
    return (
        sa.select(relay_state.c.last_seq.label("relay_position"), after)
        .select_from(relay_state.outerjoin(after, sa.true()))
        .where(relay_state.c.name == RELAY)
        .order_by(after.c.seq)
        .with_for_update(of=relay_state)
    )


NEXT_BATCH = _next_batch_statement()
MARK_DELIVERED = (
    sa.update(deliveries)
    .where(
        one_of_array(deliveries.c.id, "ids"),
        deliveries.c.status == "queued",
    )
    .values(
        status="delivered", delivered_at=sa.bindparam("now", type_=deliveries.c.delivered_at.type)
    )
)

PAGES_AT_ONCE = 50  # asks per statement of `pages`


def feed_items(partner_id: Any, after: Any) -> tuple[sa.ColumnElement[bool], ...]:
    """What a partner's feed page holds: its feed items after the cursor `after`, queued or
    delivered (a re-read from an older cursor). One definition for every way a page is read."""
    return (
        deliveries.c.partner_id == partner_id,
        deliveries.c.id > after,
        deliveries.c.transport == "feed",
        deliveries.c.status.in_(("queued", "delivered")),
    )


def _chosen(columns: tuple[str, ...]) -> list[sa.Column[Any]]:
    """The columns a page reads (every one if none are named), its cursor `id` always."""
    chosen = [deliveries.c[name] for name in columns] if columns else list(deliveries.c)
    if "id" not in {c.name for c in chosen}:
        chosen.append(deliveries.c.id)
    return chosen


@functools.cache
def pages_statement(n: int, columns: tuple[str, ...]) -> sa.CompoundSelect[Any] | sa.Select[Any]:
    """`n` feed pages in one statement: ask i's rows (its partner's feed items after its
    cursor, in order, at most its limit) with `ask` = i. Built once per shape, so that
    SQLAlchemy and the driver find it compiled and prepared."""
    chosen = _chosen(columns)
    parts = []
    for i in range(n):
        page = (
            sa.select(sa.literal(i, sa.Integer).label("ask"), *chosen)
            .where(*feed_items(sa.bindparam(f"p{i}"), sa.bindparam(f"a{i}")))
            .order_by(deliveries.c.id)
            .limit(sa.bindparam(f"l{i}"))
            .subquery(f"page{i}")
        )
        parts.append(sa.select(page))
    return parts[0] if n == 1 else sa.union_all(*parts)


@functools.cache
def pages_by_arrays(columns: tuple[str, ...]) -> sa.Select[Any]:
    """PostgreSQL: the feed pages of the asks (partner i, after i, limit i), given as three
    arrays, with `ask` = i (from 1), each page in order. Built once per set of columns."""
    chosen = _chosen(columns)
    arrays = (
        sa.bindparam("partners", type_=postgresql.ARRAY(deliveries.c.partner_id.type)),
        sa.bindparam("afters", type_=postgresql.ARRAY(deliveries.c.id.type)),
        sa.bindparam("limits", type_=postgresql.ARRAY(sa.Integer)),
    )
    asks = (
        sa.func.unnest(*arrays)
        .table_valued("partner_id", "after", "size", with_ordinality="ask")
        .render_derived(name="asks")
    )
    page = (
        sa.select(*chosen)
        .where(*feed_items(asks.c.partner_id, asks.c.after))
        .order_by(deliveries.c.id)
        .limit(asks.c.size)
        .lateral("page")
    )
    return (
        sa.select(asks.c.ask, *[page.c[c.name] for c in chosen])
        .select_from(asks.join(page, sa.true()))
        .order_by(asks.c.ask, page.c.id)
    )
