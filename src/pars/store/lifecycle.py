"""The limited-access run's reads: the candidate records, streamed, and when it last ran."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pars.store.tables import arrests, audit_log

__all__ = ["RUN_ACTION", "candidates", "last_run"]

RUN_ACTION = "lifecycle:run"
_BATCH = 2000


def candidates(
    engine: sa.Engine, states: Iterable[str]
) -> Iterator[tuple[str, str, str, datetime, dict[str, Any]]]:
    """(id, otn, state, arrested_at, the report's document) of every arrest in `states`: one
    query on the state index, read in batches (a server-side cursor on PostgreSQL), never all
    at once."""
    q = sa.select(
        arrests.c.id, arrests.c.otn, arrests.c.state, arrests.c.arrested_at, arrests.c.document
    ).where(arrests.c.state.in_(sorted(states)))
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=_BATCH).execute(q)
        for row in result:
            # The column holds the record's snapshot; its "document" is the report itself.
            yield row.id, row.otn, row.state, row.arrested_at, row.document.get("document") or {}


def last_run(engine: sa.Engine) -> datetime | None:
    """When a (non-dry) limited-access run last finished, from the audit log."""
    q = sa.select(sa.func.max(audit_log.c.at)).where(audit_log.c.action == RUN_ACTION)
    with engine.connect() as conn:
        value: datetime | None = conn.execute(q).scalar()
    return value
