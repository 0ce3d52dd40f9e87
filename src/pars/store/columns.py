"""What every table module shares: the one `metadata` (with the naming convention that the
migrations follow) and the column types PARS stores instants and documents in. The tables
themselves are in `tables` (which also loads `identity_tables`, so importing it gives the
whole schema)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

__all__ = ["JSONDoc", "UTCDateTime", "bind_processor", "dumps_json", "metadata"]


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


def dumps_json(value: Any) -> str:
    """A document as JSON text for a `JSONDoc` column written past SQLAlchemy (orjson: the
    relay encodes every partner's payload, and the standard encoder was a fifth of its time).
    A value orjson refuses (an integer beyond 64 bits, a key that is not a string) goes
    through the standard encoder, which decides as SQLAlchemy's own would have."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def bind_processor(conn: sa.Connection, column: sa.Column[Any]) -> Callable[[Any], Any]:
    """How the column's type sends a value to this connection's driver: bulk writes bypass
    SQLAlchemy's statement layer, not its types."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process if process is not None else (lambda value: value)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)
