"""each partner's NATS user: the public half of its nkey

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

`partners.nats_public_key` holds the partner's nkey public key (`U...`), from which
`pars nats config` writes the partner's NATS user and its permissions (issue 13). The seed is
shown to the operator once and is not stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both backends: a batch (copy and move) of `partners` on SQLite would
# drop a table that deliveries, keys and agreements refer to.
def upgrade() -> None:
    op.add_column("partners", sa.Column("nats_public_key", sa.String(56), nullable=True))


def downgrade() -> None:
    op.drop_column("partners", "nats_public_key")
