"""What every table module shares: the one `metadata` (with the naming convention that the
migrations follow) and the column types PARS stores instants and documents in. The tables
themselves are in `tables` (which also loads `identity_tables`, so importing it gives the
whole schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

__all__ = ["JSONDoc", "JSONText", "UTCDateTime", "metadata"]


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware in Python, UTC in the database on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; PARS stores instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDoc: Any = sa.JSON().with_variant(JSONB(), "postgresql")
# A document stored as written and never queried inside (a delivery's payload): PostgreSQL's
# `json` keeps the text, where `jsonb` would parse every row on insert (about 8 us of server
# CPU per 1.2 kB payload; the relay writes one per partner per event).
JSONText: Any = sa.JSON()

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)
