"""Bulk writes past SQLAlchemy's statement layer (not its types): the disclosure log and the
relay's delivery rows are PARS's hottest inserts, and SQLAlchemy's per-row parameter handling,
the driver's per-row statements and the standard JSON encoder were most of their cost.

On PostgreSQL a batch goes in as one COPY; elsewhere through the driver's executemany. Either
way it is in the caller's transaction, and a refusal raises as SQLAlchemy would have raised it.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy.dialects import postgresql

__all__ = [
    "CopyInProgress",
    "bind_processor",
    "copy_rows",
    "copy_stream",
    "dumps_json",
    "dumps_json_bytes",
    "has_bind_processor",
    "insert_rows",
    "is_postgres",
    "loads_json",
    "one_of",
    "one_of_array",
]


def is_postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def one_of(conn: sa.Connection, column: sa.ColumnElement[Any], values: Sequence[Any]) -> Any:
    """`column IN values`. On PostgreSQL, `column = ANY(:values)` with the values sent as one
    array: the statement's text is then the same whatever their number, so psycopg's query
    cache serves it, where an IN list of 500 placeholders (the relay's batches) was longer
    than that cache takes and was parsed again on every execution."""
    if is_postgres(conn):
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == sa.any_(array)
    return column.in_(values)


def one_of_array(column: sa.ColumnElement[Any], name: str) -> Any:
    """PostgreSQL: `column = ANY(:name)`, the values passed as one array under `name` at
    execution: `one_of` for a statement built once (PostgreSQL only: SQLite has no arrays)."""
    return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))


def dumps_json(value: Any) -> str:
    """A document as JSON text for a `JSONDoc` column written here (see `dumps_json_bytes`)."""
    return dumps_json_bytes(value).decode()


def dumps_json_bytes(value: Any) -> bytes:
    """A document as JSON in UTF-8 (orjson), as a binary COPY (`copy_stream`) sends it. A
    value orjson refuses (an integer beyond 64 bits, a key that is not a string) goes through
    the standard encoder, which decides as SQLAlchemy's own would have."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()


# A run of 19 digits: possibly an integer beyond 64 bits, which orjson would read as a float.
# Found by mapping every ASCII digit to "0" and every other byte to a space, then looking for
# 19 zeros: two passes in C, about a tenth of what the regular expression `\d{19}` took over a
# 1.4 kB snapshot (24 us, read twice per relayed event). JSON writes its numbers in ASCII
# digits only, so no other digit needs looking for.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19


def _long_digits(text: str | bytes) -> bool:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    return _LONG_RUN in data.translate(_DIGITS_AS_ZEROS)


def loads_json(text: str | bytes) -> Any:
    """A stored document read back (orjson: the relay and every read of an arrest parse one).
    Whatever orjson would read otherwise than the standard decoder, it leaves to it: text with
    a run of 19 digits (an integer beyond 64 bits would become a float), and text orjson
    refuses (a lone surrogate, NaN)."""
    if not _long_digits(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def has_bind_processor(conn: sa.Connection, column: sa.Column[Any]) -> bool:
    """Whether the column's type converts values for this driver (else they go as they are)."""
    return column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) is not None


def bind_processor(conn: sa.Connection, column: sa.Column[Any]) -> Callable[[Any], Any]:
    """How the column's type sends a value to this connection's driver."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process if process is not None else (lambda value: value)


def copy_rows(
    conn: sa.Connection, table: str, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> None:
    """COPY `values` into `table` (PostgreSQL only), in the connection's transaction. `table`
    and `columns` are PARS's own names, never input. A refusal (NOT NULL, a unique key) raises
    as SQLAlchemy's IntegrityError <- the driver's, with no values in the message."""
    with copy_stream(conn, table, columns) as write:
        for value in values:
            write(value)


@contextlib.contextmanager
def copy_stream(
    conn: sa.Connection, table: str, columns: Sequence[str]
) -> Iterator[Callable[[Sequence[Any]], None]]:
    """A COPY into `table` held open (PostgreSQL only): yields `write(row)`, which sends rows
    as they are made, so that the server inserts them while the caller makes the next ones.
    Nothing else may run on the connection until the block ends: a statement tried inside it
    raises `CopyInProgress` (the driver would wait for the COPY forever); the COPY completes at
    the block's end (or is abandoned, if the block raised: the block's exception is raised,
    whatever abandoning says). Refusals raise as in `copy_rows`."""
    types = _binary_types(table, tuple(columns))
    binary = " (FORMAT BINARY)" if types is not None else ""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN{binary}"
    raw = conn.connection.driver_connection
    assert raw is not None
    dbapi = conn.dialect.loaded_dbapi

    def refuse(*_args: Any) -> None:
        raise CopyInProgress(f"a statement was tried while the COPY into {table} was open")

    sa.event.listen(conn, "before_cursor_execute", refuse)
    try:
        with raw.cursor() as cur:
            copy = cur.copy(statement)
            opened = copy.__enter__()
            if types is not None:
                for dumper in _JSON_TEXT_DUMPERS:  # this cursor's only, not the connection's
                    cur.adapters.register_dumper(None, dumper)
                opened.set_types(types)
            try:
                yield opened.write_row
            except BaseException as e:
                # The driver tells the server why the COPY failed, and the server logs it: only
                # the exception's class, never its message, which can hold record data.
                with contextlib.suppress(dbapi.Error):
                    copy.__exit__(CopyAbandoned, CopyAbandoned(type(e).__name__), None)
                raise
            copy.__exit__(None, None, None)
    except dbapi.Error as e:
        raise sa.exc.DBAPIError.instance(
            statement, None, e, dbapi.Error, hide_parameters=True, dialect=conn.dialect
        ) from e
    finally:
        sa.event.remove(conn, "before_cursor_execute", refuse)


# The binary COPY format: each value goes as the column type's own binary form, which neither
# side has to escape, unescape or parse as text. Measured on the relay's delivery rows (1.7 kB
# payloads, 12 columns): 6 -> 2.5 us of driver CPU and 23-28 -> 17-20 us of server CPU per row.
# The values are those the columns' SQLAlchemy types give (their bind processors): instants
# with their zone, JSON documents as their text. A column type not named here sends the whole
# COPY in the text format, as before.
_BINARY_NAMES: dict[type[Any], str] = {
    sa.SmallInteger: "int2",
    sa.BigInteger: "int8",
    sa.Integer: "int4",
    sa.Text: "text",
    sa.String: "varchar",
    sa.LargeBinary: "bytea",
    sa.Boolean: "bool",
    postgresql.JSONB: "jsonb",
    sa.JSON: "json",
}


_POSTGRES = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]


@functools.cache
def _binary_types(table: str, columns: tuple[str, ...]) -> tuple[str, ...] | None:
    """The PostgreSQL type names for a binary COPY of these columns, from the schema PARS
    declares (which the migrations match: tests/integration/test_store.py), or None when one
    of them has no binary form here."""
    from pars.store.tables import metadata  # the tables import nothing of this module's

    declared = metadata.tables.get(table)
    if declared is None or not all(name in declared.c for name in columns):
        return None  # not a table PARS declares (a test's own): the text format
    names = []
    for name in columns:
        kind = declared.c[name].type.dialect_impl(_POSTGRES)
        if isinstance(kind, sa.TypeDecorator):
            kind = kind.impl_instance
        if isinstance(kind, sa.Enum):
            return None  # possibly a type of its own in PostgreSQL
        if isinstance(kind, sa.DateTime):
            names.append("timestamptz" if kind.timezone else "timestamp")
            continue
        found = next((n for t, n in _BINARY_NAMES.items() if isinstance(kind, t)), None)
        if found is None:
            return None
        names.append(found)
    return tuple(names)


class _JsonText(Dumper):
    """A JSON document already written (`dumps_json` or `dumps_json_bytes`), sent as it is:
    psycopg's own binary JSON dumper would encode the text again, as a JSON string."""

    format = Format.BINARY
    oid = postgres.types["json"].oid

    def dump(self, obj: Any) -> bytes:
        return _utf8(obj)


class _JsonbText(_JsonText):
    """The same into `jsonb`, whose binary form is a version byte (1) and then the text."""

    oid = postgres.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + _utf8(obj)


def _utf8(obj: Any) -> bytes:
    if isinstance(obj, bytes):
        return obj
    if not isinstance(obj, str):
        raise TypeError(f"a JSON column's value for COPY is its text, not {type(obj).__name__}")
    return obj.encode()


_JSON_TEXT_DUMPERS = (_JsonText, _JsonbText)


class CopyInProgress(RuntimeError):
    """A statement was tried on a connection whose COPY (`copy_stream`) was still open."""


class CopyAbandoned(Exception):
    """What the server is told when a `copy_stream` block raised: the exception's class."""


def insert_rows(
    conn: sa.Connection, table: str, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> None:
    """The same rows as `copy_rows`, on any backend: COPY on PostgreSQL, else one executemany
    of a prepared INSERT."""
    if not values:
        return
    if is_postgres(conn):
        copy_rows(conn, table, columns, values)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(columns))
    # The names are PARS's own tables and columns, never input.
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    conn.exec_driver_sql(insert, list(values))
