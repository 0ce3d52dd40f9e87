"""the audit search's actor filter indexed; what each session's self-refreshing screens showed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

`ix_audit_log_actor_leaf_index` on audit_log(actor, leaf_index) answers the audit screen's actor
filter in the order it pages (newest first, by leaf index) without walking the whole log.
`staff_sessions.shown` remembers what a session's self-refreshing screens (the docket, the
custody board) showed, so that an automatic refresh is audited only for the records it shows
anew (services.screen_reads).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pars.store.tables import JSONDoc

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_actor_leaf_index", ["actor", "leaf_index"])
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shown", JSONDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_column("shown")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_actor_leaf_index")
