"""One event's path to its partners, in-process: the steps between an arrest's commit and the
moment its partners have it in hand, each timed alone, with the HTTP server and the partners'
clients taken out (bench/feed.py measures the whole path through them).

For each event: create and submit one arrest through the service layer (its outbox event
committed), `relay_once` (the relay's batch of that one event: a delivery row for each of P
partners with a feed agreement), then `serve_round` of P asks as P SSE streams woken by that
queueing ask (one write transaction, one log append), then `reask`: what the P partners'
long-polls cost the server when they ask again together after the event, their keys read (in
one call where the version does so) and one round looking at their queues (found empty: the
requests would then wait). Reported per step: wall time p50 and
p90 in ms, the Python CPU in ms (this process; the relay and the round run here, in the
calling thread), the statements sent (SQLAlchemy's cursor executions, COPY not counted) and
the server's CPU per event (PostgreSQL only: the throwaway cluster's processes).

`--compare SRC` runs the same rounds, alternating, against another version's `src` (for
example `git archive <commit> src | tar -x -C /tmp/base`), each round a fresh process and a
fresh database, and prints the two side by side: medians of the rounds. The host's speed
drifts; alternating rounds keeps the comparison fair. Run from the repository root:

    uv run --group bench python -m bench.feed_path [--backend postgres|sqlite] [--events N]
                                                    [--partners P] [--rounds R] [--compare SRC]
                                                    [--json]

It prints figures and asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.intake import ROOT, Databases, _log, postgres_admin, postgres_cpu

STEPS = ("intake", "relay", "round", "reask")


def child(backend: str, events: int, partners: int) -> dict[str, Any]:
    """One round in this process, with the `pars` on sys.path: its figures."""
    import sqlalchemy as sa

    from bench._feed_partners import add_partners
    from bench.feed import fill_outbox
    from pars import heap
    from pars.config import Settings
    from pars.crypto import new_key_line
    from pars.services.app import Pars
    from pars.services.delivery import feed
    from pars.services.delivery.feed import Ask, authenticate_partner, serve_round
    from pars.services.delivery.relay import relay_once
    from pars.store.engine import migrate

    def authenticate(keys: list[str]) -> list[Any]:
        """The partners of `keys` as the server reads the keys of requests that arrive
        together: in one call, where the version has it (else one by one)."""
        together = getattr(feed, "authenticate_partners", None)
        if together is None:
            return [authenticate_partner(pars, key) for key in keys]
        return list(together(pars, keys))

    with tempfile.TemporaryDirectory() as root, contextlib.ExitStack() as stack:
        admin = stack.enter_context(postgres_admin())[0] if backend == "postgres" else None
        dbs = Databases(Path(root), admin)
        data_dir, url = dbs.fresh()
        settings = Settings(data_dir=data_dir, database_url=url, encryption_keys=new_key_line())
        pars = Pars(settings)
        migrate(pars.engine)
        keys = [p.key for p in add_partners(settings, "feed", partners)]
        asking = authenticate(keys)
        cursors = {p["id"]: 0 for p in asking}
        # Asked as woken streams ask (an older `Ask` has no such hint: compared as it asks).
        woken = {"woken": True} if "woken" in {f.name for f in dataclasses.fields(Ask)} else {}
        step = ["-"]
        statements: dict[str, int] = defaultdict(int)

        def count(*_: Any) -> None:
            statements[step[0]] += 1

        sa.event.listen(pars.engine, "before_cursor_execute", count)
        wall: dict[str, list[float]] = defaultdict(list)
        cpu: dict[str, float] = defaultdict(float)
        warm = 5
        heap.settle()
        server_start = 0.0
        served: list[Any] = []
        for n in range(warm + events):
            if n == warm:
                statements.clear()
                server_start = postgres_cpu(dbs.postmaster) or 0.0
            marks = []
            for name in STEPS:
                step[0] = name
                t, c = time.perf_counter(), time.process_time()
                if name == "intake":
                    fill_outbox(pars, 1)
                elif name == "relay":
                    moved = relay_once(pars)
                elif name == "reask":
                    again = authenticate(keys)
                    cursors_now = [after for _, after in served]
                    idle = serve_round(
                        pars,
                        [Ask(p, c, 100, "feed") for p, c in zip(again, cursors_now, strict=True)],
                    )
                else:
                    asks = [Ask(p, cursors[p["id"]], 100, "sse", **woken) for p in asking]
                    served = serve_round(pars, asks)
                marks.append((name, time.perf_counter() - t, time.process_time() - c))
            if (
                moved != 1
                or any(len(items) != 1 for items, _ in served)
                or any(items for items, _ in idle)
            ):
                raise SystemExit(
                    f"event {n}: relayed {moved}, served {[len(i) for i, _ in served]}, "
                    f"found on re-asking {[len(i) for i, _ in idle]}"
                )
            for p, (_, cursor) in zip(asking, served, strict=True):
                cursors[p["id"]] = cursor
            if n >= warm:
                for name, seconds, used in marks:
                    wall[name].append(seconds * 1e3)
                    cpu[name] += used * 1e3
        server = postgres_cpu(dbs.postmaster)
        pars.engine.dispose()
        dbs.drop_all()
    out: dict[str, Any] = {}
    for name in STEPS:
        ordered = sorted(wall[name])
        out[name] = {
            "p50_ms": round(statistics.median(ordered), 2),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
            "cpu_ms": round(cpu[name] / events, 2),
            "statements": round(statements[name] / events, 1),
        }
    out["server_cpu_ms_per_event"] = (
        None if server is None else round((server - server_start) * 1e3 / events, 2)
    )
    return out


def _round(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    command = [sys.executable, "-m", "bench.feed_path", "--child", "--backend", args.backend,
               "--events", str(args.events), "--partners", str(args.partners)]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"a round of {src} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _median(rounds: list[dict[str, Any]], step: str, key: str) -> float | None:
    values = [r[step][key] if step else r[key] for r in rounds]
    return None if None in values else round(statistics.median(values), 2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.feed_path", description=__doc__.split("\n")[0]
    )
    p.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("--events", type=int, default=100, help="events per round (after 5 to warm up)")
    p.add_argument("--partners", type=int, default=10, help="partners with feed agreements")
    p.add_argument("--rounds", type=int, default=3, help="rounds per version, alternating")
    p.add_argument("--compare", type=Path, metavar="SRC", help="another version's src directory")
    p.add_argument("--json", action="store_true", help="the figures as one JSON object, last")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.backend, args.events, args.partners)))
        return 0
    versions = {"this": ROOT / "src"}
    if args.compare:
        versions = {"compare": args.compare.resolve(), **versions}
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
    for i in range(args.rounds):
        for name, src in versions.items():
            _log(f"round {i + 1}/{args.rounds}: {name} ({src})")
            rounds[name].append(_round(src, args))
    print(
        f"\n{args.backend}: one event to {args.partners} partners, {args.events} events per "
        f"round, medians of {args.rounds} rounds; wall p50 / p90 ms, Python CPU ms, statements\n"
    )
    print("| step | " + " | ".join(versions) + " |")
    print("|---|" + "---:|" * len(versions))
    figures: dict[str, Any] = {name: {} for name in versions}
    for step in STEPS:
        cells = []
        for name in versions:
            got = {
                k: _median(rounds[name], step, k)
                for k in ("p50_ms", "p90_ms", "cpu_ms", "statements")
            }
            figures[name][step] = got
            cells.append(
                f"{got['p50_ms']} / {got['p90_ms']}, CPU {got['cpu_ms']}, {got['statements']} st."
            )
        print(f"| {step} | " + " | ".join(cells) + " |")
    cells = []
    for name in versions:
        server = _median(rounds[name], "", "server_cpu_ms_per_event")
        figures[name]["server_cpu_ms_per_event"] = server
        cells.append("-" if server is None else f"{server}")
    print("| server CPU ms/event | " + " | ".join(cells) + " |")
    if args.json:
        print(json.dumps({"backend": args.backend, "partners": args.partners, **figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
