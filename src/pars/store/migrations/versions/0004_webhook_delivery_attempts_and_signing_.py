"""webhook delivery attempts and signing secrets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pars.store.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("transport", sa.String(length=12), server_default="feed", nullable=False)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=300), nullable=True))

    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_secret", sa.LargeBinary(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("transport")
