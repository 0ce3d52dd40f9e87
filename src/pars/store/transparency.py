"""Read-only queries behind the public transparency report and the per-person disclosure history.

Disclosure counts are grouped in the database by partner, field-class set and UTC month, so the
report reads one row per group however long the log grows. Everything else (agreements, stops,
withheld entries) is small.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pars.store.tables import agreements, arrests, audit_log, partners, persons

__all__ = [
    "COUNTED",
    "DISCLOSED",
    "agreement_rows",
    "arrest_exists",
    "disclosure_counts",
    "disclosures_after",
    "entries_for_records",
    "partner_rows",
    "person_arrests",
    "person_exists",
    "stop_events",
    "withheld_rows",
]

# Entries that mean data left to a partner. The public counts use the first disclosure of each
# item (delivered) and look-up answers; a push retry (redelivered) sent the same item again.
COUNTED = ("disclosure:delivered", "disclosure:lookup")
DISCLOSED = ("disclosure:delivered", "disclosure:redelivered", "disclosure:lookup")
STOPS = ("agreement:suspended", "agreement:revoked")


def _month(conn: sa.Connection) -> sa.ColumnElement[str]:
    """The UTC month of an audit row's time as 'YYYY-MM', on either backend."""
    if conn.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", audit_log.c.at), "YYYY-MM", type_=sa.String)
    # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS...' (see tables.UTCDateTime).
    return sa.func.substr(audit_log.c.at, 1, 7, type_=sa.String)


def disclosure_counts(conn: sa.Connection) -> list[Any]:
    """Rows (partner_id, classes, month, n): counted disclosures per partner, comma-joined field
    classes and UTC month."""
    month = _month(conn).label("month")
    q = (
        sa.select(
            audit_log.c.subject.label("partner_id"),
            audit_log.c.classes,
            month,
            sa.func.count().label("n"),
        )
        .where(audit_log.c.action.in_(COUNTED))
        .group_by(audit_log.c.subject, audit_log.c.classes, month)
    )
    return list(conn.execute(q).all())


def withheld_rows(conn: sa.Connection) -> list[Any]:
    """Every `disclosure:withheld` entry: (at, subject, agreement_id, details)."""
    q = sa.select(
        audit_log.c.at, audit_log.c.subject, audit_log.c.agreement_id, audit_log.c.details
    ).where(audit_log.c.action == "disclosure:withheld")
    return list(conn.execute(q).all())


# Recall notices and their attestations (services/lifecycle): in a record's history, and
# counted per partner and month in the report.
RECALLS = ("recall:sent", "recall:attested")


def recall_entries(conn: sa.Connection) -> list[Any]:
    """Every recall entry: (at, action, subject = partner id)."""
    q = sa.select(audit_log.c.at, audit_log.c.action, audit_log.c.subject).where(
        audit_log.c.action.in_(RECALLS)
    )
    return list(conn.execute(q).all())


def stop_events(conn: sa.Connection) -> list[Any]:
    """Every successful suspension or revocation: (agreement id, at), oldest first."""
    q = (
        sa.select(audit_log.c.subject, audit_log.c.at)
        .where(audit_log.c.action.in_(STOPS), audit_log.c.outcome == "success")
        .order_by(audit_log.c.at)
    )
    return list(conn.execute(q).all())


def disclosures_after(
    conn: sa.Connection, agreement_id: str, version: int, instant: datetime, inclusive: bool
) -> tuple[int, datetime | None]:
    """How many disclosures the log holds under this agreement version after `instant` (or at
    it, when `inclusive`), and the first one's time."""
    at = audit_log.c.at
    q = sa.select(sa.func.count(), sa.func.min(at)).where(
        audit_log.c.agreement_id == agreement_id,
        audit_log.c.agreement_version == version,
        audit_log.c.action.in_(DISCLOSED),
        at >= instant if inclusive else at > instant,
    )
    count, first = conn.execute(q).one()  # MIN() keeps the column's type: an aware datetime
    return int(count), first


def agreement_rows(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every version of every agreement with its stored document and row times, oldest first."""
    q = sa.select(
        agreements.c.id,
        agreements.c.version,
        agreements.c.partner_id,
        agreements.c.document,
        agreements.c.created_at,
        agreements.c.updated_at,
    ).order_by(agreements.c.created_at, agreements.c.id, agreements.c.version)
    return [dict(r) for r in conn.execute(q).mappings()]


def partner_rows(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Partners by id: name and partner class only."""
    q = sa.select(partners.c.id, partners.c.name, partners.c.partner_class)
    return {r.id: {"name": r.name, "partner_class": r.partner_class} for r in conn.execute(q)}


# -- the per-person history -------------------------------------------------------------------


def person_exists(conn: sa.Connection, person_id: str) -> bool:
    q = sa.select(persons.c.id).where(persons.c.id == person_id)
    return conn.execute(q).first() is not None


def arrest_exists(conn: sa.Connection, arrest_id: str) -> bool:
    q = sa.select(arrests.c.id).where(arrests.c.id == arrest_id)
    return conn.execute(q).first() is not None


def person_arrests(conn: sa.Connection, person_id: str) -> list[str]:
    """Ids of the arrests linked to the person (sealed and expunged ones are unlinked)."""
    q = sa.select(arrests.c.id).where(arrests.c.person_id == person_id).order_by(arrests.c.id)
    return [str(r) for r in conn.execute(q).scalars()]


def entries_for_records(conn: sa.Connection, record_ids: Iterable[str]) -> list[Any]:
    """Every disclosure entry naming one of the records, in log order."""
    ids = sorted(set(record_ids))
    found: list[Any] = []
    for start in range(0, len(ids), 400):
        q = (
            sa.select(
                audit_log.c.leaf_index,
                audit_log.c.at,
                audit_log.c.action,
                audit_log.c.subject,
                audit_log.c.actor,
                audit_log.c.agreement_id,
                audit_log.c.agreement_version,
                audit_log.c.record_id,
                audit_log.c.classes,
                audit_log.c.details,
            )
            .where(
                audit_log.c.record_id.in_(ids[start : start + 400]),
                audit_log.c.action.in_((*DISCLOSED, *RECALLS)),
            )
            .order_by(audit_log.c.leaf_index)
        )
        found.extend(conn.execute(q).all())
    return sorted(found, key=lambda r: (r.leaf_index is None, r.leaf_index or 0))
