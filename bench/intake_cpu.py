"""CPU per arrest of the intake command, in-process: the steadier figure on a shared machine.

`bench/intake.py` measures the real server over HTTP, but on a machine shared with other work
its CPU-per-arrest figures move by a fifth from run to run. This one drives
`POST /api/v1/arrests?submit=true` straight into the ASGI application (no HTTP parsing, no
socket: the same for any version of the code), from C concurrent tasks on one event loop, and
reads the process's CPU time and the PostgreSQL server's around N arrests. No relay runs, so
the figures are intake alone. With `--compare SRC` it alternates rounds of the current code
and of the `src` directory SRC (an export of another commit), each round a fresh process on a
fresh database, and reports the lowest and the median of each: the lowest is the least
disturbed by other programs.

    uv run python -m bench.intake_cpu [--backend sqlite|postgres] [--count N] [--rounds R]
                                      [--compare /tmp/base/src] [--ungrouped] [--json]
    uv run python -m bench.intake_cpu --child --count N --profile FILE   # one round, cProfiled

It is a benchmark, not a test: it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _child(args: argparse.Namespace) -> dict[str, Any]:
    """One round in this process: a fresh database, warm-up, then N measured arrests."""
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa

    import pars
    from bench.intake import _postmaster, bench_database, body_template, postgres_cpu
    from pars.config import Settings
    from pars.crypto import KeyRing, new_key_line
    from pars.logs import configure
    from pars.services.app import Pars
    from pars.services.auth import add_user, issue_token
    from pars.store.engine import make_engine, migrate
    from pars.web.app import create_app

    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.admin_url:
            url = stack.enter_context(
                bench_database(args.admin_url, f"pars_cpu_{uuid.uuid4().hex[:8]}")
            )
        else:
            url = f"sqlite:///{data_dir / 'pars.db'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        grouping = {} if args.group_limit is None else {"intake_group_limit": args.group_limit}
        settings = Settings(data_dir=data_dir, database_url=url, log_level="warning", **grouping)
        configure(settings.log_format, settings.log_level)
        app_pars = Pars(settings, keys=KeyRing(new_key_line()))
        add_user(app_pars, "bench.officer", "officer", "bench-password-not-secret")
        token = issue_token(app_pars, "bench.officer")
        app = create_app(app_pars)
        template = body_template()
        statements = [0]
        sa.event.listen(
            app_pars.engine,
            "before_cursor_execute",
            lambda *a: statements.__setitem__(0, statements[0] + 1),
        )

        async def one(n: int) -> int:
            body = (
                template.replace("@RN@", f"C-{n:07d}")
                .replace("@LN@", f"Doe{n % 97}")
                .replace("@FN@", "John")
                .encode()
            )
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "POST", "scheme": "http", "path": "/api/v1/arrests",
                "raw_path": b"/api/v1/arrests", "query_string": b"submit=true", "root_path": "",
                "headers": [
                    (b"host", b"bench"), (b"authorization", f"Bearer {token}".encode()),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
                "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80),
            }  # fmt: skip
            sent = False
            status = [0]

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                await asyncio.Event().wait()
                return {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]

            await app(scope, receive, send)  # type: ignore[arg-type]
            return status[0]

        async def drive(first: int, count: int) -> list[int]:
            queue = iter(range(first, first + count))
            answers: list[int] = []

            async def worker() -> None:
                for n in queue:
                    answers.append(await one(n))

            await asyncio.gather(*(worker() for _ in range(args.clients)))
            return answers

        postmaster = _postmaster(args.admin_url) if args.admin_url else None
        loop = asyncio.new_event_loop()
        loop.run_until_complete(drive(0, 100))  # warm-up: caches, pool, prepared statements
        statements[0] = 0
        probe = getattr(app_pars, "revocation_probe", None)  # reads outside SQLAlchemy
        probed0 = probe.reads if probe is not None else 0
        pg0 = postgres_cpu(postmaster)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        group = getattr(app_pars, "intake_group", None)  # group commit, since 2026-12-06
        grouped0 = (group.batches, group.commands) if group is not None else None
        cpu0, wall0, loop0 = time.process_time(), time.perf_counter(), time.thread_time()
        answers = loop.run_until_complete(drive(1000, args.count))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        loop_cpu = time.thread_time() - loop0
        per_batch = None
        if group is not None and grouped0 is not None and group.batches > grouped0[0]:
            per_batch = (group.commands - grouped0[1]) / (group.batches - grouped0[0])
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        pg1 = postgres_cpu(postmaster)
        if probe is not None:
            statements[0] += probe.reads - probed0
        loop.close()
        app_pars.engine.dispose()
    ok = sum(1 for s in answers if s == 201)
    database = (pg1 - pg0) if pg0 is not None and pg1 is not None else None
    return {
        "pars": str(Path(pars.__file__).parent.parent),
        "arrests": ok,
        "failures": len(answers) - ok,
        "server_ms": round(1000 * cpu / max(ok, 1), 3),
        "event_loop_ms": round(1000 * loop_cpu / max(ok, 1), 3),
        "database_ms": None if database is None else round(1000 * database / max(ok, 1), 3),
        "statements_per_arrest": round(statements[0] / max(ok, 1), 2),
        "arrests_per_s": round(ok / wall, 1),
        "arrests_per_transaction": None if per_batch is None else round(per_batch, 2),
    }


def _round(
    src: Path | None, args: argparse.Namespace, admin: str | None, group_limit: int | None = None
) -> dict[str, Any]:
    env = dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("PARS_")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, "-m", "bench.intake_cpu", "--child", "--count", str(args.count),
           "--clients", str(args.clients)]  # fmt: skip
    if admin:
        cmd += ["--admin-url", admin]
    if group_limit is not None:
        cmd += ["--group-limit", str(group_limit)]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"round failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


_KEYS = ("server_ms", "database_ms", "server_plus_database_ms", "arrests_per_s",
         "statements_per_arrest", "arrests_per_transaction")  # fmt: skip


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    for r in rounds:
        r["server_plus_database_ms"] = round(r["server_ms"] + (r["database_ms"] or 0.0), 3)
    out: dict[str, Any] = {"rounds": rounds, "pars": rounds[0]["pars"]}
    for key in _KEYS:
        values = [r[key] for r in rounds if r[key] is not None]
        if values:
            best = max(values) if key == "arrests_per_s" else min(values)
            out[key] = {"best": best, "median": round(statistics.median(values), 3)}
    return out


@contextlib.contextmanager
def _admin(backend: str) -> Iterator[str | None]:
    if backend != "postgres":
        yield None
        return
    sys.path.insert(0, str(ROOT))
    from bench.intake import postgres_admin

    with postgres_admin() as (admin, _where):
        yield admin


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.intake_cpu", description=__doc__.split("\n")[0]
    )
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--count", type=int, default=400, help="measured arrests per round")
    p.add_argument("--clients", type=int, default=16, help="concurrent requests")
    p.add_argument("--rounds", type=int, default=3, help="rounds per code version")
    p.add_argument("--compare", type=Path, metavar="SRC", help="another version's src directory")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--profile",
        metavar="FILE",
        help="with --child: cProfile the measured arrests into FILE (slows them: no figures)",
    )
    p.add_argument(
        "--ungrouped",
        action="store_true",
        help="alternate with the current code committing each arrest alone (group limit 1)",
    )
    p.add_argument("--group-limit", type=int, help=argparse.SUPPRESS)
    p.add_argument("--admin-url", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0
    versions: dict[str, tuple[Path | None, int | None]] = {"current": (None, None)}
    if args.compare:
        versions["compare"] = (args.compare.resolve(), None)
    if args.ungrouped:
        versions["ungrouped"] = (None, 1)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
    load_start = list(os.getloadavg())
    with _admin(args.backend) as admin:
        for i in range(args.rounds):
            for name, (src, group_limit) in versions.items():
                r = _round(src, args, admin, group_limit)
                results[name].append(r)
                print(
                    f"[round {i + 1}] {name:8} server {r['server_ms']:6.2f} ms  database "
                    f"{r['database_ms'] if r['database_ms'] is not None else '-'} ms  "
                    f"{r['statements_per_arrest']} statements  {r['arrests_per_s']} arrests/s  "
                    f"(load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    summary = {
        "benchmark": "intake_cpu",
        "backend": args.backend,
        "count": args.count,
        "clients": args.clients,
        "load_average_start": load_start,
        "load_average_end": list(os.getloadavg()),
        "versions": {name: _summary(rs) for name, rs in results.items()},
    }
    for name, s in summary["versions"].items():
        print(f"{name}: {s['pars']}")
        for key in _KEYS:
            if key in s:
                print(f"  {key}: best {s[key]['best']}, median {s[key]['median']}")
    mine = summary["versions"]["current"]["server_plus_database_ms"]
    for name, other in summary["versions"].items():
        if name != "current":
            theirs = other["server_plus_database_ms"]
            ratio = {k: round(mine[k] / theirs[k], 3) for k in ("best", "median")}
            summary.setdefault("current_over", {})[name] = ratio
            print(f"current / {name}, server + database: lowest {ratio['best']}, "
                  f"median {ratio['median']}")  # fmt: skip
    if args.json:
        print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
