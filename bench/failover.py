"""Relay fail-over gap: two `pars relay` processes on one database, 10 feed partners, arrests
committed at a steady rate; the active relay is killed with SIGKILL again and again, and each
time the benchmark measures the milliseconds until the standby holds the relay lease and until
the first delivery it queued (the figure of issue 11: target under 2 s). Afterwards it checks
that every event was queued exactly once per partner.

    uv run --group bench python -m bench.failover [--backend sqlite|postgres|both] [--kills N]
        [--rate PER_S] [--partners N] [--json]

PostgreSQL: `PARS_BENCH_DATABASE_URL` (an admin URL) or a throwaway cluster from `tests/pg.py`.
The relays run as users run them: `pars relay` with its default interval and standby poll.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._feed_partners import add_partners
from bench.intake import (
    ROOT,
    Databases,
    _env,
    _interrupt,
    _log,
    _markdown,
    _pars,
    _repo_on_path,
    machine,
    postgres_admin,
    sqlite_url,
)


class Relay:
    """A `pars relay` process, its log read for the moment it stands by or becomes active."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pars.cli", "relay"], cwd=ROOT,
            env=env | {"PARS_LOG_LEVEL": "info", "PARS_LOG_FORMAT": "json"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.pid = self.proc.pid
        self.ready = threading.Event()  # standing by or active
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if b"relay standing by" in line or b"relay active" in line:
                self.ready.set()

    def wait_ready(self) -> None:
        if not self.ready.wait(60):
            raise RuntimeError(f"pars relay {self.pid} neither stood by nor became active")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def _holder(lease: Any, other_than: int, limit: float = 30.0) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        name = lease.holder() or ""
        if name.startswith("pars-relay ") and int(name.rsplit(" ", 1)[1]) != other_than:
            return int(name.rsplit(" ", 1)[1])
        time.sleep(0.002)
    raise RuntimeError("no relay took the lease within 30 s")


def _queued(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM deliveries").scalar() or 0)


def run_backend(backend: str, admin: str | None, root: Path, args: argparse.Namespace) -> dict:
    _repo_on_path()
    from tests.factories import arrest_body

    from pars.config import Settings
    from pars.crypto import new_key_line
    from pars.services.app import Pars, Principal
    from pars.services.arrests import create_arrest
    from pars.services.inputs import ArrestIn
    from pars.store.lease import lease_for

    dbs = Databases(root / backend, admin)
    try:
        data_dir, url = dbs.fresh()
        url = url or sqlite_url(data_dir)
        env = _env(data_dir, url, new_key_line())
        _pars(env, "init")
        settings = Settings(
            data_dir=data_dir, database_url=url, encryption_keys=env["PARS_ENCRYPTION_KEYS"]
        )
        add_partners(settings, "feed", args.partners)
        pars = Pars(settings)
        lease = lease_for(pars.engine)
        officer = Principal("bench-officer", "officer")
        stop = threading.Event()
        written: list[str] = []

        def submit() -> None:
            pause = 1.0 / args.rate
            while not stop.is_set():
                body = ArrestIn.model_validate(arrest_body())
                written.append(create_arrest(pars, officer, body, True).id)
                time.sleep(pause)

        relays = {r.pid: r for r in (Relay(env), Relay(env))}
        writer = threading.Thread(target=submit, daemon=True)
        writer.start()
        lease_ms: list[float] = []
        delivery_ms: list[float] = []
        try:
            for n in range(args.kills):
                active = _holder(lease, other_than=0)
                for r in relays.values():
                    r.wait_ready()  # a standby that is still starting up is no standby
                time.sleep(0.5)
                before = _queued(pars.engine)
                killed = relays.pop(active)
                t0 = time.perf_counter()
                killed.kill()
                _holder(lease, other_than=active)
                lease_ms.append((time.perf_counter() - t0) * 1000)
                deadline = time.monotonic() + 30
                while _queued(pars.engine) <= before and time.monotonic() < deadline:
                    time.sleep(0.002)
                delivery_ms.append((time.perf_counter() - t0) * 1000)
                _log(f"{backend}: kill {n + 1}: lease {lease_ms[-1]:.0f} ms, "
                     f"first delivery {delivery_ms[-1]:.0f} ms")  # fmt: skip
                fresh = Relay(env)
                relays[fresh.pid] = fresh
            stop.set()
            writer.join()
            expected = len(written) * args.partners
            deadline = time.monotonic() + 60
            while _queued(pars.engine) < expected and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            for r in relays.values():
                r.kill()
        with pars.engine.connect() as conn:
            distinct = conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT DISTINCT agreement_id, event_id FROM deliveries) d"
            ).scalar()
        queued = _queued(pars.engine)
        pars.engine.dispose()
    finally:
        dbs.drop_all()
    return {
        "backend": backend,
        "kills": args.kills,
        "lease_ms_p50": round(statistics.median(lease_ms), 1),
        "lease_ms_max": round(max(lease_ms), 1),
        "first_delivery_ms_p50": round(statistics.median(delivery_ms), 1),
        "first_delivery_ms_max": round(max(delivery_ms), 1),
        "events": len(written),
        "expected_deliveries": len(written) * args.partners,
        "queued": queued,
        "exactly_once": queued == distinct == len(written) * args.partners,
    }


@contextlib.contextmanager
def _server(backend: str) -> Iterator[str | None]:
    if backend == "sqlite":
        yield None
        return
    with postgres_admin() as (admin, where):
        print(f"postgres: {where}")
        yield admin


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--kills", type=int, default=5, help="active relays killed per backend")
    p.add_argument("--rate", type=float, default=20.0, help="arrests committed per second")
    p.add_argument("--partners", type=int, default=10, help="feed partners")
    p.add_argument("--json", action="store_true", help="the figures as one JSON object, last")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    print("# PARS relay fail-over benchmark (bench/failover.py)\n\n" + "\n".join(machine()))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pars-bench-failover-") as tmp:
        for backend in (b for b in ("sqlite", "postgres") if args.backend in (b, "both")):
            with _server(backend) as admin:
                results.append(run_backend(backend, admin, Path(tmp), args))
    print(
        f"\n{args.partners} feed partners, {args.rate:g} arrests/s, two `pars relay` processes"
        " (defaults: --interval 0.2, --standby-poll 0.25), the active one killed with SIGKILL\n"
    )
    print(
        _markdown(
            [
                [
                    "backend",
                    "kills",
                    "lease taken p50 / max ms",
                    "first delivery p50 / max ms",
                    "events",
                    "queued once per partner",
                ],
                *[
                    [
                        r["backend"],
                        str(r["kills"]),
                        f"{r['lease_ms_p50']:.0f} / {r['lease_ms_max']:.0f}",
                        f"{r['first_delivery_ms_p50']:.0f} / {r['first_delivery_ms_max']:.0f}",
                        str(r["events"]),
                        f"{'yes' if r['exactly_once'] else 'NO'} ({r['queued']} of "
                        f"{r['expected_deliveries']})",
                    ]
                    for r in results
                ],
            ]
        )
    )
    if args.json:
        print(json.dumps({"failover": results}))
    return 0 if all(r["exactly_once"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
