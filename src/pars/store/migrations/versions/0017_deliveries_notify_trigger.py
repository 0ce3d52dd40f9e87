"""queued deliveries notify the feeds by trigger

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Every transaction that queues deliveries must notify `pars_queue` (LISTEN/NOTIFY) so that the
SSE streams and long-polls of every API process wake at its COMMIT. Until now the unit of work
sent `SELECT pg_notify` itself: one statement more in every relay batch, on the path from an
arrest's commit to its partners (issue 11). A statement-level AFTER INSERT trigger sends it
inside the insert (the relay's COPY fires it too), as migration 0016 does for the outbox. An
insert of withheld rows only notifies as well: the streams woken find nothing and wait again.
PostgreSQL folds the notifications of one transaction into one. SQLite has no NOTIFY (its
processes wake each other by datagram: pars.store.wake).
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION pars_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('pars_queue', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries "
        "FOR EACH STATEMENT EXECUTE FUNCTION pars_queue_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS deliveries_notify ON deliveries")
    op.execute("DROP FUNCTION IF EXISTS pars_queue_notify()")
