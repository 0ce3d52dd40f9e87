"""Identity resolution tables (defined on the one schema `metadata`; migration 0006).

- `identity_records`: the matching fields of each person record, one row per source (the arrest
  whose person block it is, or a staff entry). Cleared when its arrest is sealed or expunged.
- `identity_keys`: the blocking keys of each record. The primary key (key, record_id) is the
  index the matcher reads candidates from; nothing scans the records.
- `identity_models`: every trained model, by version; the highest version is in use.
- `identity_decisions`: what the matcher decided for an arrest (linked, review, new person) or a
  likely duplicate pair, with the model version; open review items are the records staff's queue.
  Indexed on the pair of persons, so that the batch dedupe finds the pairs already queued.
- `person_merges`: merges of person records and what each moved, so an unmerge restores it.
"""

from __future__ import annotations

import sqlalchemy as sa

from pars.store.columns import JSONDoc, UTCDateTime, metadata

__all__ = [
    "identity_decisions",
    "identity_keys",
    "identity_models",
    "identity_records",
    "person_merges",
]

identity_records = sa.Table(
    "identity_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_id", sa.String(36), sa.ForeignKey("persons.id"), nullable=False, index=True),
    # The arrest this person block came from; NULL for a record entered by staff directly.
    sa.Column("arrest_id", sa.String(36), unique=True),
    # first, last, middle, dob, sex, address, zip_code, phone, aliases: never SSN, place of
    # birth or citizenship.
    sa.Column("fields", JSONDoc, nullable=False),
    # Keyed blind index of the SSN ("<key id>:<HMAC-SHA256, hex>"): never the SSN or a hash of it.
    sa.Column("ssn_index", sa.String(80), index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

identity_keys = sa.Table(
    "identity_keys",
    metadata,
    sa.Column("key", sa.String(60), primary_key=True),
    sa.Column(
        "record_id",
        sa.Integer,
        sa.ForeignKey("identity_records.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

identity_models = sa.Table(
    "identity_models",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(60), nullable=False),
    sa.Column("parameters", JSONDoc, nullable=False),
)

identity_decisions = sa.Table(
    "identity_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(12), nullable=False),  # arrest | duplicate
    sa.Column("arrest_id", sa.String(36), index=True),
    sa.Column("person_id", sa.String(36)),
    sa.Column("other_person_id", sa.String(36)),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("weight", sa.Float, nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # auto_linked | review | new_person
    sa.Column("status", sa.String(12), nullable=False, index=True),  # open | closed
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("decided_by", sa.String(60)),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("resolution", sa.String(16)),  # linked | merged | rejected
    # The batch dedupe's look-up of pairs already queued (migration 0011).
    sa.Index("ix_identity_decisions_person_id_other_person_id", "person_id", "other_person_id"),
)

person_merges = sa.Table(
    "person_merges",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "survivor_id", sa.String(36), sa.ForeignKey("persons.id"), nullable=False, index=True
    ),
    sa.Column("merged_id", sa.String(36), sa.ForeignKey("persons.id"), nullable=False, index=True),
    # The identity_records ids the merge moved from merged_id to survivor_id.
    sa.Column("moved", JSONDoc, nullable=False),
    sa.Column("merged_at", UTCDateTime, nullable=False),
    sa.Column("merged_by", sa.String(60), nullable=False),
    sa.Column("undone_at", UTCDateTime),
    sa.Column("undone_by", sa.String(60)),
)
