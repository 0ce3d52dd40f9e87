"""The disclosure log in the database: every audit row is a leaf of an RFC 6962 Merkle tree.

Appending takes the `audit_head` row's lock (an UPDATE ... RETURNING), numbers the new rows from
the old size, writes them with their canonical entry bytes, and writes every perfect subtree
they complete into `audit_nodes`, all in the caller's transaction. So a leaf's number is fixed
when its transaction commits, leaves are numbered in commit order, and the tree, the rows and
the size can never disagree after a crash. The head lock is the last lock a transaction takes
(audit rows are written just before COMMIT), so it cannot take part in a deadlock.

Proofs read only the O(log n) cached subtrees they need, in one query.

The subtrees an append needs (the left siblings on the tree's right edge) are also kept in each
process, once their transaction has committed (`Frontier`): a committed node never changes, so
an append reads from the database only what another process appended meanwhile.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from pars.audit.entries import encode_entry, instant
from pars.audit.merkle import MemoryNodeStore, MerkleLog, leaf_hash, nodes_needed
from pars.store.bulk import bind_processor, copy_rows, copy_stream, dumps_json, is_postgres
from pars.store.engine import per_engine
from pars.store.tables import audit_checkpoints, audit_head, audit_log, audit_nodes

__all__ = [
    "AuditRow",
    "DbNodeStore",
    "Frontier",
    "Pending",
    "append_rows",
    "frontier",
    "log_size",
    "prefetched",
]

HEAD = "log"
_T = TypeVar("_T")


@dataclass(frozen=True)
class AuditRow:
    """One entry to append. `details` holds metadata only; never personal data."""

    actor: str
    action: str
    outcome: str = "success"
    role: str | None = None
    subject: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    agreement_id: str | None = None
    agreement_version: int | None = None
    record_id: str | None = None
    classes: tuple[str, ...] = ()
    payload_hash: str | None = None
    salt: bytes | None = None


_SELECT_NODE = sa.select(audit_nodes.c.hash).where(
    audit_nodes.c.level == sa.bindparam("level"), audit_nodes.c.idx == sa.bindparam("idx")
)


class DbNodeStore:
    """`NodeStore` over `audit_nodes` on one connection (and so inside its transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def get(self, level: int, index: int) -> bytes | None:
        value = self._conn.execute(_SELECT_NODE, {"level": level, "idx": index}).scalar()
        return None if value is None else bytes(value)

    def get_many(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored hashes of `keys`, in one query: `level = ? AND idx IN (...)` per level,
        which both backends answer from the primary key (a row-value `IN` makes SQLite scan
        the whole table). Written as plain SQL: compiling a fresh SQLAlchemy expression for
        every proof cost more than the query."""
        by_level: dict[int, list[int]] = {}
        for level, idx in keys:
            by_level.setdefault(level, []).append(idx)
        if not by_level:
            return {}
        mark = _mark(self._conn)
        terms, params = [], []
        for level, idxs in sorted(by_level.items()):
            terms.append(f"(level = {mark} AND idx IN ({', '.join([mark] * len(idxs))}))")
            params.extend([level, *sorted(idxs)])
        sql = _SELECT_MANY + " OR ".join(terms)
        rows = self._conn.exec_driver_sql(sql, tuple(params)).fetchall()
        return {(level, idx): bytes(h) for level, idx, h in rows}

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        rows = list(items)
        if len(rows) >= BULK_FROM and is_postgres(self._conn):
            copy_rows(self._conn, "audit_nodes", _NODE_COLUMNS, rows)
        elif rows:
            self._conn.exec_driver_sql(_INSERT_NODES[_mark(self._conn)], rows)


class Frontier:
    """The log's committed right edge as this process last saw it: for each level, the newest
    left child (an even index) that a committed append wrote or read. These are exactly the
    nodes the next append needs as left siblings; one that another process has since
    superseded is simply not found, and read from the database as before.

    Sound because a committed node never changes (the log only grows; a tampered row is the
    verifier's to find, which reads the database, never this). Nothing of a transaction that
    may still roll back goes in: an append collects its nodes in a `Pending`, published after
    COMMIT. Restoring a backup into a database replaces its log: stop the processes using it
    first (docs/operations.md says so for other reasons too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edge: dict[int, tuple[int, bytes]] = {}

    def get(self, level: int, index: int) -> bytes | None:
        found = self._edge.get(level)
        return found[1] if found is not None and found[0] == index else None

    def pending(self) -> Pending:
        return Pending(self)

    def known_nodes(self) -> dict[int, tuple[int, bytes]]:
        """level -> (index, hash) of what the frontier holds now."""
        return dict(self._edge)

    def publish(self, nodes: Iterable[tuple[int, int, bytes]]) -> None:
        with self._lock:
            for level, index, value in nodes:
                if index & 1 == 0:
                    known = self._edge.get(level)
                    if known is None or known[0] < index:
                        self._edge[level] = (index, value)


class Pending:
    """The nodes one transaction's appends wrote or read: `publish()` them after its COMMIT."""

    def __init__(self, edge: Frontier) -> None:
        self._edge = edge
        self.nodes: list[tuple[int, int, bytes]] = []

    def known(self, level: int, index: int) -> bytes | None:
        return self._edge.get(level, index)

    def publish(self) -> None:
        self._edge.publish(self.nodes)
        self.nodes = []


frontier = per_engine(Frontier)
"""`frontier(engine)`: this process's frontier of the log in `engine`'s database."""


class _EdgeStore(DbNodeStore):
    """`DbNodeStore` that looks in the frontier first and notes what it read and wrote."""

    def __init__(self, conn: sa.Connection, pending: Pending) -> None:
        super().__init__(conn)
        self._pending = pending

    def get(self, level: int, index: int) -> bytes | None:
        value = self._pending.known(level, index)
        if value is None:
            value = super().get(level, index)
        if value is not None:
            self._pending.nodes.append((level, index, value))
        return value

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        rows = list(items)
        super().put_many(rows)
        self._pending.nodes.extend(rows)


def _mark(conn: sa.Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


# Appends go straight to the driver: the log is the hottest insert in PARS, and SQLAlchemy's
# per-row parameter processing was a third of its cost. A few rows go by executemany (psycopg
# pipelines it); from BULK_FROM rows on PostgreSQL, by COPY, which is several times cheaper per
# row than the pipeline's one statement per row (both for the client and the server).
BULK_FROM = 16
_LOG_COLUMNS = (
    "at", "actor", "role", "action", "subject", "outcome", "details", "leaf_index", "entry",
    "agreement_id", "agreement_version", "record_id", "classes", "payload_hash", "salt",
)  # fmt: skip
_NODE_COLUMNS = ("level", "idx", "hash")
_ENTRY_COLUMNS = f"INSERT INTO audit_log ({', '.join(_LOG_COLUMNS)}) "
_INSERT_ENTRIES = {
    "?": _ENTRY_COLUMNS + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "%s": _ENTRY_COLUMNS + "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
}
_INSERT_NODES = {
    "?": "INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)",
    "%s": "INSERT INTO audit_nodes (level, idx, hash) VALUES (%s, %s, %s)",
}


def _fit(value: str | None, size: int) -> str | None:
    """Audit fields can come from a request path; keep them printable and within the column."""
    if value is None or (len(value) <= size and value.isprintable()):
        return value
    return "".join("?" if ord(c) < 32 or ord(c) == 127 else c for c in value)[:size]


_RESERVE = (
    sa.update(audit_head)
    .where(audit_head.c.name == HEAD)
    .values(size=audit_head.c.size + sa.bindparam("count", type_=sa.BigInteger))
    .returning(audit_head.c.size)
)


def _reserve(conn: sa.Connection, count: int) -> int:
    """Take the head lock and `count` leaf numbers; returns the first."""
    new_size = conn.execute(_RESERVE, {"count": count}).scalar_one()
    return int(new_size) - count


def append_rows(
    conn: sa.Connection, entries: list[AuditRow], at: datetime, pending: Pending | None = None
) -> list[int]:
    """Append `entries` (all stamped `at`) to the log in the caller's transaction; returns
    their leaf indexes. With `pending` (of this database's `frontier`), the nodes the append
    needs come from the frontier where it has them, and what it wrote and read is noted there:
    publish it after COMMIT."""
    if not entries:
        return []
    first = _reserve(conn, len(entries))
    leaves: list[bytes] = []
    stamp, at_text = bind_processor(conn, audit_log.c.at)(at), instant(at)
    bulk = len(entries) >= BULK_FROM and is_postgres(conn)
    # COPY takes the details as JSON text; executemany through the column's type.
    details = dumps_json if bulk else bind_processor(conn, audit_log.c.details)
    rows: list[tuple[Any, ...]] = []
    # On PostgreSQL the rows stream into one COPY as they are encoded, so that the server
    # inserts and indexes them on the other core while this one encodes the next.
    sink = (
        copy_stream(conn, "audit_log", _LOG_COLUMNS)
        if bulk
        else contextlib.nullcontext(rows.append)
    )
    with sink as write:
        for offset, e in enumerate(entries):
            index = first + offset
            actor, role, subject = _fit(e.actor, 60) or "", _fit(e.role, 20), _fit(e.subject, 60)
            agreement = (
                None if e.agreement_id is None else f"{e.agreement_id}/v{e.agreement_version}"
            )
            entry = encode_entry(
                index=index,
                at=at_text,
                actor=actor,
                role=role,
                action=e.action,
                subject=subject,
                outcome=e.outcome,
                agreement=agreement,
                record=e.record_id,
                classes=list(e.classes),
                payload_hash=e.payload_hash,
                details=e.details,
            )
            leaves.append(leaf_hash(entry))
            write(
                (
                    stamp, actor, role, e.action, subject, e.outcome, details(e.details), index,
                    entry, e.agreement_id, e.agreement_version, e.record_id,
                    ",".join(sorted(e.classes)) or None, e.payload_hash, e.salt,
                )
            )  # fmt: skip
    if not bulk:
        conn.exec_driver_sql(_INSERT_ENTRIES[_mark(conn)], rows)
    store = DbNodeStore(conn) if pending is None else _EdgeStore(conn, pending)
    MerkleLog(store, first).append(leaves)
    return list(range(first, first + len(entries)))


def as_bytes(value: Any) -> bytes:
    """A stored entry as bytes, whatever a tampered row made of it (SQLite can turn a BLOB into
    TEXT; a NULL reads as empty)."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return bytes(value)


def log_size(conn: sa.Connection) -> int:
    size = conn.execute(
        sa.select(audit_head.c.size).where(audit_head.c.name == HEAD)
    ).scalar_one_or_none()
    return int(size or 0)


def prefetched(conn: sa.Connection, size: int, operation: Callable[[MerkleLog], _T]) -> _T:
    """Run a root or proof `operation` on the log of `size` leaves after fetching every node it
    needs in one query."""
    keys = nodes_needed(size, operation)
    store = MemoryNodeStore()
    store.put_many((lvl, idx, h) for (lvl, idx), h in DbNodeStore(conn).get_many(keys).items())
    return operation(MerkleLog(store, size))


def leaf_entries(conn: sa.Connection, start: int, end: int, batch: int = 5000) -> Iterator[Any]:
    """Rows (leaf_index, entry, columns...) with start <= leaf_index < end, in order."""
    cols = [
        audit_log.c.leaf_index,
        audit_log.c.entry,
        audit_log.c.at,
        audit_log.c.actor,
        audit_log.c.action,
        audit_log.c.agreement_id,
        audit_log.c.agreement_version,
        audit_log.c.record_id,
        audit_log.c.classes,
        audit_log.c.payload_hash,
    ]
    position = start
    while position < end:
        rows = conn.execute(
            sa.select(*cols)
            .where(audit_log.c.leaf_index >= position, audit_log.c.leaf_index < end)
            .order_by(audit_log.c.leaf_index)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        position = int(rows[-1].leaf_index) + 1


def nodes_at_level(conn: sa.Connection, level: int, start: int, end: int) -> dict[int, bytes]:
    """idx -> hash of the cached nodes of `level` with start <= idx < end (raw driver rows:
    verification reads every node)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    rows = raw_rows(conn, _SELECT_NODES.replace("?", mark), (level, start, end))
    return {idx: bytes(h) for idx, h in rows}


def raw_rows(conn: sa.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The driver's own rows for `sql` (its paramstyle), on this connection and in its
    transaction: verification reads every row of the log, and SQLAlchemy's result rows cost
    as much as the driver's fetch."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


_SELECT_NODES = "SELECT idx, hash FROM audit_nodes WHERE level = ? AND idx >= ? AND idx < ?"
# Followed only by placeholders and fixed words (see DbNodeStore.get_many).
_SELECT_MANY = "SELECT level, idx, hash FROM audit_nodes WHERE "


def checkpoints(conn: sa.Connection, limit: int | None = None) -> list[dict[str, Any]]:
    """Signed tree heads, newest first."""
    query = sa.select(audit_checkpoints).order_by(audit_checkpoints.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def add_checkpoint(conn: sa.Connection, row: dict[str, Any]) -> int:
    return int(
        conn.execute(
            sa.insert(audit_checkpoints).values(**row).returning(audit_checkpoints.c.id)
        ).scalar_one()
    )


def disclosure_at(conn: sa.Connection, index: int) -> Any:
    """(entry, salt, subject) of the log's leaf `index`, or None."""
    return conn.execute(
        sa.select(audit_log.c.entry, audit_log.c.salt, audit_log.c.subject).where(
            audit_log.c.leaf_index == index
        )
    ).first()


def integrate_unlogged(conn: sa.Connection, batch: int = 2000) -> int:
    """Give every audit row without a leaf (written before the log existed) one, in id order,
    keeping its own time. Returns how many rows were logged."""
    done = 0
    while True:
        rows = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.leaf_index.is_(None))
            .order_by(audit_log.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        first = _reserve(conn, len(rows))
        leaves = []
        for offset, row in enumerate(rows):
            entry = encode_entry(
                index=first + offset,
                at=row.at,
                actor=row.actor,
                role=row.role,
                action=row.action,
                subject=row.subject,
                outcome=row.outcome,
                agreement=None,
                record=None,
                classes=[],
                payload_hash=None,
                details=row.details,
            )
            conn.execute(
                sa.update(audit_log)
                .where(audit_log.c.id == row.id)
                .values(leaf_index=first + offset, entry=entry)
            )
            leaves.append(leaf_hash(entry))
        MerkleLog(DbNodeStore(conn), first).append(leaves)
        done += len(rows)
