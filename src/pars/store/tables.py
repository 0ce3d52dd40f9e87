"""The database schema. Change it only through an Alembic migration (a test compares the two)."""

from __future__ import annotations

import sqlalchemy as sa

from pars.store.columns import JSONDoc, JSONText, UTCDateTime, metadata

__all__ = ["JSONDoc", "UTCDateTime", "metadata"]


otn_sequence = sa.Table(
    "otn_sequence", metadata, sa.Column("n", sa.Integer, primary_key=True, autoincrement=True)
)
docket_sequence = sa.Table(
    "docket_sequence", metadata, sa.Column("n", sa.Integer, primary_key=True, autoincrement=True)
)

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("local_person_id", sa.String(20), unique=True),
    sa.Column("state_id", sa.String(20), unique=True),
    sa.Column("fbi_number", sa.String(20), unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(60), nullable=False),
)

arrests = sa.Table(
    "arrests",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("otn", sa.String(10), nullable=False, unique=True),
    sa.Column("state", sa.String(24), nullable=False, index=True),
    sa.Column("custody", sa.String(12), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("arrested_at", UTCDateTime, nullable=False, index=True),
    sa.Column("district", sa.String(10), index=True),
    # Lower-cased names for the staff name filter; cleared when sealed or expunged.
    sa.Column("last_name_key", sa.String(60), index=True),
    sa.Column("first_name_key", sa.String(60)),
    sa.Column("docket_number", sa.String(24), unique=True),
    sa.Column("person_id", sa.String(36), sa.ForeignKey("persons.id"), index=True),
    sa.Column("created_by", sa.String(60), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("document", JSONDoc, nullable=False),
    sa.Column("protected", sa.LargeBinary),
)

arrest_versions = sa.Table(
    "arrest_versions",
    metadata,
    sa.Column("arrest_id", sa.String(36), sa.ForeignKey("arrests.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("changed_by", sa.String(60), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Column("snapshot", JSONDoc),
    sa.Column("protected", sa.LargeBinary),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(60), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # For staff who speak for one of the system's owners (approve, suspend, revoke agreements).
    sa.Column("owner", sa.String(40)),
    # The TOTP second factor: the secret (encrypted with the key ring), the last time step a
    # code was accepted for (a code is single-use), and when it was enrolled.
    sa.Column("totp_secret", sa.LargeBinary),
    sa.Column("totp_last_step", sa.BigInteger),
    sa.Column("mfa_enrolled_at", UTCDateTime),
    # Wrong second-factor codes in a row; its own count, since a right password resets
    # `failed_logins` and must not give a code-guesser fresh tries.
    sa.Column("failed_second_factor", sa.Integer, nullable=False, server_default="0"),
)

# Signed-in staff screens: one row per browser session. Only the SHA-256 of the cookie is kept.
# `stage` is "password" (first factor done, second pending), "enrol" (must enrol a second
# factor first) or "full"; `pending_secret` is a TOTP secret being enrolled (encrypted).
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("stage", sa.String(10), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("pending_secret", sa.LargeBinary),
    # What the session's self-refreshing screens have shown: {screen: ["<arrest id>@<version>"]}
    # (services.screen_reads), so that a refresh is audited only for what it shows anew.
    sa.Column("shown", JSONDoc),
)

# Single-use recovery codes for the second factor (SHA-256 of each; the codes are random).
recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

# One row: a counter moved by every revocation of API tokens (sign-out everywhere, disable,
# role change, second-factor reset). Each process caches tokens it verified, keyed by the
# counter's value; reading this row per request makes a revocation stop a token at once in
# every process (services.auth.authenticate).
revocation_version = sa.Table(
    "revocation_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
)

# Who did what, when, with what outcome. Metadata only: never personal data. The tamper-evident
# disclosure log (Merkle tree) is built over these rows by the audit component.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(60), nullable=False),
    sa.Column("role", sa.String(20)),
    sa.Column("action", sa.String(60), nullable=False, index=True),
    sa.Column("subject", sa.String(60), index=True),
    sa.Column("outcome", sa.String(12), nullable=False),
    sa.Column("details", JSONDoc, nullable=False),
    # The disclosure log (see store/audit.py): the leaf this row is, the exact bytes hashed into
    # the tree, and the disclosure metadata queried by the transparency report. `salt` is not on
    # the log: it goes only to the recipient, to check `payload_hash` against what it received.
    sa.Column("leaf_index", sa.BigInteger, unique=True),
    sa.Column("entry", sa.LargeBinary),
    sa.Column("agreement_id", sa.String(36), index=True),
    sa.Column("agreement_version", sa.Integer),
    sa.Column("record_id", sa.String(36), index=True),
    sa.Column("classes", sa.String(200)),
    sa.Column("payload_hash", sa.String(64)),
    sa.Column("salt", sa.LargeBinary),
    # The audit search's actor filter, in its page order (store/audit_search.py).
    sa.Index("ix_audit_log_actor_leaf_index", "actor", "leaf_index"),
)

# Cached hashes of the complete perfect subtrees of the log: (level, idx) covers leaves
# [idx * 2**level, (idx + 1) * 2**level); level 0 holds the leaf hashes. Never updated.
audit_nodes = sa.Table(
    "audit_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
)

# The log's size. Every append takes this row's lock, so leaves are numbered in commit order.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("name", sa.String(20), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
)

# Signed tree heads: the signed note text and its Ed25519 signature.
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("size", sa.BigInteger, nullable=False, index=True),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("signature", sa.LargeBinary, nullable=False),
)

# Events waiting to be relayed, in commit order of `seq`. `data` carries no personal fields: the
# relay projects the arrest at `arrest_version` for each partner when it delivers.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("type", sa.String(60), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(36), nullable=False, index=True),
    sa.Column("time", UTCDateTime, nullable=False),
    sa.Column("arrest_version", sa.Integer, nullable=False),
    sa.Column("data", JSONDoc, nullable=False),
)

