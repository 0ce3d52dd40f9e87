"""Arrest persistence: one row per arrest (index columns + document + encrypted protected blob) and
one row per version. Protected fields only ever reach the database as AES-GCM ciphertext."""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pars.crypto import KeyRing
from pars.domain.arrest import Arrest, ArrestState, Custody
from pars.domain.charging import Charge
from pars.domain.errors import Conflict, InvalidInput, NotFound
from pars.domain.events import DomainEvent
from pars.store.bulk import is_postgres, loads_json
from pars.store.tables import arrest_versions, arrests, docket_sequence, otn_sequence

__all__ = ["ArrestFilter", "ArrestRepository", "Page"]

_INSERT = sa.insert(arrests)
_UPDATE = sa.update(arrests).where(
    arrests.c.id == sa.bindparam("b_id"), arrests.c.version == sa.bindparam("b_version")
)
_INSERT_VERSION = sa.insert(arrest_versions)
_NEXT_OTN = sa.insert(otn_sequence).values()
_NEXT_DOCKET = sa.insert(docket_sequence).values()
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class ArrestFilter:
    states: tuple[str, ...] = ()
    district: str | None = None
    custody: str | None = None
    arrested_from: datetime | None = None
    arrested_to: datetime | None = None
    last_name: str | None = None
    first_name: str | None = None
    otn: str | None = None
    docket_number: str | None = None
    person_id: str | None = None
    viewer: str | None = None  # drafts are visible to their author only
    created_by: str | None = None  # reports written by this user (the booking screen's list)
    oldest_first: bool = False


@dataclass(frozen=True)
class Page:
    items: list[Arrest]
    next_cursor: str | None


