"""Engine set-up for SQLite (WAL) and PostgreSQL, and running the migrations."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from pars.store.bulk import dumps_json, loads_json

__all__ = [
    "NO_SNAPSHOT",
    "READ_ONLY",
    "make_engine",
    "migrate",
    "per_engine",
    "sqlite_file",
    "write_turn",
]

# Execution option marking a connection whose transaction only reads.
READ_ONLY = "pars_read_only"
# Execution option marking a reader whose statements need no common snapshot: on SQLite no
# BEGIN is sent, and each statement is its own transaction (the driver is in autocommit mode).
NO_SNAPSHOT = "pars_no_snapshot"

_MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine with PARS's connection settings: WAL, foreign keys and a busy timeout on SQLite;
    a sized pool on PostgreSQL."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # A file database's pool holds as many connections as there are worker threads, as
            # on PostgreSQL: SQLAlchemy's default keeps 5, and under the group commit's load
            # closed and reopened the rest, a connection and its four PRAGMAs about every fifth
            # request. An idle SQLite connection costs a file handle.
            kwargs.setdefault("pool_size", 40)
            kwargs.setdefault("max_overflow", 10)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,  # a database error's message must not carry record data
            json_serializer=dumps_json,
            json_deserializer=loads_json,
            **kwargs,
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, decide when transactions begin (BEGIN IMMEDIATE
            # below), so that writers queue on the lock instead of failing mid-transaction.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # Readers take no write lock; WAL gives them a consistent snapshot. Sent straight
            # to the driver: through SQLAlchemy's execution machinery it cost more than the
            # statement (a tenth of a command's database time on SQLite).
            options = conn.get_execution_options()
            if options.get(NO_SNAPSHOT, False):
                return
            sql = "BEGIN" if options.get(READ_ONLY, False) else "BEGIN IMMEDIATE"
            conn.connection.dbapi_connection.execute(sql)  # type: ignore[union-attr]

        return engine
    # As many pooled connections as the server has worker threads (anyio's default 40), so
    # connections are not closed and reopened under load; recycled instead of pinged per checkout.
    kwargs.setdefault("pool_size", 40)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_recycle", 1800)
    return sa.create_engine(
        url,
        hide_parameters=True,
        json_serializer=dumps_json,
        json_deserializer=loads_json,
        **kwargs,
    )


def sqlite_file(engine: sa.Engine) -> Path | None:
    """The database file of a SQLite engine; None on PostgreSQL and for an in-memory database
    (which no other connection or process can share)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


_T = TypeVar("_T")


def per_engine(make: Callable[[], _T]) -> Callable[[sa.Engine], _T]:
    """`of(engine)`: the one `make()` of each engine in this process, made on first use and
    dropped with the engine (each engine is one database)."""
    made: weakref.WeakKeyDictionary[sa.Engine, _T] = weakref.WeakKeyDictionary()
    guard = threading.Lock()

    def of(engine: sa.Engine) -> _T:
        with guard:
            found = made.get(engine)
            if found is None:
                found = made[engine] = make()
            return found

    return of


_write_lock = per_engine(threading.RLock)


@contextmanager
def write_turn(engine: sa.Engine) -> Iterator[None]:
    """On SQLite, writers of this process take turns on a lock instead of sleeping in SQLite's
    busy handler (which retries with growing sleeps, so the tail latency grows to seconds).
    Other processes still meet the busy timeout. A no-op on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with _write_lock(engine):
        yield


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` with the Alembic migrations."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
