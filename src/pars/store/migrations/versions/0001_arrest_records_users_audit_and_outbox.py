"""arrest records, users, audit and outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from pars.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_subject"), ["subject"], unique=False)

    op.create_table(
        "docket_sequence",
        sa.Column("n", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("n", name=op.f("pk_docket_sequence")),
    )
    op.create_table(
        "otn_sequence",
        sa.Column("n", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("n", name=op.f("pk_otn_sequence")),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=36), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("arrest_version", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_subject"), ["subject"], unique=False)

    op.create_table(
        "persons",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("local_person_id", sa.String(length=20), nullable=True),
        sa.Column("state_id", sa.String(length=20), nullable=True),
        sa.Column("fbi_number", sa.String(length=20), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("fbi_number", name=op.f("uq_persons_fbi_number")),
        sa.UniqueConstraint("local_person_id", name=op.f("uq_persons_local_person_id")),
        sa.UniqueConstraint("state_id", name=op.f("uq_persons_state_id")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_tokens")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "arrests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("otn", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("custody", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("arrested_at", UTCDateTime(), nullable=False),
        sa.Column("district", sa.String(length=10), nullable=True),
        sa.Column("last_name_key", sa.String(length=60), nullable=True),
        sa.Column("first_name_key", sa.String(length=60), nullable=True),
        sa.Column("docket_number", sa.String(length=24), nullable=True),
        sa.Column("person_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("protected", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_arrests_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrests")),
        sa.UniqueConstraint("docket_number", name=op.f("uq_arrests_docket_number")),
        sa.UniqueConstraint("otn", name=op.f("uq_arrests_otn")),
    )
    with op.batch_alter_table("arrests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arrests_arrested_at"), ["arrested_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_arrests_district"), ["district"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_arrests_last_name_key"), ["last_name_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_arrests_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_arrests_state"), ["state"], unique=False)

    op.create_table(
        "arrest_versions",
        sa.Column("arrest_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("changed_by", sa.String(length=60), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("protected", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["arrest_id"], ["arrests.id"], name=op.f("fk_arrest_versions_arrest_id_arrests")
        ),
        sa.PrimaryKeyConstraint("arrest_id", "version", name=op.f("pk_arrest_versions")),
    )


def downgrade() -> None:

    op.drop_table("arrest_versions")
    with op.batch_alter_table("arrests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arrests_state"))
        batch_op.drop_index(batch_op.f("ix_arrests_person_id"))
        batch_op.drop_index(batch_op.f("ix_arrests_last_name_key"))
        batch_op.drop_index(batch_op.f("ix_arrests_district"))
        batch_op.drop_index(batch_op.f("ix_arrests_arrested_at"))

    op.drop_table("arrests")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("persons")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_subject"))

    op.drop_table("outbox")
    op.drop_table("otn_sequence")
    op.drop_table("docket_sequence")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
