"""Partners, their API keys, and every version of every agreement."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pars.sharing.agreements import Agreement, from_document, to_document
from pars.store.bulk import loads_json, one_of_array
from pars.store.tables import agreements, partner_keys, partners

__all__ = ["SharingRepository"]

# Agreements are read by every relay batch and every feed and push round, and change rarely:
# each stored document's text is parsed once. `Agreement` is frozen, so the one object is shared
# (and the projector compiled for it with it: `pars.sharing.projection.compile_projector`).
_TEXT = sa.cast(agreements.c.document, sa.Text).label("document")


@functools.lru_cache(maxsize=1024)
def _agreement(text: str) -> Agreement:
    """The agreement a stored document's text holds; KeyError/ValueError if it is malformed
    (not cached: the next read tries again)."""
    return from_document(loads_json(text))


_ACTIVE = sa.select(_TEXT).where(agreements.c.state == "active")
_BY_IDS = sa.select(agreements.c.id, agreements.c.version, _TEXT).where(
    one_of_array(agreements.c.id, "ids")
)  # PostgreSQL: built once, the ids as one array


# Every feed request and every long-poll re-request reads its partner's key (a revocation
# takes effect at once), the requests of one moment in one statement: built once, so that it
# is compiled once and prepared by psycopg (the keys as one array on PostgreSQL).
def _by_keys(keys: Any) -> sa.Select[Any]:
    return (
        sa.select(partner_keys.c.key_hash.label("presented_key_hash"), partners)
        .join(partner_keys, partner_keys.c.partner_id == partners.c.id)
        .where(keys, partner_keys.c.revoked_at.is_(None))
    )


_BY_KEYS = {
    "postgresql": _by_keys(one_of_array(partner_keys.c.key_hash, "key_hashes")),
    "sqlite": _by_keys(partner_keys.c.key_hash.in_(sa.bindparam("key_hashes", expanding=True))),
}


class SharingRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    # -- partners ------------------------------------------------------------------------

    def set_webhook_secret(self, partner_id: str, sealed: bytes) -> None:
        self._conn.execute(
            sa.update(partners).where(partners.c.id == partner_id).values(webhook_secret=sealed)
        )

    def set_nats_public_key(self, partner_id: str, public_key: str) -> None:
        q = sa.update(partners).where(partners.c.id == partner_id)
        self._conn.execute(q.values(nats_public_key=public_key))

    def add_partner(
        self, partner_id: str, name: str, partner_class: str, by: str, now: datetime
    ) -> None:
        self._conn.execute(
            sa.insert(partners).values(
                id=partner_id, name=name, partner_class=partner_class, created_at=now, created_by=by
            )
        )

    def partner(self, id_or_name: str) -> dict[str, Any] | None:
        q = sa.select(partners).where(
            sa.or_(partners.c.id == id_or_name, partners.c.name == id_or_name)
        )
        row = self._conn.execute(q).mappings().first()
        return dict(row) if row else None

    def partners_by_id(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The partners of these ids, in one statement; an id not found is left out."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = self._conn.execute(sa.select(partners).where(partners.c.id.in_(wanted)))
        return {row["id"]: dict(row) for row in rows.mappings()}

    def partners(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(sa.select(partners).order_by(partners.c.name)).mappings()
        return [dict(r) for r in rows]

    def add_key(self, key_hash: str, partner_id: str, now: datetime) -> None:
        self._conn.execute(
            sa.insert(partner_keys).values(key_hash=key_hash, partner_id=partner_id, created_at=now)
        )

    def revoke_keys(self, partner_id: str, now: datetime, keep: str | None = None) -> int:
        q = sa.update(partner_keys).where(
            partner_keys.c.partner_id == partner_id, partner_keys.c.revoked_at.is_(None)
        )
        if keep:
            q = q.where(partner_keys.c.key_hash != keep)
        return int(self._conn.execute(q.values(revoked_at=now)).rowcount)

    def partners_by_keys(self, key_hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
        """key hash -> its partner, for those of `key_hashes` that are current (known, not
        revoked), in one statement."""
        wanted = sorted(set(key_hashes))
        if not wanted:
            return {}
        rows = self._conn.execute(_BY_KEYS[self._conn.dialect.name], {"key_hashes": wanted})
        found: dict[str, dict[str, Any]] = {}
        for row in rows.mappings():
            partner = dict(row)
            found[partner.pop("presented_key_hash")] = partner
        return found

    # -- agreements ----------------------------------------------------------------------

    def add(self, a: Agreement, by: str, now: datetime) -> None:
        self._conn.execute(
            sa.insert(agreements).values(
                id=a.id,
                version=a.version,
                partner_id=a.partner,
                state=a.state.value,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                document=to_document(a),
                created_at=now,
                created_by=by,
                updated_at=now,
            )
        )

    def save(self, a: Agreement, now: datetime) -> None:
        self._conn.execute(
            sa.update(agreements)
            .where(agreements.c.id == a.id, agreements.c.version == a.version)
            .values(
                state=a.state.value,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                document=to_document(a),
                updated_at=now,
            )
        )

    def get(
        self, agreement_id: str, version: int | None = None, lock: bool = False
    ) -> Agreement | None:
        """The given version, or the newest one."""
        q = sa.select(_TEXT).where(agreements.c.id == agreement_id)
        q = (
            q.where(agreements.c.version == version)
            if version
            else q.order_by(agreements.c.version.desc()).limit(1)
        )
        if lock and self._conn.dialect.name == "postgresql":
            q = q.with_for_update()
        text = self._conn.execute(q).scalar()
        return _agreement(text) if text else None

    def get_many(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Agreement]:
        """The given agreement versions, in one statement; a key not found is left out."""
        wanted = set(keys)
        if not wanted:
            return {}
        ids = sorted({agreement_id for agreement_id, _ in wanted})
        if self._conn.dialect.name == "postgresql":
            found = self._conn.execute(_BY_IDS, {"ids": ids})
        else:
            found = self._conn.execute(
                sa.select(agreements.c.id, agreements.c.version, _TEXT).where(
                    agreements.c.id.in_(ids)
                )
            )
        return {
            (row.id, row.version): _agreement(row.document)
            for row in found
            if (row.id, row.version) in wanted
        }

    def versions(self, agreement_id: str) -> list[Agreement]:
        q = (
            sa.select(agreements.c.document)
            .where(agreements.c.id == agreement_id)
            .order_by(agreements.c.version)
        )
        return [from_document(d) for d in self._conn.execute(q).scalars()]

    def active(self) -> list[Agreement]:
        """Every agreement version whose stored state is active (in force or past its end)."""
        return [_agreement(text) for text in self._conn.execute(_ACTIVE).scalars()]

    def all(self, partner_id: str | None = None) -> list[Agreement]:
        """Every version of every agreement (of one partner, if given), oldest first."""
        q = sa.select(agreements.c.document).order_by(agreements.c.created_at, agreements.c.version)
        if partner_id:
            q = q.where(agreements.c.partner_id == partner_id)
        return [from_document(d) for d in self._conn.execute(q).scalars()]