class ArrestRepository:
    def __init__(self, conn: sa.Connection, keys: KeyRing) -> None:
        self._conn = conn
        self._keys = keys
        self._seen: dict[str, tuple[Arrest, int, bool]] = {}  # id -> (arrest, loaded version, new)
        self._reserved: list[int] = []  # OTN numbers taken ahead, in order

    # -- identifiers ---------------------------------------------------------------------

    def next_otn_number(self) -> int:
        if self._reserved:
            return self._reserved.pop(0)
        result = self._conn.execute(_NEXT_OTN)
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def reserve_otn_numbers(self, count: int) -> None:
        """Take `count` OTN numbers in one statement, for the next `next_otn_number` calls of
        this transaction (a batch of new arrests: see `pars.store.group_commit`). A number
        reserved and not used leaves a gap, as a rolled-back arrest does on PostgreSQL."""
        if count < 2:
            return
        if self._conn.dialect.name == "postgresql":
            q = sa.text(
                "INSERT INTO otn_sequence (n) SELECT nextval(pg_get_serial_sequence("
                "'otn_sequence', 'n')) FROM generate_series(1, :count) RETURNING n"
            ).bindparams(count=count)
        else:
            q = sa.text(
                "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < :count)"
                " INSERT INTO otn_sequence (n) SELECT NULL FROM k RETURNING n"
            ).bindparams(count=count)
        self._reserved += sorted(int(n) for n in self._conn.execute(q).scalars())

    def next_docket_number(self) -> int:
        result = self._conn.execute(_NEXT_DOCKET)
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    # -- load / track --------------------------------------------------------------------

    def add(self, arrest: Arrest) -> None:
        self._seen[arrest.id] = (arrest, arrest.version, True)

    def forget(self) -> None:
        """Stop tracking every arrest (after a rollback to a savepoint, whose changes the
        objects may still hold); the next `get` reads the row again."""
        self._seen.clear()

    def get(self, arrest_id: str, lock: bool = True) -> Arrest:
        """The arrest, tracked for saving; NotFound if there is none. `lock` takes a row lock on
        PostgreSQL so concurrent commands on one arrest queue instead of conflicting."""
        if arrest_id in self._seen:
            return self._seen[arrest_id][0]
        if not _ID.match(arrest_id):
            raise NotFound("no such arrest")
        q = sa.select(arrests).where(arrests.c.id == arrest_id)
        if lock and self._conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self._conn.execute(q).mappings().first()
        if row is None:
            raise NotFound("no such arrest")
        arrest = self._from_row(row)
        self._seen[arrest.id] = (arrest, arrest.version, False)
        return arrest

    def exists(self, arrest_id: str) -> bool:
        if not _ID.match(arrest_id):
            return False
        q = sa.select(arrests.c.id).where(arrests.c.id == arrest_id)
        return self._conn.execute(q).first() is not None

    def _from_row(self, row: sa.RowMapping) -> Arrest:
        return self._assemble(row, row["id"], row["document"], row["version"], row)

    def _assemble(self, row: Any, arrest_id: str, stored: Any, version: int, status: Any) -> Arrest:
        """An Arrest from a row with otn, created_by, created_at and protected, its stored
        document (`document` or a version's `snapshot`, JSON text on SQLite) and the state and
        custody found in `status` (the row itself, or the snapshot)."""
        doc = loads_json(stored) if isinstance(stored, str) else stored
        protected = self._keys.decrypt(row["protected"], arrest_id) if row["protected"] else {}
        status = doc if status is None else status
        return Arrest(
            id=arrest_id,
            otn=row["otn"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            state=ArrestState(status["state"]),
            custody=Custody(status["custody"]),
            version=version,
            document=doc["document"],
            protected=protected,
            charges=[Charge.from_dict(c) for c in doc["charges"]],
            history=doc["history"],
        )

    def version(self, arrest_id: str, version: int) -> dict[str, Any]:
        row = (
            self._conn.execute(
                sa.select(arrest_versions).where(
                    arrest_versions.c.arrest_id == arrest_id, arrest_versions.c.version == version
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("this arrest has no such version")
        snap = row["snapshot"] or {}
        protected = self._keys.decrypt(row["protected"], arrest_id) if row["protected"] else {}
        return {
            "version": version,
            "action": row["action"],
            "changed_by": row["changed_by"],
            "changed_at": row["changed_at"],
            "reason": row["reason"],
            "snapshot": snap,
            "protected": protected,
        }

    def at_version(self, arrest_id: str, version: int) -> Arrest | None:
        """The arrest as it was at `version`; None if that version was destroyed (expunged)."""
        return self.at_versions([(arrest_id, version)]).get((arrest_id, version))

    def at_versions(
        self, wanted: list[tuple[str, int]], corrected: bool = False
    ) -> dict[tuple[str, int], Arrest]:
        """Many (arrest id, version) at once, in one query per 500 (the relay reads a batch of
        events); a destroyed version is left out. With `corrected`, an arrest corrected after
        the version asked comes as of its latest correction (`action` "correct"), still under
        the pair asked: what the relay projects for an event committed before a correction
        (see `pars.services.lifecycle.corrections`)."""
        found: dict[tuple[str, int], Arrest] = {}
        pairs = sorted(set(wanted))
        postgres = is_postgres(self._conn)
        for start in range(0, len(pairs), 500):
            chunk = pairs[start : start + 500]
            if postgres:  # the statement built once: the pairs go as two arrays
                q = _pg_versions_query(corrected)
                params: dict[str, Any] = {
                    "ids": [a for a, _ in chunk],
                    "numbers": [n for _, n in chunk],
                }
            else:
                q, params = _versions_query(chunk, corrected), {}
            for row in self._conn.execute(q, params).mappings():
                if row["snapshot"] is not None:
                    found[row["asked_id"], row["asked"]] = self._assemble(
                        row, row["arrest_id"], row["snapshot"], row["version"], None
                    )
        return found

    def versions(self, arrest_id: str) -> list[dict[str, Any]]:
        q = (
            sa.select(
                arrest_versions.c.version,
                arrest_versions.c.action,
                arrest_versions.c.changed_by,
                arrest_versions.c.changed_at,
                arrest_versions.c.reason,
            )
            .where(arrest_versions.c.arrest_id == arrest_id)
            .order_by(arrest_versions.c.version)
        )
        return [dict(r) for r in self._conn.execute(q).mappings()]

    # -- query ---------------------------------------------------------------------------

    def search(self, f: ArrestFilter, limit: int, cursor: str | None) -> Page:
        c = arrests.c
        q = sa.select(arrests)
        if f.states:
            q = q.where(c.state.in_(f.states))
        if f.district:
            q = q.where(c.district == f.district)
        if f.custody:
            q = q.where(c.custody == f.custody)
        if f.arrested_from:
            q = q.where(c.arrested_at >= f.arrested_from)
        if f.arrested_to:
            q = q.where(c.arrested_at < f.arrested_to)
        if f.last_name:
            q = q.where(c.last_name_key.startswith(f.last_name.lower(), autoescape=True))
        if f.first_name:
            q = q.where(c.first_name_key.startswith(f.first_name.lower(), autoescape=True))
        if f.otn:
            q = q.where(c.otn == f.otn)
        if f.docket_number:
            q = q.where(c.docket_number == f.docket_number)
        if f.person_id:
            q = q.where(c.person_id == f.person_id)
        if f.created_by:
            q = q.where(c.created_by == f.created_by)
        q = q.where(sa.or_(c.state != ArrestState.DRAFT.value, c.created_by == f.viewer))
        if cursor:
            at, aid = _decode_cursor(cursor)
            key = sa.tuple_(c.arrested_at, c.id)
            q = q.where(key > sa.tuple_(at, aid) if f.oldest_first else key < sa.tuple_(at, aid))
        order = (c.arrested_at, c.id) if f.oldest_first else (c.arrested_at.desc(), c.id.desc())
        rows = list(self._conn.execute(q.order_by(*order).limit(limit + 1)).mappings())
        items = [self._from_row(r) for r in rows[:limit]]
        more = len(rows) > limit
        next_cursor = _encode_cursor(items[-1]) if more and items else None
        return Page(items, next_cursor)

    # -- save ----------------------------------------------------------------------------

    def flush(self, now: datetime) -> list[DomainEvent]:
        """Write every changed arrest and its new version, one statement per table; return their
        events, each stamped with the version it produced. Conflict if another transaction saved
        one of them first."""
        events: list[DomainEvent] = []
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        expunged: list[str] = []
        for arrest, loaded_version, new in list(self._seen.values()):
            if not new and not arrest.history_dirty:
                continue
            if arrest.state is not ArrestState.DRAFT:
                arrest.version = loaded_version + 1
            row = self._row(arrest, now)
            if new:
                inserts.append({**row, "created_at": arrest.created_at})
            else:
                updates.append({**row, "b_id": arrest.id, "b_version": loaded_version})
            if arrest.state is ArrestState.EXPUNGED:
                expunged.append(arrest.id)
            if arrest.state is not ArrestState.DRAFT:
                last = arrest.history[-1] if arrest.history else None
                versions.append({
                    "arrest_id": arrest.id,
                    "version": arrest.version,
                    "action": last["action"] if last else "create",
                    "changed_by": last["by"] if last else arrest.created_by,
                    "changed_at": now,
                    "reason": arrest.change_reason,
                    "snapshot": None if arrest.state is ArrestState.EXPUNGED else row["document"],
                    "protected": row["protected"],
                })  # fmt: skip
            events.extend(replace(e, version=arrest.version) for e in arrest.events)
            arrest.events.clear()
            arrest.history_dirty = False
            arrest.change_reason = None  # belongs to this version only
            self._seen[arrest.id] = (arrest, arrest.version, False)
        # Fixed statements with parameter lists: compiled once, cheap per row.
        if inserts:
            self._conn.execute(_INSERT, inserts)
        if updates:
            sane = len(updates) == 1 or self._conn.dialect.supports_sane_multi_rowcount
            batches = [updates] if sane else [[u] for u in updates]
            for batch in batches:
                if self._conn.execute(_UPDATE, batch).rowcount != len(batch):
                    raise Conflict("an arrest was changed by someone else; reload it")
        if expunged:
            self._conn.execute(
                sa.update(arrest_versions)
                .where(arrest_versions.c.arrest_id.in_(expunged))
                .values(snapshot=None, protected=None)
            )
        if versions:
            self._conn.execute(_INSERT_VERSION, versions)
        return events

    def _row(self, arrest: Arrest, now: datetime) -> dict[str, Any]:
        doc = arrest.document
        person = doc.get("person") or {}
        hidden = arrest.state in (ArrestState.SEALED, ArrestState.EXPUNGED)
        arraignment = doc.get("arraignment") or {}
        identification = doc.get("identification") or {}
        return {
            "id": arrest.id,
            "otn": arrest.otn,
            "state": arrest.state.value,
            "custody": arrest.custody.value,
            "version": arrest.version,
            "arrested_at": arrest.arrested_at,
            "district": (doc.get("location") or {}).get("district"),
            "last_name_key": None if hidden else (person.get("last_name") or "").lower() or None,
            "first_name_key": None if hidden else (person.get("first_name") or "").lower() or None,
            "docket_number": arraignment.get("docket_number"),
            "person_id": None if hidden else identification.get("person_id"),
            "created_by": arrest.created_by,
            "updated_at": now,
            # Encoded by the statements of this flush, before the arrest can change again.
            "document": arrest.stored_form(),
            "protected": (
                self._keys.encrypt(arrest.protected, arrest.id) if arrest.protected else None
            ),
        }


def _encode_cursor(a: Arrest) -> str:
    raw = json.dumps([a.arrested_at.isoformat(), a.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, aid = json.loads(raw)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not isinstance(aid, str) or not _ID.match(aid):
            raise ValueError("not a cursor")
        return when, aid
    except (ValueError, TypeError, OverflowError) as e:
        raise InvalidInput.one("/cursor", "not a cursor this API issued") from e


@functools.cache
def _pg_versions_query(corrected: bool) -> sa.Select[Any]:
    """PostgreSQL's versions' query, built once (its pairs are parameters)."""
    return _versions_query(None, corrected)


def _versions_query(chunk: list[tuple[str, int]] | None, corrected: bool) -> sa.Select[Any]:
    """The rows of these (arrest id, version) pairs (None: PostgreSQL, where they are the
    arrays `ids` and `numbers`: see `_pg_versions_query`), each by its primary key (with
    `corrected`, at the later of the version and the arrest's latest correction, found by
    the same key). On PostgreSQL the pairs go as two arrays, unnested and joined to the
    key: filtering on `id = ANY(ids) AND version = ANY(versions)` instead let the planner
    hash every stored version of those numbers (most of the table, once it holds a year of
    arrests): 21 ms for 500 of 5,000 in a fresh database, against about 2 ms by key. On
    SQLite the pairs are a VALUES list in a CTE, joined the same way (SQLite's plan: a
    search by the key per pair); matched as row values instead, `(arrest_id, version) IN
    (VALUES ...)`, SQLite scanned the whole table."""
    v = arrest_versions.c
    pairs: Any
    postgres = chunk is None
    if chunk is None:
        ids = sa.bindparam("ids", type_=postgresql.ARRAY(v.arrest_id.type))
        numbers = sa.bindparam("numbers", type_=postgresql.ARRAY(v.version.type))
        pairs = (
            sa.func.unnest(ids, numbers)
            .table_valued("arrest_id", "version")
            .render_derived(name="wanted")
        )
    else:
        pairs = sa.values(
            sa.column("arrest_id", v.arrest_id.type), sa.column("version", v.version.type),
            name="wanted",
        ).data(chunk).cte("wanted")  # fmt: skip
    version: Any = pairs.c.version
    if corrected:
        fixes = arrest_versions.alias("fixes")
        latest = (
            sa.select(sa.func.max(fixes.c.version))
            .where(fixes.c.arrest_id == pairs.c.arrest_id, fixes.c.action == "correct")
            .scalar_subquery()
        )
        later = sa.func.greatest if postgres else sa.func.max  # SQLite's max(a, b)
        version = later(pairs.c.version, sa.func.coalesce(latest, 0))
    columns = (pairs.c.arrest_id.label("asked_id"), pairs.c.version.label("asked"),
               v.arrest_id, v.version, arrests.c.otn, arrests.c.created_by,
               arrests.c.created_at, v.snapshot, v.protected)  # fmt: skip
    return (
        sa.select(*columns)
        .select_from(pairs)
        .join(arrest_versions, sa.and_(v.arrest_id == pairs.c.arrest_id, v.version == version))
        .join(arrests, arrests.c.id == pairs.c.arrest_id)
    )
