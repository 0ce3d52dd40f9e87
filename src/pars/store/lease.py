"""The relay's lease: of all the relays running against one database (`pars relay` processes,
relays embedded in `pars serve`), exactly one is active; the others stand by and take over when
the active one dies.

PostgreSQL: a session-level advisory lock held on a connection of its own. The server releases
it the moment that session ends, which a killed process's closed socket ends at once (TCP
keep-alives end it when the machine itself vanishes). SQLite: an exclusive `flock` on a file
next to the database, which the kernel releases when the process dies. An in-memory database
lives in one process, so its relay is always active.

The lease makes the active relay the only one that pushes; it is not the only guard. The relay
queues deliveries in transactions that a unique (agreement, event) key and the locked cursor
keep from repeating, so two relays running at once (a standby that took over while a partitioned
active one finished its round) could repeat a push, never a queue entry, and a repeated push
carries the same `webhook-id` / `Nats-Msg-Id` for the partner to drop."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path
from typing import IO, Protocol

import psycopg
import sqlalchemy as sa

from pars.store.engine import sqlite_file

__all__ = ["Lease", "lease_for"]

# The advisory lock's key: a constant of PARS's own (b"PARSRLAY" read as a signed 64-bit
# integer), so that another application on the same database does not collide with it.
_LOCK_KEY = int.from_bytes(b"PARSRLAY", "big", signed=True)


def _holder_name() -> str:
    return f"pars-relay {socket.gethostname()} pid {os.getpid()}"


class Lease(Protocol):
    def acquire(self) -> bool:
        """True when this process now holds the lease (or already did)."""
        ...

    def held(self) -> bool:
        """Whether the lease is still ours; False (and released) when it was lost."""
        ...

    def release(self) -> None: ...

    def holder(self) -> str | None:
        """Who holds the lease now ("pars-relay HOST pid N"), read from outside; None when
        nobody does."""
        ...


class _PostgresLease:
    def __init__(self, engine: sa.Engine) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._locked = False

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        # Keep-alives so that a session whose machine vanished (no FIN) ends within seconds on
        # this side; the server's tcp_keepalives_* settings do the same on its side.
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            application_name=_holder_name(),
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )

    def acquire(self) -> bool:
        if self._locked:
            return self.held()
        try:
            # A standby keeps its connection between tries (one round trip a try, no new
            # session each time, and it shows in pg_stat_activity under its holder name).
            if self._conn is None:
                self._conn = self._connect()
            got = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()
        except (psycopg.Error, OSError):
            self.release()
            return False
        self._locked = bool(got and got[0])
        return self._locked

    def held(self) -> bool:
        if self._conn is None or not self._locked:
            return False
        try:
            # The lock lives as long as this session: a session that answers still holds it.
            self._conn.execute("SELECT 1")
            return True
        except (psycopg.Error, OSError):
            self.release()
            return False

    def release(self) -> None:
        conn, self._conn, self._locked = self._conn, None, False
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                conn.close()  # ending the session releases the lock

    def holder(self) -> str | None:
        # An advisory lock on a bigint key shows in pg_locks as classid (high half) and objid
        # (low half), objsubid 1.
        high, low = (_LOCK_KEY >> 32) & 0xFFFFFFFF, _LOCK_KEY & 0xFFFFFFFF
        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.classid = %s AND l.objid = %s AND l.objsubid = 1"
                " AND l.database = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())",
                (high, low),
            ).fetchone()
        return str(row[0]) if row else None


class _FileLease:
    """`flock` on `<database>.relay-lease`; the holder's name is written into the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        f = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return False
        f.seek(0)
        f.truncate()
        f.write(_holder_name() + "\n")
        f.flush()
        self._file = f
        return True

    def held(self) -> bool:
        return self._file is not None  # a lock of our own open file cannot be taken from us

    def release(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            with contextlib.suppress(OSError):
                f.seek(0)
                f.truncate()
            f.close()  # closing the file releases the lock

    def holder(self) -> str | None:
        try:
            with self.path.open("a+", encoding="utf-8") as f:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    f.seek(0)
                    return f.read().strip() or "a relay"
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
                return None
        except OSError:
            return None


class _ProcessLease:
    """An in-memory database: one process, one relay."""

    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass

    def holder(self) -> str | None:
        return None


def lease_for(engine: sa.Engine) -> Lease:
    if engine.dialect.name == "postgresql":
        return _PostgresLease(engine)
    database = sqlite_file(engine)
    if database is None:
        return _ProcessLease()
    return _FileLease(database.with_name(database.name + ".relay-lease"))
