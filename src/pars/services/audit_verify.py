"""`pars audit verify`: recompute the whole disclosure log from its entries and check it.

One pass over the entries in leaf order, holding only the right edge of the tree (O(log n)):

* leaves are numbered 0, 1, 2, ... with no gap (a deleted row or a truncated log shows here),
  and each entry names its own index (a reordered row shows here);
* each row's queried columns say what its logged entry says (the transparency report counts
  columns, so columns rewritten without the entry would make it lie);
* each leaf hash, and every subtree hash the entries complete, equals the cached one;
* the root at every checkpoint's size equals the checkpoint's root, and every checkpoint is
  signed by the log's key and names it (by the C2SP key id, or by the legacy id for
  checkpoints signed before the signed-note format; the signed bytes are the same text).
  Roots recomputed from the same entries match two checkpoints only if the later one extends
  the earlier, so this also checks consistency between them.

The first problem is the first bad entry (or cached hash), exactly; at most `limit` are listed.

`verify_given` checks checkpoints kept outside the system (signed notes, the API's JSON answers,
`pars audit checkpoints` files, read by the stand-alone verifier's reader) against the log.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from pars.audit import standalone
from pars.audit.checkpoint import parse_note, verify_note
from pars.audit.entries import canonical_json, instant
from pars.audit.merkle import EMPTY_ROOT, MerkleLog, leaf_hash, node_hash
from pars.services.app import Pars
from pars.store import audit as log

__all__ = ["Report", "verify", "verify_given"]

_BATCH = 20_000


@dataclass
class Report:
    size: int = 0
    entries: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# The raw columns `verify` reads, in this order (driver values: on SQLite `at` is the stored
# text and `details` JSON text; on PostgreSQL an aware datetime and a dict).
_SELECT = (
    "SELECT leaf_index, entry, {at}, actor, role, action, subject, outcome, agreement_id, "
    "agreement_version, record_id, classes, payload_hash, "
    "CASE WHEN action = 'disclosure:withheld' THEN details END FROM audit_log "
    "WHERE leaf_index >= {m} AND leaf_index < {m} ORDER BY leaf_index"
)
# `at` as text: SQLite stores it so; PostgreSQL formats it as the entry does, in UTC.
_AT = {
    "sqlite": "at",
    "postgresql": "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
}
_PLAIN = frozenset(map(chr, range(32, 127))) - {'"', "\\"}


def _js(value: Any) -> str:
    """JSON of a column value as the canonical entry encodes it (fast for plain strings)."""
    if value is None:
        return "null"
    if isinstance(value, str) and _PLAIN.issuperset(value):
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=True)


def _at_text(value: Any) -> str:
    if isinstance(value, str):  # SQLite: "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC
        return f"{value[:10]}T{value[11:]}Z" if value[10:11] == " " else value
    return instant(value if value.tzinfo else value.replace(tzinfo=UTC))


class _Memo(dict[Any, bytes]):
    """The JSON of column values, made once: a log's actors, actions, agreements, times and
    subjects repeat from entry to entry, and encoding them again was a third of the check."""

    def __init__(self, encode: Callable[[Any], str]) -> None:
        super().__init__()
        self._encode = encode

    def __missing__(self, value: Any) -> bytes:
        if len(self) > 50_000:
            self.clear()  # bounded: unique values (record ids, hashes) would grow it forever
        out = self[value] = self._encode(value).encode()
        return out


def _listed(classes: str | None) -> str:
    return ",".join(f'"{c}"' for c in classes.split(",")) if classes else ""


_JS = _Memo(_js)
_AT_TEXT = _Memo(_at_text)
_CLASSES = _Memo(_listed)


def _expected(row: tuple[Any, ...]) -> tuple[bytes, bytes]:
    """The entry's bytes before and after its `details` value, rebuilt from the columns: the
    canonical entry sorts its keys, so everything but `details` sits in fixed places."""
    (index, _, at, actor, role, action, subject, outcome, agreement_id, version, record,
     classes, payload_hash, _) = row  # fmt: skip
    js = _JS
    agreement = None if agreement_id is None else f"{agreement_id}/v{version}"
    head = b"".join(
        (b'{"action":', js[action], b',"actor":', js[actor], b',"agreement":', js[agreement],
         b',"at":"', _AT_TEXT[at], b'","classes":[', _CLASSES[classes], b'],"details":')
    )  # fmt: skip
    tail = b"".join(
        (b',"i":', str(index).encode(), b',"outcome":', js[outcome], b',"payload_hash":',
         js[payload_hash], b',"record":', js[record], b',"role":', js[role], b',"subject":',
         js[subject], b',"v":1}')
    )  # fmt: skip
    return head, tail


def _columns_problem(row: tuple[Any, ...], raw: bytes) -> str | None:
    """None if the columns say what the logged entry says; else which one differs. The
    `details` column is compared for `disclosure:withheld` rows, whose count the report sums."""
    head, tail = _expected(row)
    if raw.startswith(head) and raw.endswith(tail) and len(raw) > len(head) + len(tail):
        if row[5] != "disclosure:withheld":
            return None
        details = row[13] if isinstance(row[13], dict) else json.loads(row[13] or "null")
        if canonical_json(details) == raw[len(head) : -len(tail)]:
            return None
        return "column details differs from the logged entry"
    try:
        entry = json.loads(raw)
    except ValueError:
        return "the entry is not a log entry"
    if not isinstance(entry, dict):
        return "the entry is not a log entry"
    if entry.get("i") != row[0]:
        return f"the entry says it is entry {entry.get('i')}: reordered"
    (_, _, at, actor, role, action, subject, outcome, agreement_id, version, record,
     classes, payload_hash, _) = row  # fmt: skip
    agreement = None if agreement_id is None else f"{agreement_id}/v{version}"
    checks = (
        ("at", _at_text(at), entry.get("at")),
        ("actor", actor, entry.get("actor")),
        ("role", role, entry.get("role")),
        ("action", action, entry.get("action")),
        ("subject", subject, entry.get("subject")),
        ("outcome", outcome, entry.get("outcome")),
        ("agreement", agreement, entry.get("agreement")),
        ("record_id", record, entry.get("record")),
        ("payload_hash", payload_hash, entry.get("payload_hash")),
        ("classes", classes or "", ",".join(entry.get("classes") or [])),
    )
    for name, column, logged in checks:
        if column != logged:
            return f"column {name} differs from the logged entry"
    return "the entry is not in canonical form"


def _root(stack: list[tuple[int, bytes]]) -> bytes:
    if not stack:
        return EMPTY_ROOT
    root = stack[-1][1]
    for _, h in reversed(stack[:-1]):
        root = node_hash(h, root)
    return root


def verify(
    pars: Pars, limit: int = 20, progress: Callable[[int, int], None] | None = None
) -> Report:
    report = Report()

    def problem(text: str) -> None:
        if len(report.problems) < limit:
            report.problems.append(text)

    from pars.services.audit import log_origin

    public = pars.signer.public_raw
    own_ids = {pars.signer.legacy_key_id, pars.signer.key_id(log_origin(pars)).hex()}
    with pars.reader() as uow:
        conn = uow.conn
        report.size = size = log.log_size(conn)
        by_size: dict[int, list[dict[str, Any]]] = {}
        for cp in reversed(log.checkpoints(conn)):
            report.checkpoints += 1
            where = f"checkpoint {cp['id']} (size {cp['size']})"
            if not verify_note(cp["note"], bytes(cp["signature"]), public):
                problem(f"{where}: the signature does not verify with the log's public key")
            elif cp["key_id"] not in own_ids:
                problem(f"{where}: it names key {cp['key_id']}, not this log's key")
            try:
                note = parse_note(cp["note"])
                if note.size != cp["size"] or note.root != bytes(cp["root"]):
                    problem(f"{where}: the stored size or root differs from the signed note")
            except ValueError:
                problem(f"{where}: the signed note is malformed")
            if cp["size"] > size:
                problem(f"{where}: the log holds only {size} entries; it was truncated")
            by_size.setdefault(int(cp["size"]), []).append(cp)
        for cp in by_size.get(0, []):
            if bytes(cp["root"]) != EMPTY_ROOT:
                problem(f"checkpoint {cp['id']} (size 0): root is not the empty tree's")

        select = _SELECT.format(
            m="?" if conn.dialect.paramstyle == "qmark" else "%s",
            at=_AT.get(conn.dialect.name, "at"),
        )

        def fetch(start: int) -> tuple[dict[int, dict[int, bytes]], list[tuple[Any, ...]]]:
            end = min(start + _BATCH, size)
            return _cached(conn, start, end), log.raw_rows(conn, select, (start, end))

        # The next batch is read (by the database, on the other core) while this one is checked;
        # only that thread uses the connection until the loop ends, and leaving the loop waits
        # for it.
        with ThreadPoolExecutor(1, thread_name_prefix="audit-verify") as reader:
            expected = _checked(reader, fetch, size, by_size, problem, progress, report)
        if expected is not None and expected != size:
            problem(f"entry {expected}: missing (the log's size is {size})")
    return report


def _checked(
    reader: ThreadPoolExecutor,
    fetch: Callable[[int], tuple[dict[int, dict[int, bytes]], list[tuple[Any, ...]]]],
    size: int,
    by_size: dict[int, list[dict[str, Any]]],
    problem: Callable[[str], None],
    progress: Callable[[int, int], None] | None,
    report: Report,
) -> int | None:
    """Check every batch in leaf order; returns the number of entries found in order, or None
    when a gap stopped the check (the problem is recorded)."""
    stack: list[tuple[int, bytes]] = []
    expected = 0
    ahead = reader.submit(fetch, 0) if size else None
    for start in range(0, size, _BATCH):
        assert ahead is not None
        cached, rows = ahead.result()
        ahead = reader.submit(fetch, start + _BATCH) if start + _BATCH < size else None
        leaves = cached[0]
        for row in rows:
            index = int(row[0])
            if index != expected:
                problem(f"entry {expected}: missing (the next entry is {index})")
                return None
            raw = log.as_bytes(row[1])
            if issue := _columns_problem(tuple(row), raw):
                problem(f"entry {index}: {issue}")
            current = leaf_hash(raw)
            if leaves.get(index) != current:
                problem(f"entry {index}: its hash differs from the cached leaf hash (0, {index})")
            level, idx = 0, index
            while stack and stack[-1][0] == level:
                current = node_hash(stack.pop()[1], current)
                level, idx = level + 1, idx >> 1
                if cached[level].get(idx) != current:
                    problem(f"cached subtree ({level}, {idx}) differs from the entries")
            stack.append((level, current))
            expected = index + 1
            for cp in by_size.get(expected, ()):
                if _root(stack) != bytes(cp["root"]):
                    problem(
                        f"checkpoint {cp['id']} (size {cp['size']}): the entries do not "
                        "hash to its root: the log was rewritten or forked"
                    )
        report.entries = expected
        if progress:
            progress(expected, size)
    return expected


def _cached(conn: Any, start: int, end: int) -> dict[int, dict[int, bytes]]:
    """Cached nodes completed by leaves [start, end), by level: (level, idx) with its last
    leaf, (idx + 1) * 2**level - 1, in that range."""
    out: dict[int, dict[int, bytes]] = defaultdict(dict)
    level = 0
    while (1 << level) <= end:
        lo = -(-(start + 1) // (1 << level)) - 1  # ceil((start + 1) / 2**level) - 1
        hi = end // (1 << level)  # exclusive
        if hi > lo:
            out[level] = log.nodes_at_level(conn, level, lo, hi)
        level += 1
    return out


def verify_given(pars: Pars, items: list[object]) -> Report:
    """Check checkpoints given from outside: each must be signed by the log's key (as a signed
    note, or in the earlier JSON form) and its root must be the log's root at its size now; a
    checkpoint larger than the log means the log was truncated."""
    from pars.services.audit import log_origin

    report = Report()
    key = standalone.LogKey(pars.signer.public_raw, log_origin(pars))
    checked = standalone.read_checkpoints(items, key)
    with pars.reader() as uow:
        report.size = size = log.log_size(uow.conn)
        for cp in checked:
            report.checkpoints += 1
            if cp.problem is not None:
                report.problems.append(f"{cp.label()}: {cp.problem}")
            elif cp.size > size:
                report.problems.append(
                    f"{cp.label()}: the log holds only {size} entries; it was truncated"
                )
            elif log.prefetched(uow.conn, cp.size, MerkleLog.root) != cp.root:
                report.problems.append(
                    f"{cp.label()}: the log's root at that size differs from the signed root: "
                    "the log was rewritten or forked"
                )
    report.entries = size
    return report
