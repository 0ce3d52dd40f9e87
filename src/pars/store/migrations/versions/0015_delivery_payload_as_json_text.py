"""a delivery's payload as json text, not jsonb

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

`deliveries.payload` is written once per partner per event and only ever read back whole:
nothing queries inside it. On PostgreSQL, `jsonb` parsed every payload on insert, about 8 us
of server CPU for a 1.2 kB payload, a fifth of the relay's database work (issue 11); `json`
keeps the text as written. SQLite stores JSON as text either way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "deliveries",
        "payload",
        type_=sa.JSON(),
        existing_type=JSONB(),
        postgresql_using="payload::json",
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "deliveries",
        "payload",
        type_=JSONB(),
        existing_type=sa.JSON(),
        postgresql_using="payload::jsonb",
    )
