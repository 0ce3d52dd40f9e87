"""Staff screen sessions and second-factor recovery codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pars.store.accounts import UserRecord, _user
from pars.store.tables import recovery_codes, staff_sessions, users

__all__ = ["SessionRecord", "SessionRepository"]


@dataclass(frozen=True)
class SessionRecord:
    id_hash: str
    user: UserRecord
    stage: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked: bool
    pending_secret: bytes | None


class SessionRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(
        self,
        id_hash: str,
        user_id: int,
        stage: str,
        csrf_token: str,
        now: datetime,
        expires: datetime,
    ) -> None:
        self._conn.execute(
            sa.insert(staff_sessions).values(
                id_hash=id_hash,
                user_id=user_id,
                stage=stage,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
            )
        )

    def get(self, id_hash: str) -> SessionRecord | None:
        """The session and its user, revoked or not; None if there is no such session."""
        s = staff_sessions.c
        q = (
            sa.select(
                users,
                s.id_hash,
                s.stage,
                s.csrf_token,
                s.created_at.label("session_created_at"),
                s.last_seen_at,
                s.expires_at,
                s.revoked,
                s.pending_secret,
            )
            .join(staff_sessions, s.user_id == users.c.id)
            .where(s.id_hash == id_hash)
        )
        row = self._conn.execute(q).mappings().first()
        return _session(row) if row else None

    def update(self, id_hash: str, **values: Any) -> None:
        self._conn.execute(
            sa.update(staff_sessions).where(staff_sessions.c.id_hash == id_hash).values(**values)
        )

    def revoke(self, id_hash: str) -> None:
        self.update(id_hash, revoked=True, pending_secret=None, shown=None)

    def shown(self, id_hash: str) -> dict[str, list[str]]:
        """What the session's self-refreshing screens have shown ({} for none)."""
        q = sa.select(staff_sessions.c.shown).where(staff_sessions.c.id_hash == id_hash)
        value = self._conn.execute(q).scalar_one_or_none()
        return dict(value) if isinstance(value, dict) else {}

    def revoke_all(self, user_id: int) -> int:
        """Revoke every live session of the user; how many there were."""
        result = self._conn.execute(
            sa.update(staff_sessions)
            .where(staff_sessions.c.user_id == user_id, staff_sessions.c.revoked.is_(False))
            .values(revoked=True, pending_secret=None, shown=None)
        )
        return int(result.rowcount)

    def replace_recovery_codes(self, user_id: int, hashes: list[str], now: datetime) -> None:
        self._conn.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        if hashes:
            self._conn.execute(
                sa.insert(recovery_codes),
                [{"user_id": user_id, "code_hash": h, "created_at": now} for h in hashes],
            )

    def use_recovery_code(self, user_id: int, code_hash: str, now: datetime) -> bool:
        """Mark an unused code as used; False if it is unknown or was used before. One UPDATE,
        so two requests racing with the same code cannot both succeed."""
        r = recovery_codes.c
        result = self._conn.execute(
            sa.update(recovery_codes)
            .where(r.user_id == user_id, r.code_hash == code_hash, r.used_at.is_(None))
            .values(used_at=now)
        )
        return int(result.rowcount) == 1

    def recovery_codes_left(self, user_id: int) -> int:
        r = recovery_codes.c
        q = sa.select(sa.func.count()).where(r.user_id == user_id, r.used_at.is_(None))
        return int(self._conn.execute(q).scalar_one())


def _session(row: Any) -> SessionRecord:
    return SessionRecord(
        id_hash=row["id_hash"],
        user=_user(row),
        stage=row["stage"],
        csrf_token=row["csrf_token"],
        created_at=row["session_created_at"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
        revoked=bool(row["revoked"]),
        pending_secret=row["pending_secret"],
    )
