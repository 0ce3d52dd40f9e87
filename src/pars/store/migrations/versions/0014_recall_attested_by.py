"""who attested a recall, outside the log

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

`deliveries.attested_by` holds the partner's own words for who carried out a recall notice
(issue 12). It is free text, so it is kept beside the recall's delivery row, where it can be
erased, and the `recall:attested` log entry holds only a keyed hash of it (issue 14: the log
keeps controlled values only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both backends (see 0013).
def upgrade() -> None:
    op.add_column("deliveries", sa.Column("attested_by", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "attested_by")
