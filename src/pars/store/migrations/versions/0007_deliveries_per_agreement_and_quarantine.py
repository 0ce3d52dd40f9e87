"""deliveries per agreement, and the quarantine of items the relay could not process

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pars.store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deliveries_partner_id_event_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deliveries_agreement_id_event_id", ["agreement_id", "event_id"]
        )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("outbox_seq", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("partner_id", sa.String(length=36), nullable=True),
        sa.Column("agreement_id", sa.String(length=36), nullable=True),
        sa.Column("agreement_version", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=120), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_partner_id", ["partner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_partner_id")
    op.drop_table("quarantine")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deliveries_agreement_id_event_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deliveries_partner_id_event_id", ["partner_id", "event_id"]
        )
