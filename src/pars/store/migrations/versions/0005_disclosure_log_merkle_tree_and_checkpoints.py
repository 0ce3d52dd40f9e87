"""disclosure log: Merkle tree over the audit rows, and signed checkpoints

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pars.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaf_index", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("entry", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("agreement_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("agreement_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("record_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("classes", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("payload_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("salt", sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_log_agreement_id"), ["agreement_id"])
        batch_op.create_index(batch_op.f("ix_audit_log_record_id"), ["record_id"])
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_leaf_index"), ["leaf_index"])
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_nodes")),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_checkpoints_size"), ["size"])
    op.bulk_insert(head, [{"name": "log", "size": 0}])
    _log_earlier_rows()


def _log_earlier_rows() -> None:
    """Audit rows written before the log existed become its first leaves, in id order."""
    from pars.store.audit import integrate_unlogged

    integrate_unlogged(op.get_bind())


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_head")
    op.drop_table("audit_nodes")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_log_leaf_index"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_audit_log_record_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_agreement_id"))
        for column in (
            "salt",
            "payload_hash",
            "classes",
            "record_id",
            "agreement_version",
            "agreement_id",
            "entry",
            "leaf_index",
        ):
            batch_op.drop_column(column)
