"""The operational figures that `/metrics` serves, read in one short transaction: how far the
relay is behind, what the delivery queues hold per partner, the disclosure log's size and the
age of its newest checkpoint, and the identity review queue. Counts and ages only: no record,
no name of a person, no secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from pars.store.identity_tables import identity_decisions
from pars.store.tables import (
    audit_checkpoints,
    audit_head,
    deliveries,
    outbox,
    partners,
    quarantine,
    relay_state,
    users,
)

__all__ = ["OpsFigures", "read_figures"]

_RELAY = "outbox"  # relay_state's row for the outbox cursor (store/relay.py)


@dataclass(frozen=True)
class OpsFigures:
    outbox_depth: int  # events committed and not yet relayed
    relay_lag_seconds: float  # age of the oldest of them; 0 when none waits
    deliveries: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # (partner name, transport, status) -> items
    quarantined: dict[str, int] = field(default_factory=dict)  # stage -> unresolved items
    log_size: int = 0
    checkpoint_size: int | None = None  # the newest checkpoint's tree size
    checkpoint_age_seconds: float | None = None
    identity_queue: dict[str, int] = field(default_factory=dict)  # kind -> open review items
    accounts_locked: int = 0


def read_figures(conn: sa.Connection, now: datetime) -> OpsFigures:
    cursor = conn.execute(
        sa.select(relay_state.c.last_seq).where(relay_state.c.name == _RELAY)
    ).scalar()
    waiting = outbox.c.seq > (cursor or 0)
    depth, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(outbox.c.time)).where(waiting)
    ).one()
    per_partner = conn.execute(
        sa.select(partners.c.name, deliveries.c.transport, deliveries.c.status, sa.func.count())
        .join(partners, partners.c.id == deliveries.c.partner_id)
        .group_by(partners.c.name, deliveries.c.transport, deliveries.c.status)
    ).all()
    stuck = conn.execute(
        sa.select(quarantine.c.stage, sa.func.count())
        .where(quarantine.c.resolved_at.is_(None))
        .group_by(quarantine.c.stage)
    ).all()
    size = conn.execute(sa.select(audit_head.c.size)).scalar()
    newest = conn.execute(
        sa.select(audit_checkpoints.c.size, audit_checkpoints.c.at)
        .order_by(audit_checkpoints.c.id.desc())
        .limit(1)
    ).first()
    review = conn.execute(
        sa.select(identity_decisions.c.kind, sa.func.count())
        .where(identity_decisions.c.status == "open")
        .group_by(identity_decisions.c.kind)
    ).all()
    locked = conn.execute(sa.select(sa.func.count()).where(users.c.locked_until > now)).scalar_one()
    return OpsFigures(
        outbox_depth=int(depth),
        relay_lag_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        deliveries={(str(n), str(t), str(s)): int(c) for n, t, s, c in per_partner},
        quarantined={str(stage): int(c) for stage, c in stuck},
        log_size=int(size or 0),
        checkpoint_size=int(newest.size) if newest else None,
        checkpoint_age_seconds=(now - newest.at).total_seconds() if newest else None,
        identity_queue={str(kind): int(c) for kind, c in review},
        accounts_locked=int(locked),
    )
