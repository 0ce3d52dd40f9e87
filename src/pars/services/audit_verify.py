"""`pars audit verify`: recompute the whole disclosure log from its entries and check it.

One pass over the entries in leaf order, holding only the right edge of the tree (O(log n)):

* leaves are numbered 0, 1, 2, ... with no gap (a deleted row or a truncated log shows here),
  and each entry names its own index (a reordered row shows here);
* each row's queried columns say what its logged entry says (the transparency report counts
  columns, so columns rewritten without the entry would make it lie);
* each leaf hash, and every subtree hash the entries complete, equals the cached one;
* the root at every checkpoint's size equals the checkpoint's root, and every checkpoint is
  signed by the log's key. Roots recomputed from the same entries match two checkpoints only if
  the later one extends the earlier, so this also checks consistency between them.

The first problem is the first bad entry (or cached hash), exactly; at most `limit` are listed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pars.audit.checkpoint import parse_note, verify_note
from pars.audit.entries import instant
from pars.audit.merkle import EMPTY_ROOT, leaf_hash, node_hash
from pars.services.app import Pars
from pars.store import audit as log

__all__ = ["Report", "verify"]

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


def _columns_problem(row: Any, entry: dict[str, Any]) -> str | None:
    agreement = None if row.agreement_id is None else f"{row.agreement_id}/v{row.agreement_version}"
    checks = (
        ("at", instant(row.at), entry.get("at")),
        ("actor", row.actor, entry.get("actor")),
        ("action", row.action, entry.get("action")),
        ("agreement", agreement, entry.get("agreement")),
        ("record_id", row.record_id, entry.get("record")),
        ("payload_hash", row.payload_hash, entry.get("payload_hash")),
        ("classes", row.classes or "", ",".join(entry.get("classes") or [])),
    )
    for name, column, logged in checks:
        if column != logged:
            return f"column {name} differs from the logged entry"
    return None


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

    public = pars.signer.public_raw
    with pars.reader() as uow:
        conn = uow.conn
        report.size = size = log.log_size(conn)
        by_size: dict[int, list[dict[str, Any]]] = {}
        for cp in reversed(log.checkpoints(conn)):
            report.checkpoints += 1
            where = f"checkpoint {cp['id']} (size {cp['size']})"
            if not verify_note(cp["note"], bytes(cp["signature"]), public):
                problem(f"{where}: the signature does not verify with the log's public key")
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

        stack: list[tuple[int, bytes]] = []
        expected = 0
        for start in range(0, size, _BATCH):
            end = min(start + _BATCH, size)
            cached = _cached(conn, start, end)
            for row in log.leaf_entries(conn, start, end):
                index = int(row.leaf_index)
                if index != expected:
                    problem(f"entry {expected}: missing (the next entry is {index})")
                    return report
                where = f"entry {index}"
                raw = log.as_bytes(row.entry)
                try:
                    entry = json.loads(raw)
                    if not isinstance(entry, dict):
                        raise ValueError
                except ValueError:
                    problem(f"{where}: the entry is not a log entry")
                    entry = {}
                if entry and entry.get("i") != index:
                    problem(f"{where}: the entry says it is entry {entry.get('i')}: reordered")
                elif entry and (issue := _columns_problem(row, entry)):
                    problem(f"{where}: {issue}")
                current = leaf_hash(raw)
                if cached.get((0, index)) != current:
                    problem(f"{where}: its hash differs from the cached leaf hash (0, {index})")
                level, idx = 0, index
                while stack and stack[-1][0] == level:
                    current = node_hash(stack.pop()[1], current)
                    level, idx = level + 1, idx >> 1
                    if cached.get((level, idx)) != current:
                        problem(f"cached subtree ({level}, {idx}) differs from the entries")
                stack.append((level, current))
                expected = index + 1
                for cp in by_size.get(expected, []):
                    if _root(stack) != bytes(cp["root"]):
                        problem(
                            f"checkpoint {cp['id']} (size {cp['size']}): the entries do not "
                            "hash to its root: the log was rewritten or forked"
                        )
            report.entries = expected
            if progress:
                progress(expected, size)
        if expected != size:
            problem(f"entry {expected}: missing (the log's size is {size})")
    return report


def _cached(conn: Any, start: int, end: int) -> dict[tuple[int, int], bytes]:
    """Cached nodes completed by leaves [start, end): (level, idx) with its last leaf,
    (idx + 1) * 2**level - 1, in that range."""
    out: dict[tuple[int, int], bytes] = {}
    level = 0
    while (1 << level) <= end:
        lo = -(-(start + 1) // (1 << level)) - 1  # ceil((start + 1) / 2**level) - 1
        hi = end // (1 << level)  # exclusive
        if hi > lo:
            out.update({(level, i): h for i, h in log.nodes_at_level(conn, level, lo, hi).items()})
        level += 1
    return out
