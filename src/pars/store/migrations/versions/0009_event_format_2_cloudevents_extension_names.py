"""event format 2: CloudEvents extension names in the queued deliveries' payloads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

A delivery's payload is the projected CloudEvent, stored when the relay queues it and served
(again, for re-reads from an older cursor) from the table. Its `pars_agreement` attribute, a name
CloudEvents 1.0 does not allow, becomes `parsagreement`, so that what is queued before the upgrade
leaves in the new format. The receipt attributes are added when an item is sent, never stored.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from pars.store.tables import JSONDoc

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BATCH = 1000
_deliveries = sa.table("deliveries", sa.column("id", sa.Integer), sa.column("payload", JSONDoc))


def _rename(old: str, new: str) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(_deliveries.c.id, _deliveries.c.payload)
            .where(_deliveries.c.id > last, _deliveries.c.payload.is_not(None))
            .order_by(_deliveries.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for row_id, payload in rows:
            if isinstance(payload, dict) and old in payload:
                renamed: dict[str, Any] = {new if k == old else k: v for k, v in payload.items()}
                conn.execute(
                    sa.update(_deliveries).where(_deliveries.c.id == row_id).values(payload=renamed)
                )
        last = rows[-1][0]


def upgrade() -> None:
    _rename("pars_agreement", "parsagreement")


def downgrade() -> None:
    _rename("parsagreement", "pars_agreement")
