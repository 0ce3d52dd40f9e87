"""outbox rows notify the relay by trigger

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Every transaction that writes outbox rows must notify `pars_outbox` (LISTEN/NOTIFY) so that a
separate `pars relay` wakes at its COMMIT. Until now the unit of work sent `SELECT pg_notify`
itself, one statement and round trip more for every command that changed a record (issue 11
item 6). A statement-level AFTER INSERT trigger sends it inside the INSERT instead, for any
writer of the table. PostgreSQL folds the notifications of one transaction into one, as
before. SQLite has no NOTIFY (its processes wake each other by datagram: pars.store.wake).
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION pars_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('pars_outbox', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION pars_outbox_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS pars_outbox_notify()")
