"""`pars identity dedupe` as users run it: the command, in its own process, on N persons.

    uv run python -m bench.identity_dedupe --size 100000
    uv run python -m bench.identity_dedupe --size 1000000 --dir /tmp/benchdb --json

Builds a migrated SQLite database of `--size` persons, one matching record each, made the way an
identified arrest makes them: each person is an API person block (`last_name`, `first_name`,
`date_of_birth`, `sex`, `address`, `phone`, validated by the API's `PersonIn`), turned into its
matching record by `services.identity.record_fields` and keyed by the same blocking keys. A
share of them (`--duplicates`, 10% by default) are corrupted copies of an earlier person (every
corruption of `bench.identity.CORRUPTIONS`, through `bench.identity.Synth.corrupt`), so the
queue has work. (`bench/identity.py` runs the same commands on generated sets with truth and
scores what they find.) Then it runs `pars identity train` (unless `--no-train`) and `pars
identity dedupe --quiet` as subprocesses with `PARS_DATABASE_URL` pointing at the database, and
prints each command's wall time, peak resident memory and CPU time (that child's own resource
usage, from `os.wait4`: the builder runs in this process and is not counted), the command's own
summary line, and, with `--json`, one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.identity import KEYS, Synth, api_person, run_command


def build(url: str, n: int, duplicates: float, seed: int = 7) -> dict[str, Any]:
    """A migrated database with `n` persons and their matching records and keys."""
    import sqlalchemy as sa

    from pars.identity.linkage import keys_of
    from pars.services.identity import person_fields, record_fields
    from pars.services.inputs import PersonIn
    from pars.store.engine import make_engine, migrate
    from pars.store.identity_tables import identity_keys, identity_records
    from pars.store.tables import persons

    engine = make_engine(url)
    migrate(engine)
    synth = Synth(seed)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    made: list[dict[str, Any]] = []
    copies = keys = 0
    batch = 20_000
    with engine.begin() as conn:
        for start in range(0, n, batch):
            rows_p, rows_r, rows_k = [], [], []
            for i in range(start, min(n, start + batch)):
                if made and synth.rng.random() < duplicates:
                    raw = synth.corrupt(made[synth.rng.randrange(len(made))])
                    copies += 1
                else:
                    raw = synth.person()
                raw = {k: v for k, v in raw.items() if v is not None}
                made.append(raw)
                person = PersonIn.model_validate(api_person(raw)).model_dump(exclude_none=True)
                fields = record_fields(person)
                pid = f"{i:08d}-0000-4000-8000-000000000000"
                rows_p.append({"id": pid, "created_at": now, "created_by": "bench"})
                rows_r.append({"id": i + 1, "person_id": pid, "fields": fields, "created_at": now})
                record_keys = keys_of(person_fields(fields))
                keys += len(record_keys)
                rows_k.extend({"key": k, "record_id": i + 1} for k in record_keys)
            conn.execute(sa.insert(persons), rows_p)
            conn.execute(sa.insert(identity_records), rows_r)
            conn.execute(sa.insert(identity_keys), rows_k)
            print(f"  built {min(n, start + batch)}/{n}", flush=True, end="\r", file=sys.stderr)
    print(file=sys.stderr)
    engine.dispose()
    return {"persons": n, "corrupted_copies": copies, "keys": keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="persons in the database")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of corrupted copies")
    parser.add_argument("--no-train", action="store_true", help="dedupe with the default model")
    parser.add_argument("--dir", help="where to build the database (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="one JSON object on the last line")
    args = parser.parse_args()
    started = datetime.now(UTC)
    print(f"identity dedupe benchmark, {started:%Y-%m-%d %H:%M} UTC, {args.size:,} persons")
    result: dict[str, Any] = {
        "benchmark": "identity_dedupe",
        "date": started.isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        url = f"sqlite:///{Path(tmp) / f'persons-{args.size}.db'}"
        t = time.perf_counter()
        result["build"] = build(url, args.size, args.duplicates)
        result["build"]["seconds"] = round(time.perf_counter() - t, 1)
        print(f"built in {result['build']['seconds']:.0f} s: {result['build']}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_") or k == "PATH"}
        env.update(
            PARS_DATABASE_URL=url,
            PARS_ENCRYPTION_KEYS=KEYS,
            PARS_DATA_DIR=tmp,
            PARS_LOG_LEVEL="warning",
        )
        if not args.no_train:
            result["train"] = run_command(["identity", "train", "--quiet"], env)
            print(f"pars identity train: {result['train']}")
        result["dedupe"] = run_command(["identity", "dedupe", "--quiet"], env)
        print(f"pars identity dedupe: {result['dedupe']}")
    result["load_average_after"] = os.getloadavg()[0]
    result["day"] = date.today().isoformat()
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