# Outside agencies. A partner authenticates with an API key (stored hashed; several may be live
# during a rotation) and receives data only under an agreement in force.
partners = sa.Table(
    "partners",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("partner_class", sa.String(30), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(60), nullable=False),
    # The Standard Webhooks signing secret, encrypted like protected fields (it must be read to
    # sign, so it cannot be hashed).
    sa.Column("webhook_secret", sa.LargeBinary),
    # The public half of the partner's NATS nkey (`U...`): its user in the server configuration
    # that `pars nats config` writes. The seed is shown once and never stored.
    sa.Column("nats_public_key", sa.String(56)),
)

partner_keys = sa.Table(
    "partner_keys",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column(
        "partner_id", sa.String(36), sa.ForeignKey("partners.id"), nullable=False, index=True
    ),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

# Every version of every agreement, never updated once superseded: the public record of who was
# granted what, when, and by whose approval.
agreements = sa.Table(
    "agreements",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column(
        "partner_id", sa.String(36), sa.ForeignKey("partners.id"), nullable=False, index=True
    ),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("document", JSONDoc, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(60), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row per (partner, event) that an agreement in force covered when the relay saw the event.
# `payload` is the projected CloudEvent; it is re-filtered under the current policy when served,
# and cleared when the item is withheld (the agreement ended, was suspended or revoked first).
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id"), nullable=False),
    sa.Column("agreement_id", sa.String(36), nullable=False),
    sa.Column("agreement_version", sa.Integer, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("outbox_seq", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(60), nullable=False),
    sa.Column("subject", sa.String(36), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("payload", JSONText),  # never queried inside: json, not jsonb (see columns)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("withheld_at", UTCDateTime),
    sa.Column("withheld_reason", sa.String(120)),
    # Push transports (webhooks): tries so far, when to try next, and the last failure.
    sa.Column("transport", sa.String(12), nullable=False, server_default="feed"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("last_error", sa.String(300)),
    # A recall notice's attestation: who did it, in the partner's words (free text, so here,
    # erasable, and only its keyed hash in the log).
    sa.Column("attested_by", sa.String(200)),
    # One item per agreement and event: a partner with two agreements (say, a feed and a
    # webhook) receives each event once through each of them, as each agreement projects it.
    sa.UniqueConstraint("agreement_id", "event_id"),
    sa.Index("ix_deliveries_partner_feed", "partner_id", "id"),
    sa.Index("ix_deliveries_status", "status"),
)

# What the relay or a transport could not process (a projection error, a constraint error, a
# payload that does not serialise): set aside so that the rest flows, and shown to the privacy
# officer. `error` is the exception's class only: never its message, which can hold record data.
quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stage", sa.String(12), nullable=False),  # relay, webhook, nats
    sa.Column("outbox_seq", sa.Integer),
    sa.Column("event_id", sa.String(36)),
    sa.Column("delivery_id", sa.Integer),
    sa.Column("partner_id", sa.String(36)),
    sa.Column("agreement_id", sa.String(36)),
    sa.Column("agreement_version", sa.Integer),
    sa.Column("error", sa.String(120), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("resolved_by", sa.String(64)),
    sa.Index("ix_quarantine_partner_id", "partner_id"),
)

# Where the relay is in the outbox.
relay_state = sa.Table(
    "relay_state",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("last_seq", sa.Integer, nullable=False),
    # PostgreSQL: the first missing seq the relay is waiting for, and the relay's own transaction
    # id when it first saw that gap (see store/relay.py).
    sa.Column("gap_seq", sa.Integer),
    sa.Column("gap_marker", sa.BigInteger),
)

# Identity resolution's tables live in their own module, on this same `metadata`.
from pars.store import identity_tables as _identity_tables  # noqa: E402, F401
