"""Searching the disclosure log (the auditor's screen): entries by actor, record, agreement, kind
of action and time, newest first, one page at a time.

Pages are keyset pages on the leaf index (`leaf_index < before`, newest first), which the unique
index on `leaf_index` answers by walking it backwards, so a page costs the same at the start of
the log and deep into it, and entries appended while an auditor pages never shift the pages.
Each filter has an index behind it: an actor `(actor, leaf_index)`, which also gives the
entries in page order, so an actor's page reads only that actor's entries; a record is matched
against `record_id` (disclosures) or `subject` (the entries about the record itself), an
agreement against `agreement_id` or `subject`, a time range against `at` (the database then
sorts what it found). A kind is a set of action prefixes, which no index answers on either
database (a prefix `LIKE` cannot use the index on `action`: SQLite's LIKE ignores case,
PostgreSQL's collation need not sort by code point): a kind alone walks the leaf index newest
first until the page is full, quick for the common kinds, slower the rarer the kind is in a
long log; with an actor it walks only that actor's entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pars.store.tables import agreements, arrests, audit_log

__all__ = [
    "LogQuery",
    "agreement_exists",
    "arrest_for_otn",
    "log_mentions",
    "search",
    "search_query",
]

_COLUMNS = (
    audit_log.c.leaf_index,
    audit_log.c.at,
    audit_log.c.actor,
    audit_log.c.role,
    audit_log.c.action,
    audit_log.c.subject,
    audit_log.c.outcome,
    audit_log.c.details,
    audit_log.c.agreement_id,
    audit_log.c.agreement_version,
    audit_log.c.record_id,
    audit_log.c.classes,
)


@dataclass(frozen=True)
class LogQuery:
    """What to look for; every filter given narrows the result (AND). `records` are ids
    matched against `record_id` or `subject`; `actions` are action prefixes (any of them);
    `since` is inclusive and `until` exclusive; `before` is the page cursor (a leaf index)."""

    actor: str | None = None
    records: tuple[str, ...] = ()
    agreement_id: str | None = None
    actions: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None


def _where(q: LogQuery) -> list[sa.ColumnElement[bool]]:
    c = audit_log.c
    terms: list[sa.ColumnElement[bool]] = [c.leaf_index.is_not(None)]
    if q.actor is not None:
        terms.append(c.actor == q.actor)
    if q.records:
        ids = sorted(set(q.records))
        terms.append(sa.or_(c.record_id.in_(ids), c.subject.in_(ids)))
    if q.agreement_id is not None:
        terms.append(sa.or_(c.agreement_id == q.agreement_id, c.subject == q.agreement_id))
    if q.actions:
        terms.append(
            sa.or_(*(c.action.startswith(prefix, autoescape=True) for prefix in q.actions))
        )
    if q.since is not None:
        terms.append(c.at >= q.since)
    if q.until is not None:
        terms.append(c.at < q.until)
    if q.before is not None:
        terms.append(c.leaf_index < q.before)
    return terms


def search(conn: sa.Connection, q: LogQuery, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Up to `limit` entries matching `q`, newest first, and the cursor of the next (older)
    page: the last entry's leaf index when more match, else None."""
    rows = [dict(r._mapping) for r in conn.execute(search_query(q, limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, int(rows[-1]["leaf_index"]) if more and rows else None


def search_query(q: LogQuery, limit: int) -> sa.Select[Any]:
    """The query of `search`: up to `limit` entries matching `q`, newest first."""
    return (
        sa.select(*_COLUMNS).where(*_where(q)).order_by(audit_log.c.leaf_index.desc()).limit(limit)
    )


def log_mentions(conn: sa.Connection, record_id: str) -> bool:
    """Whether any entry names the id as its record or subject (an expunged arrest is gone
    from `arrests` but not from the log)."""
    c = audit_log.c
    for column in (c.record_id, c.subject):
        if conn.execute(sa.select(c.id).where(column == record_id).limit(1)).first():
            return True
    return False


def agreement_exists(conn: sa.Connection, agreement_id: str) -> bool:
    """Whether an agreement (any version) has this id, or the log names it."""
    q = sa.select(agreements.c.id).where(agreements.c.id == agreement_id).limit(1)
    if conn.execute(q).first() is not None:
        return True
    c = audit_log.c
    for column in (c.agreement_id, c.subject):
        if conn.execute(sa.select(c.id).where(column == agreement_id).limit(1)).first():
            return True
    return False


def arrest_for_otn(conn: sa.Connection, otn: str) -> str | None:
    """The id of the arrest with this offense tracking number, or None."""
    q = sa.select(arrests.c.id).where(arrests.c.otn == otn)
    value = conn.execute(q).scalar_one_or_none()
    return None if value is None else str(value)
