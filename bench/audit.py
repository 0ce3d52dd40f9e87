"""Disclosure-log benchmark: the database-backed RFC 6962 log, with pymerkle side by side.

For each backend (SQLite, PostgreSQL) it measures, on a freshly migrated database:

1. appends/s through `pars.store.audit.append_rows`: one entry per transaction, and batches of
   1,000 and 10,000 entries per transaction (realistic disclosure entries);
2. at each size (default 10^5, 10^6, 10^7 leaves; the log is grown with minimal entries, the
   very rows and nodes `append_rows` writes but bulk-written (COPY / executemany) in
   transactions of 100,000, and the build time printed), inclusion and
   consistency proofs over random leaves / old sizes, p50 and p99:
   - "store": `pars.store.audit.prefetched` on an open read transaction, as services/audit.py
     calls it (the proof only: its nodes in one query);
   - "service": the whole `pars.services.audit.inclusion_proof` / `consistency_proof` call
     (its own read transaction, the log size, the proof, the leaf and the root(s));
3. at 10^6 entries (or the largest size below it), full verification, reported per million
   entries: the lead's `pars.services.audit_verify.verify(pars)` if the module exists, and the
   stand-alone verifier (`pars.audit.standalone`) over an export of the same log (export time
   printed apart); the output says which ran.

Then pymerkle (7, in memory) in the same run: appends/s, and proof times at the same sizes as
far as its build fits the time budget (`--pymerkle-budget`; skipped sizes are said so).
It prints the targets next to the figures; it asserts nothing about timing. Run from the root:

    uv run python -m bench.audit [--backend sqlite|postgres|both] [--sizes 1e5,1e6,1e7]
                                 [--samples 1000] [--quick]

PostgreSQL: `PARS_BENCH_DATABASE_URL` (an admin URL; a `pars_bench_audit_*` database is created
and dropped there), else a throwaway cluster from `tests/pg.py`. SQLite: a file in a temporary
directory. Both are deleted at the end. The 10^7 build writes ~10 GB per backend (check `df`).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import inspect
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BULK_BATCH = 100_000
TARGET_APPENDS = 50_000  # appends/s, batched
TARGET_PROOF_MS = 1.0  # at 10^7 entries
TARGET_VERIFY_S = 10.0  # per 10^6 entries


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _ms(values: list[float]) -> str:
    return f"p50 {_pct(values, 0.5) * 1e3:7.3f} ms  p99 {_pct(values, 0.99) * 1e3:7.3f} ms"


@dataclass
class Figures:
    """What the summary needs, per backend (or pymerkle)."""

    name: str
    appends: dict[str, float] = field(default_factory=dict)  # label -> entries/s
    proofs: dict[tuple[int, str], tuple[float, float]] = field(default_factory=dict)  # p50, p99 s
    builds: dict[int, float] = field(default_factory=dict)  # size -> seconds
    verify: dict[str, float] = field(default_factory=dict)  # label -> seconds per 10^6 entries
    notes: list[str] = field(default_factory=list)


# -- PARS on a database ----------------------------------------------------------------------


class QueryCounter:
    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *_args: Any) -> None:
        self.count += 1


def _pars(url: str, data_dir: Path) -> Any:
    from pars.config import Settings
    from pars.crypto import KeyRing
    from pars.services.app import Pars

    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        encryption_keys="bench:" + base64.b64encode(b"e" * 32).decode(),
        audit_signing_key=base64.b64encode(b"a" * 32).decode(),
    )
    return Pars(settings, keys=KeyRing.load(settings.encryption_keys, data_dir))


def _disclosure_row(i: int) -> Any:
    from pars.store.audit import AuditRow

    return AuditRow(
        actor="relay",
        role="system",
        action="disclosure:delivered",
        subject="partner-north",
        details={"attempt": 1, "endpoint": "webhook"},
        agreement_id="0b5c3a8e-6f0e-4b7e-9a53-2f4f1c9d7e21",
        agreement_version=3,
        record_id=f"7d0f9a1e-0000-4000-8000-{i:012d}",
        classes=("case", "charges", "identity"),
        payload_hash=f"{i:064x}",
        salt=b"s" * 16,
    )


def _minimal_row() -> Any:
    from pars.store.audit import AuditRow

    return AuditRow(actor="bench", action="bench:fill")


def _write(pars: Any, rows: list[Any]) -> None:
    from pars.store.audit import append_rows
    from pars.store.engine import write_turn

    with write_turn(pars.engine), pars.engine.begin() as conn:
        append_rows(conn, rows, AT)


def bench_appends(pars: Any, fig: Figures, single: int, batched: int) -> None:
    start = time.perf_counter()
    for i in range(single):
        _write(pars, [_disclosure_row(i)])
    rate = single / (time.perf_counter() - start)
    fig.appends["1 per transaction"] = rate
    _say(f"  appends, 1 entry per transaction:      {rate:10,.0f} /s   ({single:,} entries)")
    for batch in (1_000, 10_000):
        _batched(pars, fig, batch, batched, "")


def _batched(pars: Any, fig: Figures, batch: int, batched: int, where: str) -> None:
    """Append about `batched` realistic entries, `batch` per transaction; `where` names the
    log's size when it is not the fresh log."""
    total = max(batch, batched // batch * batch)
    rows = [_disclosure_row(i) for i in range(batch)]
    start = time.perf_counter()
    for _ in range(total // batch):
        _write(pars, rows)
    rate = total / (time.perf_counter() - start)
    fig.appends[f"{batch:,} per transaction{where}"] = rate
    _say(
        f"  appends, {batch:>6,} per transaction{where}:     {rate:10,.0f} /s   ({total:,} entries)"
        f"   target >= {TARGET_APPENDS:,}/s: {'met' if rate >= TARGET_APPENDS else 'NOT met'}"
    )


def _minimal_entry(i: int) -> bytes:
    """The entry `append_rows` writes for `_minimal_row()` at leaf i."""
    from pars.audit.entries import encode_entry

    return encode_entry(
        index=i, at=AT, actor="bench", role=None, action="bench:fill", subject=None,
        outcome="success", agreement=None, record=None, classes=[], payload_hash=None, details={},
    )  # fmt: skip


class _Collecting:
    """A NodeStore that reads earlier nodes from the database and keeps the new ones."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.items: list[tuple[int, int, bytes]] = []

    def get(self, level: int, index: int) -> bytes | None:
        return self.db.get(level, index)  # type: ignore[no-any-return]

    def put_many(self, items: Any) -> None:
        self.items.extend(items)


def grow(pars: Any, size: int) -> tuple[int, float]:
    """Fill the log up to `size` with minimal entries; returns (added, seconds).

    The rows and nodes are exactly those `append_rows` writes for `AuditRow(actor="bench",
    action="bench:fill")` (same entry bytes, same tree, the head moved in the same
    transaction), but written with the driver's bulk path (COPY on PostgreSQL, executemany on
    SQLite), BULK_BATCH entries per transaction: `append_rows` itself is measured above."""
    from pars.audit.merkle import MerkleLog, leaf_hash
    from pars.store.audit import DbNodeStore, log_size
    from pars.store.engine import write_turn
    from pars.store.tables import audit_head

    with pars.reader() as uow:
        have = log_size(uow.conn)
    pg = pars.engine.dialect.name == "postgresql"
    sqlite_at = AT.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    start = last_report = time.perf_counter()
    added = 0
    while have < size:
        n = min(BULK_BATCH, size - have)
        entries = [_minimal_entry(i) for i in range(have, have + n)]
        with write_turn(pars.engine), pars.engine.begin() as conn:
            store = _Collecting(DbNodeStore(conn))
            MerkleLog(store, have).append([leaf_hash(e) for e in entries])
            columns = "(at, actor, action, outcome, details, leaf_index, entry)"
            if pg:
                raw = conn.connection.driver_connection
                assert raw is not None
                with raw.cursor() as cur:
                    with cur.copy(f"COPY audit_log {columns} FROM STDIN") as copy:
                        for i, e in enumerate(entries, have):
                            copy.write_row((AT, "bench", "bench:fill", "success", "{}", i, e))
                    with cur.copy("COPY audit_nodes (level, idx, hash) FROM STDIN") as copy:
                        for item in store.items:
                            copy.write_row(item)
            else:
                conn.exec_driver_sql(
                    f"INSERT INTO audit_log {columns} VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (sqlite_at, "bench", "bench:fill", "success", "{}", i, e)
                        for i, e in enumerate(entries, have)
                    ],
                )
                conn.exec_driver_sql(
                    "INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", store.items
                )
            conn.execute(sa.update(audit_head).values(size=have + n))
        have += n
        added += n
        if time.perf_counter() - last_report > 60:
            last_report = time.perf_counter()
            _log(f"  building: {have:,}/{size:,} ({added / (last_report - start):,.0f} entries/s)")
    return added, time.perf_counter() - start


PROOF_BUDGET = [60.0]  # seconds per measurement; --proof-budget


def _timed(calls: list[Callable[[], object]]) -> list[float]:
    """Times each call; stops after PROOF_BUDGET seconds (at least 5 calls), so a slow path
    at 10^7 does not take hours. The count is printed with the figures."""
    times: list[float] = []
    began = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if len(times) >= 5 and t0 - began > PROOF_BUDGET[0]:
            break
    return times


def bench_proofs(
    pars: Any, queries: QueryCounter, fig: Figures, size: int, samples: int, rng: random.Random
) -> None:
    from pars.audit.merkle import MerkleLog, verify_consistency, verify_inclusion
    from pars.services import audit as service
    from pars.store.audit import prefetched

    indexes = [rng.randrange(size) for _ in range(samples)]
    olds = [rng.randrange(1, size) for _ in range(samples)]
    with pars.reader() as uow:
        conn = uow.conn
        root = prefetched(conn, size, MerkleLog.root)
        before = queries.count
        incl = _timed(
            [
                (lambda i=i: prefetched(conn, size, lambda t: t.inclusion_proof(i, size)))
                for i in indexes
            ]
        )
        q_incl = (queries.count - before) / len(incl)
        before = queries.count
        cons = _timed(
            [
                (lambda m=m: prefetched(conn, size, lambda t: t.consistency_proof(m, size)))
                for m in olds
            ]
        )
        q_cons = (queries.count - before) / len(cons)
        # Spot-check that what was timed is right.
        i, m = indexes[0], olds[0]
        proof = prefetched(conn, size, lambda t: t.inclusion_proof(i, size))
        leaf = prefetched(conn, size, lambda t: t.subtree(i, i + 1))
        cproof = prefetched(conn, size, lambda t: t.consistency_proof(m, size))
        old_root = prefetched(conn, m, MerkleLog.root)
        valid = verify_inclusion(leaf, i, size, proof, root) and verify_consistency(
            m, size, old_root, root, cproof
        )
    rows = [
        ("inclusion, store (prefetched)", incl, q_incl),
        ("consistency, store (prefetched)", cons, q_cons),
    ]
    try:  # services/audit.py is being changed beside this benchmark
        before = queries.count
        s_incl = _timed(
            [(lambda i=i: service.inclusion_proof(pars, i, size)) for i in indexes[: samples // 2]]
        )
        rows.append(("inclusion, service call", s_incl, (queries.count - before) / len(s_incl)))
        before = queries.count
        s_cons = _timed(
            [(lambda m=m: service.consistency_proof(pars, m, size)) for m in olds[: samples // 2]]
        )
        rows.append(("consistency, service call", s_cons, (queries.count - before) / len(s_cons)))
    except Exception as e:
        _say(f"    service-level proofs FAILED to run: {e!r}")
    for label, times, q in rows:
        fig.proofs[(size, label)] = (_pct(times, 0.5), _pct(times, 0.99))
        _say(f"    {label:33} {_ms(times)}   {q:4.1f} queries/call   (n={len(times)})")
    _say(f"    (proofs checked with pars.audit.merkle verifiers: {valid})")


def _verified(fig: Figures, label: str, took: float, size: int, ok: bool) -> None:
    per_million = took * 1_000_000 / size
    fig.verify[label] = per_million
    verdict = "met" if per_million < TARGET_VERIFY_S else "NOT met"
    _say(
        f"    {label}: {took:.1f} s for {size:,} entries = {per_million:.1f} s per 10^6"
        f"   ok: {ok}   target < {TARGET_VERIFY_S:.0f} s: {verdict}"
    )


def bench_verify(pars: Any, fig: Figures, size: int, work: Path) -> None:
    from pars.audit import standalone
    from pars.services import audit as service
    from pars.services.app import Principal

    who = Principal("bench", "admin")
    # services/audit.py is being changed beside this benchmark: pass the caller if asked for.
    wants_who = len(inspect.signature(service.checkpoint).parameters) > 1
    service.checkpoint(pars, who) if wants_who else service.checkpoint(pars)
    try:
        from pars.services.audit_verify import verify
    except ImportError:
        verify = None
        _say("    pars.services.audit_verify: not present; the stand-alone verifier only")
    if verify is not None:
        start = time.perf_counter()
        try:
            report = verify(pars)
        except Exception as e:  # a verifier mid-change must not cost the whole run
            _say(f"    pars.services.audit_verify.verify(pars) FAILED to run: {e!r}")
            verify = None
    if verify is not None:
        took = time.perf_counter() - start
        _verified(fig, "pars.services.audit_verify.verify(pars)", took, size, report.ok)
    export = work / "export.jsonl"
    start = time.perf_counter()
    with export.open("w") as f:
        wants_who = "who" in inspect.signature(service.export_lines).parameters
        lines = service.export_lines(pars, who) if wants_who else service.export_lines(pars)
        f.writelines(lines)
    exported = time.perf_counter() - start
    checkpoints = service.all_checkpoints(pars)
    key = pars.signer.public_raw
    start = time.perf_counter()
    with export.open("rb") as f:
        report = standalone.verify_export(f, checkpoints, key, require_all=True)
    took = time.perf_counter() - start
    _verified(fig, "stand-alone verifier over the export", took, size, report.ok)
    _say(
        f"    (export: {exported:.1f} s, {export.stat().st_size / 1e6:,.0f} MB; "
        f"verified {report.entries:,} entries, {len(report.matched)} checkpoint(s))"
    )
    export.unlink()


def run_backend(
    name: str, url: str, data_dir: Path, args: argparse.Namespace, sizes: list[int]
) -> Figures:
    from pars.store.engine import migrate

    fig = Figures(name)
    pars = _pars(url, data_dir)
    migrate(pars.engine)
    queries = QueryCounter(pars.engine)
    rng = random.Random(6962)
    _say(f"\n== {name} ==")
    bench_appends(pars, fig, args.single, args.batched)
    verify_at = max([s for s in sizes if s <= 1_000_000], default=sizes[0])
    for size in sizes:
        added, took = grow(pars, size)
        fig.builds[size] = took
        rate = added / took if took else 0.0
        _say(
            f"  size {size:,}: grown by {added:,} minimal entries (append_rows' rows and nodes, "
            f"bulk-written, {BULK_BATCH:,} per transaction) in {took:.1f} s ({rate:,.0f} /s)"
        )
        gc.collect()
        bench_proofs(pars, queries, fig, size, args.samples, rng)
        if size == verify_at:
            bench_verify(pars, fig, size, data_dir)
    # The batched appends again, onto the grown log (its indexes and tree at the largest size).
    _batched(pars, fig, 10_000, args.batched, f" at {max(sizes):,}")
    if pars.engine.dialect.name == "postgresql":
        with pars.engine.connect() as conn:
            db = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
        _say(f"  database size: {int(db or 0) / 1e9:.1f} GB")
    else:
        db_file = data_dir / "pars.db"
        _say(f"  database size: {db_file.stat().st_size / 1e9:.1f} GB")
    pars.engine.dispose()
    return fig


@contextlib.contextmanager
def sqlite_url(work: Path) -> Iterator[str]:
    yield f"sqlite:///{work / 'pars.db'}"


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.intake import bench_database, postgres_admin

    with postgres_admin() as (admin, how):
        _log(f"PostgreSQL: {how}")
        name = f"pars_bench_audit_{os.getpid()}"
        with bench_database(admin, name) as url:
            yield url


# -- pymerkle --------------------------------------------------------------------------------


def bench_pymerkle(args: argparse.Namespace, sizes: list[int]) -> Figures:
    fig = Figures("pymerkle (in memory)")
    try:
        import pymerkle
    except ImportError:
        _say("\n== pymerkle: not installed (uv sync --frozen --group bench) ==")
        return fig
    from pars.audit.merkle import MemoryNodeStore, MerkleLog, leaf_hash

    _say(f"\n== pymerkle {pymerkle.__version__}, InmemoryTree (sha256), same process ==")
    rng = random.Random(6962)

    entry = _minimal_entry
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    single = args.single * 10
    start = time.perf_counter()
    for i in range(single):
        tree.append_entry(entry(i))
    took = time.perf_counter() - start
    fig.appends["append_entry"] = single / took
    _say(f"  appends, append_entry (entry encoding included): {single / took:10,.0f} /s")
    # The same leaves in pars.audit.merkle give the same root (both are RFC 6962).
    ours = MerkleLog(MemoryNodeStore())
    ours.append([leaf_hash(entry(i)) for i in range(single)])
    _say(f"  same root as pars.audit.merkle at {single:,}: {tree.get_root() == ours.root()}")
    per_entry = took / single
    for size in sizes:
        estimate = (size - tree.get_size()) * per_entry
        if estimate > args.pymerkle_budget:
            msg = (
                f"size {size:,}: skipped (building it would take ~{estimate / 60:.0f} min, over "
                f"the {args.pymerkle_budget:.0f} s budget; --pymerkle-budget to raise it)"
            )
            fig.notes.append(msg)
            _say(f"  {msg}")
            continue
        start = time.perf_counter()
        for i in range(tree.get_size(), size):
            tree.append_entry(entry(i))
        took = time.perf_counter() - start
        fig.builds[size] = took
        per_entry = max(per_entry, took / max(1, size - single))
        _say(f"  size {size:,}: built in {took:.1f} s")
        gc.collect()
        gc.freeze()
        indexes = [rng.randrange(1, size + 1) for _ in range(args.samples)]
        olds = [rng.randrange(1, size) for _ in range(args.samples)]
        incl = _timed([(lambda i=i, n=size: tree.prove_inclusion(i, n)) for i in indexes])
        cons = _timed([(lambda m=m, n=size: tree.prove_consistency(m, n)) for m in olds])
        for label, times in (("inclusion", incl), ("consistency", cons)):
            fig.proofs[(size, label)] = (_pct(times, 0.5), _pct(times, 0.99))
            _say(f"    {label:33} {_ms(times)}")
        gc.unfreeze()
    return fig


# -- summary ---------------------------------------------------------------------------------


def summary(figs: list[Figures], sizes: list[int]) -> None:
    _say("\n== summary against the targets ==")
    for fig in figs:
        _say(f"{fig.name}:")
        best = max(
            (
                v
                for k, v in fig.appends.items()
                if "per transaction" in k and not k.startswith("1 ")
            ),
            default=None,
        )
        if best is not None:
            verdict = "met" if best >= TARGET_APPENDS else "NOT met"
            _say(
                f"  batched appends: best {best:,.0f} /s (target >= {TARGET_APPENDS:,}): {verdict}"
            )
        elif fig.appends:
            _say(f"  appends: {max(fig.appends.values()):,.0f} /s (in memory, one at a time)")
        top = max(sizes)
        for (size, label), (p50, p99) in sorted(fig.proofs.items()):
            if size != top:
                continue
            verdict = "met" if p99 * 1e3 < TARGET_PROOF_MS else "NOT met"
            target = f"target < {TARGET_PROOF_MS:g} ms at 10^7" if top >= 10**7 else ""
            _say(
                f"  {label} at {size:,}: p50 {p50 * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms"
                + (f" ({target}, by p99: {verdict})" if target else "")
            )
        for label, seconds in fig.verify.items():
            verdict = "met" if seconds < TARGET_VERIFY_S else "NOT met"
            _say(
                f"  verification, {label}: {seconds:.1f} s per 10^6 entries "
                f"(target < {TARGET_VERIFY_S:.0f} s): {verdict}"
            )
        for note in fig.notes:
            _say(f"  {note}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__.split("\n")[0])
    p.add_argument(
        "--backend",
        choices=["sqlite", "postgres", "both", "none"],
        default="both",
        help="none: pymerkle only",
    )
    p.add_argument("--sizes", default="1e5,1e6,1e7", help="comma-separated log sizes")
    p.add_argument("--samples", type=int, default=1000, help="random proofs timed per size")
    p.add_argument("--single", type=int, default=2000, help="entries appended one per transaction")
    p.add_argument("--batched", type=int, default=100_000, help="entries per batched measurement")
    p.add_argument(
        "--pymerkle-budget", type=float, default=600, help="seconds pymerkle may spend per build"
    )
    p.add_argument(
        "--proof-budget", type=float, default=60, help="seconds per proof measurement at most"
    )
    p.add_argument("--no-pymerkle", action="store_true")
    p.add_argument("--quick", action="store_true", help="a small smoke run")
    p.add_argument("--json", action="store_true", help="the figures as one JSON object, last")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.samples, args.single, args.batched = "2e4,5e4", 200, 200, 10_000
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = sorted({int(float(s)) for s in args.sizes.split(",")})
    PROOF_BUDGET[0] = args.proof_budget
    _say(
        f"bench/audit.py  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  Python "
        f"{sys.version.split()[0]} on {platform.machine()}, {os.cpu_count()} CPUs  "
        f"sizes {', '.join(f'{s:,}' for s in sizes)}  {args.samples} proofs per size"
    )
    figs: list[Figures] = []
    backends = {"both": ["sqlite", "postgres"], "none": []}.get(args.backend, [args.backend])
    for backend in backends:
        work = Path(tempfile.mkdtemp(prefix=f"pars-bench-audit-{backend}-"))
        try:
            maker = sqlite_url(work) if backend == "sqlite" else postgres_url()
            with maker as url:
                figs.append(run_backend(backend, url, work, args, sizes))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if not args.no_pymerkle:
        figs.append(bench_pymerkle(args, sizes))
    summary(figs, sizes)
    _say(
        "\nstore = pars.store.audit.prefetched on an open read transaction (the proof's nodes in "
        "one query); service = the whole pars.services.audit call (own transaction, size, "
        "proof, leaf, roots)."
    )
    if args.json:
        print(json.dumps({"benchmark": "audit", "figures": [_as_json(f) for f in figs]}))


def _as_json(fig: Figures) -> dict[str, Any]:
    """One backend's figures: appends per second, proof p50/p99 in ms per (size, path), build
    seconds per size, verify seconds per 10^6 entries."""
    return {
        "name": fig.name,
        "appends_per_s": {k: round(v, 1) for k, v in fig.appends.items()},
        "proofs_ms": {
            f"{size}:{label}": {"p50": round(p50 * 1000, 3), "p99": round(p99 * 1000, 3)}
            for (size, label), (p50, p99) in fig.proofs.items()
        },
        "build_s": {str(size): round(v, 2) for size, v in fig.builds.items()},
        "verify_s_per_1e6": {k: round(v, 2) for k, v in fig.verify.items()},
        "notes": fig.notes,
    }


if __name__ == "__main__":
    main()
