"""identity decisions: an index on the pair of persons

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

`pars identity dedupe` skips the person pairs already open on the review queue. The table was
indexed only on status and arrest id, so each check read every open item; the batch now reads
the open pairs once, and this index serves that and any look-up of one pair.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_decisions_person_id_other_person_id"),
            ["person_id", "other_person_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_decisions_person_id_other_person_id"))
