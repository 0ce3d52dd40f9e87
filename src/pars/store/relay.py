"""The relay's view of the outbox, and the per-partner delivery queue.

Outbox order. SQLite serialises writers, so a row is visible only after every row with a lower
`seq` committed: the relay can advance over gaps at once. On PostgreSQL, sequence numbers are
drawn before commit, so row n+1 can be visible while the transaction that drew n still runs.
The relay then stops at the gap and records its own transaction id M. The transaction that drew
n had its id before that moment (it wrote the arrest before its outbox row), so its id is below
M; once the oldest running transaction (snapshot xmin) is above M, it has ended, and if row n is
still missing it rolled back: the gap is skipped. Nothing is waited for longer than the slowest
transaction that was running when the gap was seen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pars.store.bulk import (
    bind_processor,
    copy_stream,
    dumps_json,
    dumps_json_bytes,
    has_bind_processor,
    insert_rows,
)
from pars.store.relay_statements import (
    HAS_PENDING,
    MARK_DELIVERED,
    NEXT_BATCH,
    PAGES_AT_ONCE,
    RELAY,
    SET_CURSOR,
    feed_items,
    pages_by_arrays,
    pages_statement,
)
from pars.store.tables import deliveries, outbox, quarantine, relay_state

__all__ = ["RECALL_EVENT", "DeliveryRepository", "DeliveryStream"]

# A recall notice (services/lifecycle/recalls.py) goes even where the agreement has ended: it
# discloses nothing new, so no sweep of an ended agreement withholds it.
RECALL_EVENT = "pars.record.recall"


def _json_text(value: Any) -> str | None:
    """A payload for a bulk write: None stays SQL NULL (no delivery row holds a JSON null)."""
    return None if value is None else dumps_json(value)


def _json_bytes(value: Any) -> bytes | None:
    """The same for PostgreSQL, whose deliveries go in by binary COPY (`pars.store.bulk`)."""
    return None if value is None else dumps_json_bytes(value)


def _last_kept(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, which gives the same value for the same input, answering at once when it
    gets the same object again: a batch's rows share their instants (`created_at`, the first
    try), so each is converted once rather than once per row."""
    last: list[Any] = [_NOTHING, None]

    def kept(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return kept


_NOTHING = object()


class DeliveryRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._pg = conn.dialect.name == "postgresql"
        # Whether this transaction queued anything: its unit of work then wakes the feeds, in
        # this process and (NOTIFY) in others, at COMMIT.
        self.queued = False

    # -- outbox --------------------------------------------------------------------------

    def has_pending(self) -> bool:
        """Whether the outbox holds anything past the relay's position (a read, no lock): one
        statement, so that an idle relay's look costs one round trip."""
        return bool(self._conn.execute(HAS_PENDING).scalar())

    def next_batch(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` outbox rows past the relay's position that are safe to relay, in
        order, stopping at a gap that a running transaction may still fill; locks the position
        (FOR UPDATE on PostgreSQL; SQLite serialises writers), so that one relay works at a
        time. `set_cursor` moves it, in the same transaction.

        On PostgreSQL the position and its rows come in one statement (the rows a LATERAL
        subquery of the locked position). Should the lock have waited for another relay's
        transaction, PostgreSQL rechecks the position's newer version, and rows the other relay
        relayed meanwhile could come with it: rows at or before the position are dropped here,
        and what the lock's wait hid is the next batch's."""
        if not self._pg:  # no gaps to stop at: see the module's docstring
            return self._rows_after(self._cursor(), limit)
        found = self._conn.execute(NEXT_BATCH, {"limit": limit}).mappings().all()
        if not found:  # a new database: no position yet (`_cursor` makes it, at 0)
            return self._safe(0, self._rows_after(self._cursor(), limit))
        after = int(found[0]["relay_position"])
        rows = []
        for r in found:
            if r["seq"] is not None and r["seq"] > after:
                row = dict(r)
                del row["relay_position"]
                rows.append(row)
        return self._safe(after, rows)

    def _cursor(self) -> int:
        """The last outbox seq relayed (its row made if there is none), locked on PostgreSQL."""
        q = sa.select(relay_state.c.last_seq).where(relay_state.c.name == RELAY)
        if self._pg:
            q = q.with_for_update()
        value = self._conn.execute(q).scalar()
        if value is None:
            self._conn.execute(sa.insert(relay_state).values(name=RELAY, last_seq=0))
            return 0
        return int(value)

    def set_cursor(self, seq: int) -> None:
        self._conn.execute(SET_CURSOR, {"last_seq": seq})

    def _rows_after(self, after: int, limit: int) -> list[dict[str, Any]]:
        q = sa.select(outbox).where(outbox.c.seq > after).order_by(outbox.c.seq).limit(limit)
        return [dict(r) for r in self._conn.execute(q).mappings()]

    def _safe(self, after: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`rows` (in order, after `after`) up to the first gap a running transaction may still
        fill: PostgreSQL's (see the module's docstring; SQLite has no such gaps)."""
        safe: list[dict[str, Any]] = []
        expected = after + 1
        for row in rows:
            if row["seq"] != expected and not self._gap_closed(expected):
                break  # the transaction that drew `expected` may still commit it
            safe.append(row)
            expected = row["seq"] + 1
        return safe

    def _gap_closed(self, missing: int) -> bool:
        state = self._conn.execute(
            sa.select(relay_state.c.gap_seq, relay_state.c.gap_marker).where(
                relay_state.c.name == RELAY
            )
        ).one()
        xmin = int(
            self._conn.exec_driver_sql(
                "SELECT txid_snapshot_xmin(txid_current_snapshot())"
            ).scalar_one()
        )
        if state.gap_seq == missing and state.gap_marker is not None:
            return xmin > int(state.gap_marker)
        marker = int(self._conn.exec_driver_sql("SELECT txid_current()").scalar_one())
        self._conn.execute(
            sa.update(relay_state)
            .where(relay_state.c.name == RELAY)
            .values(gap_seq=missing, gap_marker=marker)
        )
        return False

    # -- deliveries ----------------------------------------------------------------------

    def enqueue(self, rows: list[dict[str, Any]]) -> None:
        """Insert delivery rows. Rows with different columns (a queued item, a withheld one) go
        in as separate bulk writes: COPY on PostgreSQL, the driver's executemany on SQLite, each
        payload encoded to JSON once (the relay writes ten rows per event; SQLAlchemy's
        per-row parameter handling and the JSON encoder were most of its insert cost)."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self.queued = self.queued or any(row.get("status") == "queued" for row in rows)
        for row in rows:
            groups.setdefault(tuple(sorted(row)), []).append(row)
        for names, group in groups.items():
            values = self.values_of(names)
            insert_rows(self._conn, "deliveries", names, [values(row) for row in group])

    @property
    def connection(self) -> sa.Connection:
        return self._conn

    @property
    def postgres(self) -> bool:
        return self._pg

    def values_of(self, names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """A row with these columns as the values to send, in this order. Only the columns whose
        type converts anything (times, the payload) are processed. The payload goes as JSON:
        bytes on PostgreSQL, where every delivery row goes in by binary COPY, text elsewhere."""
        columns = [deliveries.c[name] for name in names]  # KeyError for an unknown column
        payload = _json_bytes if self._pg else _json_text
        process = [
            (i, payload if c.name == "payload" else _last_kept(bind_processor(self._conn, c)))
            for i, c in enumerate(columns)
            if c.name == "payload" or has_bind_processor(self._conn, c)
        ]

        def values(row: dict[str, Any]) -> tuple[Any, ...]:
            value = [row[name] for name in names]
            for i, p in process:
                value[i] = p(value[i])
            return tuple(value)

        return values

    @contextlib.contextmanager
    def stream(self) -> Iterator[DeliveryStream]:
        """Delivery rows inserted as they are added (`DeliveryStream.add`), all of them by the
        end of the block. On PostgreSQL the rows with the first row's columns go into one COPY
        held open for the block (so that the server inserts them while the relay projects the
        next events): nothing else may use the connection inside the block. Other rows, and
        every row on SQLite, are inserted at its end, as `enqueue` does."""
        with contextlib.ExitStack() as copies:  # if the block raised, the COPY is abandoned
            sink = DeliveryStream(self, copies)
            yield sink
        self.enqueue(sink.rest)

    def quarantine(self, row: dict[str, Any]) -> None:
        """Set an item aside that could not be processed (see tables.quarantine)."""
        self._conn.execute(sa.insert(quarantine).values(**row))

    def quarantined(self, partner_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Quarantined items, newest first; for one partner, or those of no partner too."""
        q = sa.select(quarantine).order_by(quarantine.c.id.desc()).limit(limit)
        if partner_id is not None:
            q = q.where(quarantine.c.partner_id == partner_id)
        return [dict(r) for r in self._conn.execute(q).mappings()]

    def queued_agreements(self) -> list[tuple[str, int]]:
        """The agreement versions that have items waiting."""
        q = (
            sa.select(deliveries.c.agreement_id, deliveries.c.agreement_version)
            .where(deliveries.c.status == "queued")
            .distinct()
        )
        return [(r.agreement_id, r.agreement_version) for r in self._conn.execute(q)]

    def withhold_agreement(
        self, agreement_id: str, version: int, reason: str, now: datetime
    ) -> tuple[int, int]:
        """Withhold every queued item of one agreement version that never left, and stop the
        retries of those an earlier try sent; returns (withheld, stopped)."""
        mine = (
            deliveries.c.status == "queued",
            deliveries.c.agreement_id == agreement_id,
            deliveries.c.agreement_version == version,
            deliveries.c.event_type != RECALL_EVENT,
        )
        gone = {"payload": None, "withheld_at": now, "withheld_reason": reason[:120]}
        held = self._conn.execute(
            sa.update(deliveries)
            .where(*mine, deliveries.c.attempts == 0)
            .values(status="withheld", **gone)
        )
        stopped = self._conn.execute(
            sa.update(deliveries)
            .where(*mine, deliveries.c.attempts > 0)
            .values(status="stopped", **gone)
        )
        return int(held.rowcount), int(stopped.rowcount)

    def page(self, partner_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        q = (
            sa.select(deliveries)
            .where(*feed_items(partner_id, after))
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        return [dict(r) for r in self._conn.execute(q).mappings()]

    def pages(
        self, asks: Sequence[tuple[str, int, int]], columns: Sequence[str] | None = None
    ) -> list[list[dict[str, Any]]]:
        """`page(partner, after, limit)` for each ask, in one statement: on PostgreSQL the asks
        go as three arrays, each a LATERAL look-up of its partner's index (the same text
        whatever their number, so that psycopg prepares it); elsewhere a UNION ALL of the
        look-ups per PAGES_AT_ONCE asks. `columns` to read less than the row."""
        out: list[list[dict[str, Any]]] = [[] for _ in asks]
        names = tuple(columns or ())
        if self._pg and asks:
            params = {
                "partners": [partner_id for partner_id, _, _ in asks],
                "afters": [after for _, after, _ in asks],
                "limits": [limit for _, _, limit in asks],
            }
            for row in self._conn.execute(pages_by_arrays(names), params).mappings():
                item = dict(row)
                out[item.pop("ask") - 1].append(item)
            return out
        for start in range(0, len(asks), PAGES_AT_ONCE):
            chunk = asks[start : start + PAGES_AT_ONCE]
            params = {}
            for i, (partner_id, after, limit) in enumerate(chunk):
                params.update({f"p{i}": partner_id, f"a{i}": after, f"l{i}": limit})
            q = pages_statement(len(chunk), names)
            for row in self._conn.execute(q, params).mappings():
                item = dict(row)
                out[start + item.pop("ask")].append(item)
        for page in out:  # a UNION ALL keeps no order
            page.sort(key=lambda item: int(item["id"]))
        return out

    def push_heads(self, now: datetime, transport: str) -> list[dict[str, Any]]:
        """For each partner, its oldest queued item for a push `transport` ("webhook", "nats"),
        if it is due. A partner whose oldest item is waiting for a retry gets nothing sent, so
        its order holds."""
        first = (
            sa.select(sa.func.min(deliveries.c.id))
            .where(deliveries.c.status == "queued", deliveries.c.transport == transport)
            .group_by(deliveries.c.partner_id)
        )
        q = sa.select(deliveries).where(
            deliveries.c.id.in_(first), deliveries.c.next_attempt_at <= now
        )
        return [dict(r) for r in self._conn.execute(q.order_by(deliveries.c.id)).mappings()]

    def failed_attempt(
        self, item_id: int, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed try: retry at `retry_at`, or a dead letter when it is None."""
        self._conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == item_id)
            .values(
                attempts=attempts,
                last_error=error[:300],
                next_attempt_at=retry_at,
                status="queued" if retry_at else "dead",
            )
        )

    def mark_delivered(self, ids: list[int], now: datetime) -> None:
        if not ids:
            return
        if self._pg:  # built once: the ids as one array
            self._conn.execute(MARK_DELIVERED, {"ids": ids, "now": now})
            return
        self._conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.id.in_(ids), deliveries.c.status == "queued")
            .values(status="delivered", delivered_at=now)
        )

    def withhold(self, ids: list[int], reason: str, now: datetime) -> int:
        """Drop queued items that never left: they are never sent, whatever happens to the
        agreement later. Returns how many were withheld (each item at most once)."""
        if not ids:
            return 0
        result = self._conn.execute(
            sa.update(deliveries)
            .where(
                deliveries.c.id.in_(ids),
                deliveries.c.status == "queued",
                deliveries.c.attempts == 0,
            )
            .values(status="withheld", payload=None, withheld_at=now, withheld_reason=reason[:120])
        )
        return int(result.rowcount)

    def set_aside(self, item_id: int, now: datetime) -> None:
        """A push item that failed in a way its transport cannot handle: `quarantined`, out of
        the queue (the partner's next items go), kept for the privacy officer to see."""
        self._conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == item_id, deliveries.c.status == "queued")
            .values(status="quarantined", withheld_at=now, withheld_reason="quarantined")
        )

    def stop_retries(self, ids: list[int], reason: str, now: datetime) -> int:
        """Stop retrying queued items that an earlier try already sent: `stopped`, payload
        destroyed. They were disclosed, so they are not withheld."""
        if not ids:
            return 0
        result = self._conn.execute(
            sa.update(deliveries)
            .where(
                deliveries.c.id.in_(ids),
                deliveries.c.status == "queued",
                deliveries.c.attempts > 0,
            )
            .values(status="stopped", payload=None, withheld_at=now, withheld_reason=reason[:120])
        )
        return int(result.rowcount)

    def for_partner(self, partner_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
        q = sa.select(
            deliveries.c.id,
            deliveries.c.agreement_id,
            deliveries.c.agreement_version,
            deliveries.c.event_id,
            deliveries.c.event_type,
            deliveries.c.subject,
            deliveries.c.status,
            deliveries.c.created_at,
            deliveries.c.delivered_at,
            deliveries.c.withheld_at,
            deliveries.c.withheld_reason,
            deliveries.c.transport,
            deliveries.c.attempts,
            deliveries.c.next_attempt_at,
            deliveries.c.last_error,
        )
        q = q.where(deliveries.c.partner_id == partner_id)
        if status:
            q = q.where(deliveries.c.status == status)
        return [
            dict(r) for r in self._conn.execute(q.order_by(deliveries.c.id).limit(limit)).mappings()
        ]


class DeliveryStream:
    """See `DeliveryRepository.stream`. Its COPY, once the first row opens it, is closed with
    `copies`."""

    def __init__(self, repository: DeliveryRepository, copies: contextlib.ExitStack) -> None:
        self._repository = repository
        self._copies = copies
        self._names: tuple[str, ...] | None = None
        self._write: Callable[[Sequence[Any]], None] = lambda _values: None
        self._values: Callable[[dict[str, Any]], tuple[Any, ...]] = tuple
        self.rest: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        repository = self._repository
        if not repository.postgres:
            self.rest.append(row)
            return
        names = tuple(row)  # the relay builds every row of a kind in the same key order
        if self._names is None:
            self._names, self._values = names, repository.values_of(names)
            copy = copy_stream(repository.connection, "deliveries", names)
            self._write = self._copies.enter_context(copy)
        if names != self._names:
            self.rest.append(row)
            return
        repository.queued = repository.queued or row.get("status") == "queued"
        self._write(self._values(row))
