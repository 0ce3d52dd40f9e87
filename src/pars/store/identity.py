"""Identity resolution persistence: matching records and their blocking keys, models, decisions,
and person merges. Candidates are read through the (key, record_id) index, never by a scan."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from pars.store.identity_tables import (
    identity_decisions,
    identity_keys,
    identity_models,
    identity_records,
    person_merges,
)
from pars.store.tables import persons

__all__ = ["CandidateRow", "IdentityRepository"]

# The redirects of merged persons are followed at most this far (merges of merges).
_MAX_CHAIN = 32


# A person has at most 12 blocking keys (pars.identity.blocking); unused slots look up "".
_MAX_KEYS = 12
# Only the slot number is interpolated; keys and the limit are bound parameters.
_CANDIDATES = sa.text(
    " UNION ALL ".join(
        f"SELECT record_id FROM (SELECT record_id FROM identity_keys WHERE key = :k{i} "  # noqa: S608
        f"LIMIT :n) AS q{i}"
        for i in range(_MAX_KEYS)
    )
).columns(sa.column("record_id", sa.Integer))
_RECORDS = sa.text(
    "SELECT id, person_id, fields FROM identity_records WHERE id IN :ids"
).bindparams(sa.bindparam("ids", expanding=True))


# Built once: a statement built per call costs its construction and cache-key walk each time
# (the arrest intake runs both of these).
_LATEST_MODEL = sa.select(sa.func.max(identity_models.c.version))
_ADD_DECISION = sa.insert(identity_decisions)


def _json(value: Any) -> dict[str, Any]:
    # Text queries get SQLite's JSON as text and PostgreSQL's JSONB decoded.
    decoded: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return decoded


class CandidateRow(NamedTuple):
    record_id: int
    person_id: str
    fields: dict[str, Any]
    shared: int  # how many blocking keys it shares with the query


class IdentityRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._latest_model: tuple[int | None] | None = None  # (version,) once read

    # -- records and keys ----------------------------------------------------------------

    def add_record(
        self,
        person_id: str,
        arrest_id: str | None,
        fields: dict[str, Any],
        keys: Iterable[str],
        ssn_index: str | None,
        now: datetime,
    ) -> int:
        result = self._conn.execute(
            sa.insert(identity_records).values(
                person_id=person_id,
                arrest_id=arrest_id,
                fields=fields,
                ssn_index=ssn_index,
                created_at=now,
            )
        )
        record_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        rows = [{"key": k, "record_id": record_id} for k in sorted(set(keys))]
        if rows:
            self._conn.execute(sa.insert(identity_keys), rows)
        return record_id

    def record_of_arrest(self, arrest_id: str) -> dict[str, Any] | None:
        q = sa.select(identity_records).where(identity_records.c.arrest_id == arrest_id)
        row = self._conn.execute(q).mappings().first()
        return dict(row) if row else None

    def arrest_of(self, record_id: int) -> str | None:
        q = sa.select(identity_records.c.arrest_id).where(identity_records.c.id == record_id)
        return self._conn.execute(q).scalar()

    def replace_keys(self, keys_of_record: Mapping[int, Iterable[str]]) -> int:
        """Make each record's blocking keys exactly the given ones; returns the keys written."""
        if not keys_of_record:
            return 0
        ids = sorted(keys_of_record)
        self._conn.execute(sa.delete(identity_keys).where(identity_keys.c.record_id.in_(ids)))
        rows = [
            {"key": k, "record_id": record_id}
            for record_id in ids
            for k in sorted(set(keys_of_record[record_id]))
        ]
        if rows:
            self._conn.execute(sa.insert(identity_keys), rows)
        return len(rows)

    def delete_record(self, record_id: int) -> None:
        self._conn.execute(sa.delete(identity_keys).where(identity_keys.c.record_id == record_id))
        self._conn.execute(sa.delete(identity_records).where(identity_records.c.id == record_id))

    def candidates(self, keys: Sequence[str], per_key: int, limit: int) -> list[CandidateRow]:
        """Records sharing a blocking key with `keys`, most keys shared first; at most `per_key`
        records are read from any one key's block and `limit` are returned. One statement of
        index look-ups (the same text for any query, so it is compiled and prepared once)."""
        wanted = sorted(set(keys))[:_MAX_KEYS]
        if not wanted:
            return []
        params: dict[str, Any] = {f"k{i}": "" for i in range(_MAX_KEYS)}
        params.update({f"k{i}": key for i, key in enumerate(wanted)})
        params["n"] = per_key
        found = self._conn.execute(_CANDIDATES, params).scalars().all()
        shared: dict[int, int] = {}
        for record_id in found:
            shared[record_id] = shared.get(record_id, 0) + 1
        best = sorted(shared, key=lambda r: (-shared[r], r))[:limit]
        return self.records(best, shared)

    def records(
        self, ids: Sequence[int], shared: dict[int, int] | None = None
    ) -> list[CandidateRow]:
        if not ids:
            return []
        rows = {row.id: row for row in self._conn.execute(_RECORDS, {"ids": list(ids)})}
        return [
            CandidateRow(i, rows[i].person_id, _json(rows[i].fields), (shared or {}).get(i, 0))
            for i in ids
            if i in rows
        ]

    def by_ssn_index(self, values: Sequence[str]) -> list[CandidateRow]:
        if not values:
            return []
        q = sa.select(identity_records.c.id).where(identity_records.c.ssn_index.in_(values))
        return self.records(list(self._conn.execute(q).scalars()))

    def record_ids_of(self, person_id: str) -> list[int]:
        q = (
            sa.select(identity_records.c.id)
            .where(identity_records.c.person_id == person_id)
            .order_by(identity_records.c.id)
        )
        return list(self._conn.execute(q).scalars())

    def move_records(self, ids: Sequence[int], to_person: str) -> None:
        if ids:
            self._conn.execute(
                sa.update(identity_records)
                .where(identity_records.c.id.in_(ids))
                .values(person_id=to_person)
            )

    def count_records(self) -> int:
        return int(
            self._conn.execute(
                sa.select(sa.func.count()).select_from(identity_records)
            ).scalar_one()
        )

    def iter_records(
        self, batch: int = 10_000, after: int = 0
    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """Every record (id, person id, fields) with an id above `after`, in id order, read in
        batches."""
        r = identity_records
        last = after
        while True:
            q = (
                sa.select(r.c.id, r.c.person_id, r.c.fields)
                .where(r.c.id > last)
                .order_by(r.c.id)
                .limit(batch)
            )
            rows = self._conn.execute(q).all()
            if not rows:
                return
            for row in rows:
                yield row.id, row.person_id, row.fields
            last = rows[-1].id

    def iter_blocks(self, max_block: int, batch: int = 50_000) -> Iterator[list[int]]:
        """The record ids of each blocking key with 2 to `max_block` records, in key order,
        read through the primary-key index in batches (bigger blocks are skipped)."""
        k = identity_keys
        after: tuple[str, int] = ("", 0)
        key, block = "", list[int]()
        while True:
            q = (
                sa.select(k.c.key, k.c.record_id)
                .where(sa.tuple_(k.c.key, k.c.record_id) > sa.tuple_(*after))
                .order_by(k.c.key, k.c.record_id)
                .limit(batch)
            )
            rows = self._conn.execute(q).all()
            if not rows:
                break
            for row in rows:
                if row.key != key:
                    if 1 < len(block) <= max_block:
                        yield block
                    key, block = row.key, []
                block.append(row.record_id)
            after = (rows[-1].key, rows[-1].record_id)
        if 1 < len(block) <= max_block:
            yield block

    # -- models --------------------------------------------------------------------------

    def latest_model_version(self) -> int | None:
        """The newest model's version, read once per unit of work (a batch of grouped
        commands shares one); a model this one adds is seen at once."""
        if self._latest_model is None:
            value = self._conn.execute(_LATEST_MODEL).scalar()
            self._latest_model = (int(value) if value is not None else None,)
        return self._latest_model[0]

    def model(self, version: int) -> dict[str, Any] | None:
        q = sa.select(identity_models).where(identity_models.c.version == version)
        row = self._conn.execute(q).mappings().first()
        return dict(row) if row else None

    def add_model(self, parameters: dict[str, Any], by: str, now: datetime) -> int:
        version = (self.latest_model_version() or 0) + 1
        self._conn.execute(
            sa.insert(identity_models).values(
                version=version, created_at=now, created_by=by, parameters=parameters
            )
        )
        self._latest_model = (version,)
        return version

    # -- decisions and the review queue --------------------------------------------------

    def add_decision(self, now: datetime, **values: Any) -> int:
        result = self._conn.execute(_ADD_DECISION, {"created_at": now, **values})
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def decision(self, decision_id: int, lock: bool = False) -> dict[str, Any] | None:
        q = sa.select(identity_decisions).where(identity_decisions.c.id == decision_id)
        if lock and self._conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self._conn.execute(q).mappings().first()
        return dict(row) if row else None

    def decisions(self, status: str | None, after: int, limit: int) -> list[dict[str, Any]]:
        d = identity_decisions
        q = sa.select(d).where(d.c.id > after).order_by(d.c.id).limit(limit)
        if status:
            q = q.where(d.c.status == status)
        return [dict(r) for r in self._conn.execute(q).mappings()]

    def open_duplicate(self, a: str, b: str) -> bool:
        d = identity_decisions
        q = sa.select(d.c.id).where(
            d.c.kind == "duplicate",
            d.c.status == "open",
            d.c.person_id == a,
            d.c.other_person_id == b,
        )
        return self._conn.execute(q).first() is not None

    def open_duplicate_pairs(self) -> set[tuple[str, str]]:
        """Every (person, other person) pair open on the review queue as a likely duplicate:
        one statement, read once by the batch instead of one look-up per pair."""
        d = identity_decisions
        q = sa.select(d.c.person_id, d.c.other_person_id).where(
            d.c.kind == "duplicate", d.c.status == "open"
        )
        return {(row.person_id, row.other_person_id) for row in self._conn.execute(q)}

    def add_decisions(self, now: datetime, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many decisions in one executemany (no ids returned)."""
        if rows:
            self._conn.execute(
                sa.insert(identity_decisions), [{"created_at": now, **row} for row in rows]
            )

    def close_decision(self, decision_id: int, resolution: str, by: str, now: datetime) -> None:
        self._conn.execute(
            sa.update(identity_decisions)
            .where(identity_decisions.c.id == decision_id)
            .values(status="closed", resolution=resolution, decided_by=by, decided_at=now)
        )

    def close_arrest_reviews(self, arrest_id: str, resolution: str, by: str, now: datetime) -> None:
        d = identity_decisions
        self._conn.execute(
            sa.update(d)
            .where(d.c.arrest_id == arrest_id, d.c.status == "open")
            .values(status="closed", resolution=resolution, decided_by=by, decided_at=now)
        )

    # -- persons and merges --------------------------------------------------------------

    def lock_persons(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The person rows, locked in id order on PostgreSQL so that concurrent merges of the
        same persons queue (SQLite's write lock already serialises writers)."""
        q = sa.select(persons).where(persons.c.id.in_(sorted(set(ids)))).order_by(persons.c.id)
        if self._conn.dialect.name == "postgresql":
            q = q.with_for_update()
        return {r["id"]: dict(r) for r in self._conn.execute(q).mappings()}

    def merged_into(self, person_id: str) -> str | None:
        """The person this one is merged into (an active merge), if any."""
        m = person_merges
        q = sa.select(m.c.survivor_id).where(m.c.merged_id == person_id, m.c.undone_at.is_(None))
        return self._conn.execute(q).scalar()

    def resolve(self, person_id: str) -> str:
        """The person record that stands for `person_id` now, following merges."""
        seen = person_id
        for _ in range(_MAX_CHAIN):
            survivor = self.merged_into(seen)
            if survivor is None:
                return seen
            seen = survivor
        return seen

    def merged_ids(self, person_id: str) -> list[str]:
        """Every person merged (directly or through merges) into `person_id`."""
        m = person_merges
        out: list[str] = []
        frontier = [person_id]
        while frontier and len(out) < 10_000:
            q = sa.select(m.c.merged_id).where(
                m.c.survivor_id.in_(frontier), m.c.undone_at.is_(None)
            )
            frontier = list(self._conn.execute(q).scalars())
            out.extend(frontier)
        return out

    def add_merge(
        self, survivor: str, merged: str, moved: list[int], by: str, now: datetime
    ) -> int:
        result = self._conn.execute(
            sa.insert(person_merges).values(
                survivor_id=survivor, merged_id=merged, moved=moved, merged_at=now, merged_by=by
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def merge(self, merge_id: int) -> dict[str, Any] | None:
        q = sa.select(person_merges).where(person_merges.c.id == merge_id)
        row = self._conn.execute(q).mappings().first()
        return dict(row) if row else None

    def merges_of(self, person_id: str) -> list[dict[str, Any]]:
        m = person_merges
        q = (
            sa.select(m)
            .where(sa.or_(m.c.survivor_id == person_id, m.c.merged_id == person_id))
            .order_by(m.c.id)
        )
        return [dict(r) for r in self._conn.execute(q).mappings()]

    def later_merges(self, person_id: str, after_id: int) -> bool:
        """Whether an active merge newer than `after_id` involves `person_id`."""
        m = person_merges
        q = sa.select(m.c.id).where(
            m.c.id > after_id,
            m.c.undone_at.is_(None),
            sa.or_(m.c.survivor_id == person_id, m.c.merged_id == person_id),
        )
        return self._conn.execute(q).first() is not None

    def undo_merge(self, merge_id: int, by: str, now: datetime) -> None:
        self._conn.execute(
            sa.update(person_merges)
            .where(person_merges.c.id == merge_id)
            .values(undone_at=now, undone_by=by)
        )
