"""Read-only queries behind the supervisor's operations dashboard: arrests in a window, the
open cases that have waited longest, queue lengths and per-partner delivery times.

Counts are made in the database; only the rows a figure needs (an arrest's time and its
arrest-to-arraignment minutes, a delivery's two instants) are read, never whole documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pars.store.identity_tables import identity_decisions
from pars.store.tables import arrests, deliveries, outbox, partners, quarantine

__all__ = [
    "arraignment_minutes",
    "arrest_times",
    "delivery_times",
    "oldest_open",
    "partner_names",
    "queue_counts",
    "waiting_deliveries",
]

_MINUTES = arrests.c.document[("document", "arraignment", "arrest_to_arraignment_minutes")]


def arrest_times(conn: sa.Connection, since: datetime, exclude: Sequence[str]) -> list[datetime]:
    """When each arrest made at or after `since` happened (states in `exclude` left out)."""
    q = sa.select(arrests.c.arrested_at).where(
        arrests.c.arrested_at >= since, arrests.c.state.not_in(exclude)
    )
    return [r[0] for r in conn.execute(q)]


def arraignment_minutes(conn: sa.Connection, since: datetime) -> list[float]:
    """Arrest-to-arraignment minutes of every arrest made at or after `since` that has been
    arraigned (the aggregate wrote the figure when the magistrate decided)."""
    value = _MINUTES.as_float()
    q = sa.select(value).where(arrests.c.arrested_at >= since, value.is_not(None))
    return [float(r[0]) for r in conn.execute(q)]


def oldest_open(conn: sa.Connection, states: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """The `limit` arrests in `states` arrested longest ago, oldest first."""
    q = (
        sa.select(
            arrests.c.id, arrests.c.otn, arrests.c.state, arrests.c.district, arrests.c.arrested_at
        )
        .where(arrests.c.state.in_(states))
        .order_by(arrests.c.arrested_at, arrests.c.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def queue_counts(
    conn: sa.Connection, queues: dict[str, Sequence[str]], closed: Sequence[str]
) -> dict[str, int]:
    """How many arrests are in each named set of states, how many are held in custody (states
    in `closed` left out), how many identity reviews are open, how many delivery items wait and
    how many are quarantined."""
    grouped = sa.select(arrests.c.state, sa.func.count()).group_by(arrests.c.state)
    by_state: dict[str, int] = {str(s): int(n) for s, n in conn.execute(grouped)}
    counts = {name: sum(by_state.get(s, 0) for s in states) for name, states in queues.items()}
    counts["held"] = int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(arrests)
            .where(arrests.c.custody == "held", arrests.c.state.not_in(closed))
        ).scalar_one()
    )
    counts["identification"] = int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(identity_decisions)
            .where(identity_decisions.c.status == "open")
        ).scalar_one()
    )
    counts["deliveries"] = int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(deliveries)
            .where(deliveries.c.status == "queued")
        ).scalar_one()
    )
    counts["quarantine"] = int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(quarantine)
            .where(quarantine.c.resolved_at.is_(None))
        ).scalar_one()
    )
    return counts


def delivery_times(conn: sa.Connection, since: datetime) -> list[tuple[str, datetime, datetime]]:
    """(partner id, event time, delivered at) of each item delivered at or after `since`."""
    q = (
        sa.select(deliveries.c.partner_id, outbox.c.time, deliveries.c.delivered_at)
        .join(outbox, outbox.c.seq == deliveries.c.outbox_seq)
        .where(deliveries.c.status == "delivered", deliveries.c.delivered_at >= since)
    )
    return [(str(p), t, d) for p, t, d in conn.execute(q)]


def waiting_deliveries(conn: sa.Connection) -> list[tuple[str, int, datetime | None]]:
    """(partner id, items queued, the oldest queued item's event time) per partner."""
    q = (
        sa.select(deliveries.c.partner_id, sa.func.count(), sa.func.min(outbox.c.time))
        .join(outbox, outbox.c.seq == deliveries.c.outbox_seq)
        .where(deliveries.c.status == "queued")
        .group_by(deliveries.c.partner_id)
    )
    return [(str(p), int(n), t) for p, n, t in conn.execute(q)]


def partner_names(conn: sa.Connection) -> dict[str, str]:
    return {str(i): str(n) for i, n in conn.execute(sa.select(partners.c.id, partners.c.name))}
