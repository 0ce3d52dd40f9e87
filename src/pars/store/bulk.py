"""Bulk writes past SQLAlchemy's statement layer (not its types): the disclosure log and the
relay's delivery rows are PARS's hottest inserts, and SQLAlchemy's per-row parameter handling,
the driver's per-row statements and the standard JSON encoder were most of their cost.

On PostgreSQL a batch goes in as one COPY; elsewhere through the driver's executemany. Either
way it is in the caller's transaction, and a refusal raises as SQLAlchemy would have raised it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "CopyInProgress",
    "bind_processor",
    "copy_rows",
    "copy_stream",
    "dumps_json",
    "has_bind_processor",
    "insert_rows",
    "is_postgres",
    "loads_json",
    "one_of",
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


def dumps_json(value: Any) -> str:
    """A document as JSON text for a `JSONDoc` column written here (orjson). A value orjson
    refuses (an integer beyond 64 bits, a key that is not a string) goes through the standard
    encoder, which decides as SQLAlchemy's own would have."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


# 19 digits in a row: possibly an integer beyond 64 bits, which orjson would read as a float.
_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")


def loads_json(text: str | bytes) -> Any:
    """A stored document read back (orjson: the relay and every read of an arrest parse one).
    Whatever orjson would read otherwise than the standard decoder, it leaves to it: text with
    a run of 19 digits (an integer beyond 64 bits would become a float), and text orjson
    refuses (a lone surrogate, NaN)."""
    if isinstance(text, bytes):
        long_digits = _LONG_DIGITS_BYTES.search(text) is not None
    else:
        long_digits = _LONG_DIGITS.search(text) is not None
    if not long_digits:
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
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
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
