"""`pars lifecycle run --dry-run` as users run it, over N arrests (default 10^6).

    uv run python -m bench.lifecycle_dry_run --arrests 1000000 --json
    uv run python -m bench.lifecycle_dry_run --arrests 20000            # a quick run
    uv run python -m bench.lifecycle_dry_run --backend postgres --arrests 1000000

Seeds a migrated database with direct inserts into `arrests` (not through the API: a million
arrests through the services would take hours): 20,000 rows made in Python, copied in SQL
(INSERT ... SELECT with a new id and OTN) up to N; each row has the columns and the snapshot
document a real arrest has (person block, narrative, location, charges, history), in a spread of
states like a large jurisdiction's history: 70% arraigned, 8% declined, 3% dismissed for lack of
probable cause, 5% diverted, the rest charged, released for summons or awaiting charging, with
arrest dates spread over ten years before the run. Then runs `pars lifecycle run --dry-run` (text
output) and `--dry-run --json` as child processes on the system clock, with the default rule and
30-day wait, and prints each one's wall time, peak resident memory and CPU time (that child's own,
from `os.wait4`), how many candidates it read and how many it would seal; `--json` prints one JSON
object on the last line. It asserts the dry run changed nothing (row count and a checksum of the
states). It asserts nothing about timing.

PostgreSQL: `PARS_BENCH_DATABASE_URL` (an admin URL; a `pars_bench_lifecycle_*` database is made
and dropped there), else a throwaway cluster from `tests/pg.py`. SQLite: a temporary file.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

KEYS = "bench1:" + base64.b64encode(b"b" * 32).decode()
SIGNING = base64.b64encode(b"l" * 32).decode()
_STATES = [
    ("arraigned", 70),
    ("declined", 8),
    ("dismissed", 3),
    ("diverted", 5),
    ("charged", 6),
    ("released_for_summons", 5),
    ("charging_review", 3),
]

_CHARGE = {
    "id": 1,
    "statute": "18 § 2701 §§ A1",
    "description": "Simple assault",
    "grade": "M2",
    "counts": 1,
    "modifier": None,
    "origin": "police",
    "decision": None,
    "recommended": None,
    "decision_reason": None,
}


def _document(rng: random.Random, i: int, state: str, arrested: datetime) -> dict[str, Any]:
    decided = arrested + timedelta(hours=rng.uniform(2, 20))
    doc: dict[str, Any] = {
        "arrested_at": arrested.isoformat(),
        "submitted_at": (arrested + timedelta(minutes=40)).isoformat(),
        "report_number": f"R{i:09d}",
        "incident_number": f"I{i:09d}",
        "arrest_type": "on_view",
        "person": {
            "last_name": f"Last{i % 50_000}",
            "first_name": f"First{i % 3_000}",
            "date_of_birth": "1990-04-0" + str(1 + i % 9),
            "sex": "M" if i % 2 else "F",
            "address": f"{i % 9000} Market St, Philadelphia PA",
        },
        "location": {"address": f"{i % 4000} Broad St", "district": f"{1 + i % 22:02d}"},
        "narrative": "Officer observed the defendant strike the complainant. " * 3,
        "juvenile": False,
    }
    if state != "charging_review":
        outcome = {"declined": "decline", "diverted": "divert"}.get(state, "charge")
        doc["charging"] = {
            "outcome": outcome,
            "reason": None if outcome == "charge" else "bench",
            "notes": None,
            "decided_by": "prosecutor1",
            "decided_at": decided.isoformat(),
        }
    if state in ("arraigned", "dismissed"):
        doc["arraignment"] = {
            "session_at": (decided + timedelta(hours=3)).isoformat(),
            "probable_cause_found": state == "arraigned",
            "recorded_by": "magistrate1",
            "recorded_at": (decided + timedelta(hours=3, minutes=20)).isoformat(),
            "docket_number": f"MC-51-CR-{i:07d}-2026" if state == "arraigned" else None,
        }
    return doc


_TEMPLATE = 20_000  # arrests made row by row; the rest are copies of them made in SQL


def build(url: str, n: int, now: datetime, seed: int = 12) -> dict[str, int]:
    """`min(n, 20000)` arrests made in Python, then copied in SQL (INSERT ... SELECT, new id,
    OTN and no docket number) until there are `n`: the same spread of states and dates."""
    made = min(n, _TEMPLATE)
    counts = _build_rows(url, made, now, seed)
    if n <= made:
        return counts
    from pars.store.engine import make_engine

    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    new_id = "lower(hex(randomblob(16)))" if sqlite else "gen_random_uuid()::text"
    number = f"CAST(substr(otn, 2, 7) AS INTEGER) + :k * {made}"
    otn = (
        f"'Q' || printf('%07d', {number}) || '-0'"
        if sqlite
        else f"'Q' || lpad(({number})::text, 7, '0') || '-0'"
    )
    cols = (
        "state, custody, version, arrested_at, district, last_name_key, first_name_key, "
        "person_id, created_by, created_at, updated_at, document, protected"
    )
    copy = sa.text(
        f"INSERT INTO arrests (id, otn, docket_number, {cols}) "
        f"SELECT {new_id}, {otn}, NULL, {cols} FROM arrests "
        f"WHERE CAST(substr(otn, 2, 7) AS INTEGER) < {made} "
        f"AND CAST(substr(otn, 2, 7) AS INTEGER) < :left"
    )
    k = 1
    while made * k < n:
        with engine.begin() as conn:
            conn.execute(copy, {"k": k, "left": n - made * k})
        print(f"  copied {min(n, made * (k + 1)):,}/{n:,}", end="\r", file=sys.stderr)
        k += 1
    with engine.connect() as conn:
        q = "SELECT state, count(*) FROM arrests GROUP BY state"
        counts = {state: int(c) for state, c in conn.exec_driver_sql(q)}
    engine.dispose()
    return counts


def _build_rows(url: str, n: int, now: datetime, seed: int) -> dict[str, int]:
    from pars.store.engine import make_engine, migrate
    from pars.store.tables import arrests

    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(seed)
    names = [s for s, _ in _STATES]
    weights = [w for _, w in _STATES]
    counts: dict[str, int] = {}
    batch = 5_000
    with engine.begin() as conn:
        for start in range(0, n, batch):
            rows = []
            for i in range(start, min(n, start + batch)):
                state = rng.choices(names, weights)[0]
                counts[state] = counts.get(state, 0) + 1
                arrested = now - timedelta(days=rng.uniform(1, 3650))
                doc = _document(rng, i, state, arrested)
                rows.append(
                    {
                        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "otn": f"Q{i:07d}-0",
                        "state": state,
                        "custody": "released",
                        "version": 4,
                        "arrested_at": arrested,
                        "district": doc["location"]["district"],
                        "last_name_key": doc["person"]["last_name"].lower(),
                        "first_name_key": doc["person"]["first_name"].lower(),
                        "docket_number": (doc.get("arraignment") or {}).get("docket_number"),
                        "person_id": None,
                        "created_by": "officer1",
                        "created_at": arrested,
                        "updated_at": arrested + timedelta(days=1),
                        "document": {
                            "document": doc,
                            "charges": [_CHARGE],
                            "state": state,
                            "custody": "released",
                            "history": [
                                {
                                    "action": "submit",
                                    "by": "officer1",
                                    "at": doc["submitted_at"],
                                    "state": "submitted",
                                }
                            ],
                        },
                        "protected": None,
                    }
                )
            conn.execute(sa.insert(arrests), rows)
            print(f"  built {min(n, start + batch):,}/{n:,}", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    engine.dispose()
    return counts


def fingerprint(url: str) -> tuple[int, int, int]:
    """Rows, sealed rows and the sum of versions: what a write would change."""
    from pars.store.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT count(*), sum(CASE WHEN state = 'sealed' THEN 1 ELSE 0 END), sum(version)"
            " FROM arrests"
        ).one()
        audit = conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar()
    engine.dispose()
    return int(row[0]), int(row[1] or 0) + int(audit or 0), int(row[2])


def run_command(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """`pars <args>` as a child process (`bench.identity.run_command`), its last line as
    `last`."""
    from bench.identity import run_command as run

    done = run(args, env, digits=2)
    done["last"] = done.pop("output")
    return done


@contextlib.contextmanager
def database(backend: str, work: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'pars.db'}"
        return
    from bench.intake import bench_database, postgres_admin

    with postgres_admin() as (admin, how):
        print(f"PostgreSQL: {how}", file=sys.stderr)
        name = f"pars_bench_lifecycle_{os.getpid()}"
        with bench_database(admin, name) as url:
            yield url


def measure(backend: str, arrests: int, where: str | None = None) -> dict[str, Any]:
    """Build `arrests` on `backend`, run both dry runs, check nothing changed; the figures."""
    started = datetime.now(UTC)
    print(f"lifecycle dry-run benchmark, {started:%Y-%m-%d %H:%M} UTC, {arrests:,} arrests,"
          f" {backend}")  # fmt: skip
    result: dict[str, Any] = {
        "benchmark": "lifecycle_dry_run",
        "date": started.isoformat(timespec="seconds"),
        "backend": backend,
        "arrests": arrests,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(dir=where) as tmp, database(backend, Path(tmp)) as url:
        t = time.perf_counter()
        result["states"] = build(url, arrests, started)
        result["build_seconds"] = round(time.perf_counter() - t, 1)
        print(f"built in {result['build_seconds']} s: {result['states']}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_")}
        env |= {
            "PARS_DATABASE_URL": url,
            "PARS_DATA_DIR": tmp,
            "PARS_ENCRYPTION_KEYS": KEYS,
            "PARS_AUDIT_SIGNING_KEY": SIGNING,
            "PARS_LOG_LEVEL": "warning",
        }
        before = fingerprint(url)
        text = run_command(["lifecycle", "run", "--dry-run"], env)
        as_json = run_command(["lifecycle", "run", "--dry-run", "--json"], env)
        assert fingerprint(url) == before, "the dry run changed the database"
        summary = json.loads(as_json.pop("last"))
        result["candidates_read"] = summary["examined"]
        result["would_seal"] = summary["would_seal"]
        text.pop("last")
        result["dry_run_text"] = text
        result["dry_run_json"] = as_json
        for name, fig in (("text", text), ("json", as_json)):
            print(f"dry run ({name}): {fig['seconds']} s wall, {fig['cpu_seconds']} s CPU,"
                  f" peak RSS {fig['peak_rss_mb']} MB")  # fmt: skip
        print(f"read {summary['examined']:,} candidates of {arrests:,} arrests; would seal"
              f" {summary['would_seal']:,}; database unchanged")  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arrests", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--dir", help="where to build the SQLite database (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="one JSON object on the last line")
    args = parser.parse_args()
    result = measure(args.backend, args.arrests, args.dir)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
