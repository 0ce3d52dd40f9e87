"""Users, their API tokens, and person records (the identities arrests are linked to)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pars.store.engine import sqlite_file
from pars.store.tables import api_tokens, persons, revocation_version, users

__all__ = ["PersonRepository", "RevocationProbe", "UserRecord", "UserRepository"]


# Read on every authenticated request: built once.
_REVOCATION_VERSION = sa.select(revocation_version.c.version).where(revocation_version.c.id == 1)
_REVOCATION_VERSION_SQL = "SELECT version FROM revocation_version WHERE id = 1"


class RevocationProbe:
    """The revocation counter of a SQLite database file, read where nothing may wait (the
    server's event loop): on a connection of its own that only reads, outside any transaction
    (each read sees the newest commit of every process), with no busy wait. `read()` is None
    whenever the answer is not at hand at once (the database busy or locked, the probe in use
    by another thread, any error): the caller then reads it the ordinary way, in a worker
    thread. A SQLite read in WAL mode takes no lock a writer holds, so that is rare."""

    def __init__(self, path: Path) -> None:
        # Opened at the first read, never creating the file (`pars init` creates it).
        self._uri = path.resolve().as_uri() + "?mode=rw"
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.reads = 0  # answered reads, for the benchmarks' statement counts

    @classmethod
    def of(cls, engine: sa.Engine) -> RevocationProbe | None:
        """A probe for a SQLite file database; None for PostgreSQL (a read there is a round
        trip, which the event loop must not wait for) and for an in-memory database."""
        database = sqlite_file(engine)
        return cls(database) if database is not None else None

    def read(self) -> int | None:
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._uri, uri=True, timeout=0, isolation_level=None, check_same_thread=False
                )
                self._conn.execute("PRAGMA query_only=ON")
            row = self._conn.execute(_REVOCATION_VERSION_SQL).fetchone()
            self.reads += 1
        except sqlite3.Error:
            return None
        finally:
            self._lock.release()
        return None if row is None else int(row[0])


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    role: str
    password_hash: str
    failed_logins: int
    locked_until: datetime | None
    disabled: bool
    owner: str | None = None
    totp_secret: bytes | None = None  # encrypted; see services.second_factor
    totp_last_step: int | None = None
    mfa_enrolled_at: datetime | None = None
    failed_second_factor: int = 0


class UserRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def by_name(self, username: str) -> UserRecord | None:
        row = self._conn.execute(sa.select(users).where(users.c.username == username)).first()
        return _user(row._mapping) if row else None

    def add(
        self, username: str, role: str, password_hash: str, now: datetime, owner: str | None = None
    ) -> int:
        result = self._conn.execute(
            sa.insert(users).values(
                username=username,
                role=role,
                password_hash=password_hash,
                created_at=now,
                owner=owner,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def all(self) -> list[UserRecord]:
        rows = self._conn.execute(sa.select(users).order_by(users.c.username)).mappings()
        return [_user(r) for r in rows]

    def update(self, user_id: int, **values: Any) -> None:
        self._conn.execute(sa.update(users).where(users.c.id == user_id).values(**values))

    def revoke_tokens(self, user_id: int) -> None:
        """Revoke every API token of the user (sign out everywhere, disable, role change) and
        move the revocation counter, so every process stops trusting its cached tokens."""
        self._conn.execute(
            sa.update(api_tokens).where(api_tokens.c.user_id == user_id).values(revoked=True)
        )
        self._conn.execute(
            sa.update(revocation_version)
            .where(revocation_version.c.id == 1)
            .values(version=revocation_version.c.version + 1)
        )

    def revocation_version(self) -> int:
        """The revocation counter (one primary-key read)."""
        return int(self._conn.execute(_REVOCATION_VERSION).scalar_one())

    def add_token(self, token_hash: str, user_id: int, now: datetime, expires: datetime) -> None:
        self._conn.execute(
            sa.insert(api_tokens).values(
                token_hash=token_hash,
                user_id=user_id,
                created_at=now,
                expires_at=expires,
                last_used_at=now,
            )
        )

    def token(self, token_hash: str) -> tuple[UserRecord, datetime, datetime, bool] | None:
        """The token's user, expiry, last use and revoked flag."""
        q = (
            sa.select(
                users, api_tokens.c.expires_at, api_tokens.c.last_used_at, api_tokens.c.revoked
            )
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == token_hash)
        )
        row = self._conn.execute(q).mappings().first()
        if row is None:
            return None
        return _user(row), row["expires_at"], row["last_used_at"], bool(row["revoked"])

    def touch_token(self, token_hash: str, now: datetime) -> None:
        self._conn.execute(
            sa.update(api_tokens)
            .where(api_tokens.c.token_hash == token_hash)
            .values(last_used_at=now)
        )


def _user(row: Any) -> UserRecord:
    return UserRecord(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        password_hash=row["password_hash"],
        failed_logins=row["failed_logins"],
        locked_until=row["locked_until"],
        disabled=bool(row["disabled"]),
        owner=row["owner"],
        totp_secret=row["totp_secret"],
        totp_last_step=row["totp_last_step"],
        mfa_enrolled_at=row["mfa_enrolled_at"],
        failed_second_factor=row["failed_second_factor"],
    )


class PersonRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def get(self, person_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(sa.select(persons).where(persons.c.id == person_id)).mappings()
        first = row.first()
        return dict(first) if first else None

    def find(self, **identifiers: str | None) -> list[dict[str, Any]]:
        """Persons matching any of the given identifiers (state_id, fbi_number, local_person_id)."""
        conds = [persons.c[k] == v for k, v in identifiers.items() if v]
        if not conds:
            return []
        rows = self._conn.execute(sa.select(persons).where(sa.or_(*conds))).mappings()
        return [dict(r) for r in rows]

    def add(self, person_id: str, by: str, now: datetime, **identifiers: str | None) -> None:
        self._conn.execute(
            sa.insert(persons).values(id=person_id, created_by=by, created_at=now, **identifiers)
        )

    def fill(self, person_id: str, **identifiers: str | None) -> None:
        values = {k: v for k, v in identifiers.items() if v}
        if values:
            self._conn.execute(sa.update(persons).where(persons.c.id == person_id).values(**values))
