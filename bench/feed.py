"""Partner feed benchmark: commit-to-partner latency per transport, relay throughput, and the
projection against the same field mask decided by Cedar.

For each backend (SQLite, PostgreSQL), on fresh databases:

1. latency: the real server (`pars serve`, which relays in a thread) with P partners (default 10),
   each with an agreement approved by the owners' quorum, for one transport at a time: the HTTP
   feed (each partner polls `GET /api/v1/feed`), its SSE stream (`GET /api/v1/feed/stream`),
   webhooks (signed POSTs to a receiver in this process) and NATS JetStream (a real `nats-server`
   and one JetStream consumer per partner). Arrests are created and submitted at a steady rate
   (`POST /api/v1/arrests?submit=true`); each event's latency runs from the moment that API call
   returned (after COMMIT) to the moment each partner has the event in hand;
2. relay throughput: N events committed to the outbox first (create-and-submit through the
   service layer, no relay running), then `relay_once` timed in this process until the outbox is
   drained into per-partner deliveries;
3. projection (once, on records and agreements from the first backend): masks per CPU second on
   one core, `compile_projector(agreement, policy).apply(data)` and `project(...)`, next to the
   same decision made by cedarpy, one authorization request per field (bench/_feed_cedar.py).
   Both must give identical masked records for the whole sample, or the benchmark exits 1.

It prints figures and asserts nothing about timing. Run from the repository root:

    uv run --group bench python -m bench.feed [--backend sqlite|postgres|both] [--seconds S]
                                              [--events N] [--partners P] [--rate R]

PostgreSQL: `PARS_BENCH_DATABASE_URL` (an admin URL: the benchmark creates and drops its own
`pars_bench_*` databases there), else a throwaway cluster from `tests/pg.py`. `--py-spy DIR` (with
`uv run --with py-spy ...`) samples the server during each latency run and this process while it
relays; figures from such a run are disturbed by the sampler.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._feed_cedar import Rate, cedar_model, compare, measure
from bench._feed_partners import add_partners, run_phase
from bench._feed_report import LABELS, Latency, Relay, latency_table, relay_table, summary
from bench.intake import (
    ROOT,
    USER,
    CpuMeter,
    Databases,
    PySpy,
    Server,
    _env,
    _free_port,
    _interrupt,
    _log,
    _markdown,
    _repo_on_path,
    _server_version,
    body_template,
    machine,
    postgres_admin,
    prepare,
    wait_quiet,
)
from pars import heap
from pars.config import Settings
from pars.services.app import Pars, Principal
from pars.sharing.agreements import Agreement
from pars.sharing.policy import JurisdictionPolicy
from pars.sharing.projection import Event

SERVERS = (
    ("feed", "longpoll", "sse"),
    ("webhook",),
    ("nats",),
)  # transports measured on one server each


@dataclass
class Sample:
    """Records and agreements from a benchmark database, for the projection comparison."""

    events: list[Event]
    agreements: list[Agreement]
    policy: JurisdictionPolicy
    now: datetime


# -- latency -------------------------------------------------------------------------------------


class SplitServer(Server):
    """The API under uvicorn (one process, `bench._app:create`, what `pars serve` builds) and,
    beside it, `pars relay --interval S`: the relay in its own process, polling every S s."""

    def __init__(self, env: dict[str, str], port: int, log: Path, interval: float) -> None:
        super().__init__(env, 1, port, log, "bench._app:create")
        self.interval = interval

    @property
    def relay(self) -> bool:
        return False  # started below, with the interval

    def start(self) -> None:
        super().start()
        with self.log.open("ab") as out:
            self.others.append(
                subprocess.Popen(
                    [sys.executable, "-m", "pars.cli", "relay", "--interval", f"{self.interval}"],
                    env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )  # fmt: skip


def _make_stream(url: str) -> None:
    """Create PARS's JetStream stream with PARS's own code (one publish to a subject no partner
    reads), so the partners' consumers can subscribe before the first event."""
    from pars.services.delivery.nats import JetStreamPublisher

    publisher = JetStreamPublisher(url)
    try:
        publisher("pars.partner.bench-setup.warm", {"Nats-Msg-Id": "bench-setup"}, b"{}", 5.0)
    finally:
        publisher.close()


def latency_runs(
    backend: str, dbs: Databases, keys: str, kinds: tuple[str, ...], args: argparse.Namespace
) -> list[Latency]:
    """One fresh database and `pars serve`; partners for the transport; each kind measured."""
    data_dir, db_url = dbs.fresh()
    env = _env(data_dir, db_url, keys)
    out: list[Latency] = []
    with contextlib.ExitStack() as closing:
        nats_url = None
        if "nats" in kinds:
            _repo_on_path()
            from tests.integration.test_nats import NatsServer

            store = data_dir / "nats"
            store.mkdir()
            nats_server = NatsServer(store)
            closing.callback(nats_server.stop)
            nats_server.start()
            nats_url = env["PARS_NATS_URL"] = nats_server.url
            _make_stream(nats_url)
        token = prepare(env)
        # The benchmark's webhook receiver listens on loopback: allowed for the server's relay
        # (env) and for the agreements registered here (settings).
        env["PARS_WEBHOOK_ALLOWLIST"] = "127.0.0.1"
        settings = Settings(
            data_dir=data_dir,
            database_url=db_url,
            encryption_keys=keys,
            webhook_allowlist="127.0.0.1",
        )
        hook_port = _free_port() if "webhook" in kinds else None
        hooks = f"http://127.0.0.1:{hook_port}/hooks" if hook_port else None
        transport = "feed" if kinds[0] in ("feed", "longpoll", "sse") else kinds[0]
        partners = add_partners(settings, transport, args.partners, hooks)
        log = data_dir / "server.log"
        server = (
            SplitServer(env, _free_port(), log, args.relay_interval)
            if args.relay_interval
            else Server(env, 1, _free_port(), log)
        )
        closing.callback(server.stop)
        server.start()
        assert server.proc is not None
        cursors: dict[int, int] = {}
        for kind in kinds:
            wait_quiet(args.quiet_wait)
            _log(f"{backend}: {LABELS[kind]}: {len(partners)} partners, {args.rate}/s")
            with PySpy(args.py_spy, server.proc.pid, f"{backend}-{kind}"):
                measured = asyncio.run(
                    run_phase(
                        kind, server.port, token, partners,
                        lambda: CpuMeter(server.groups, dbs.postmaster),
                        rate=args.rate, seconds=args.seconds, poll=args.poll, cursors=cursors,
                        hook_port=hook_port, nats_url=nats_url,
                    )
                )  # fmt: skip
            for m in measured:
                m.result.backend, m.result.path = backend, LABELS[m.kind]
                if server.proc.poll() is not None:
                    m.result.failures["server died"] += 1
                if not m.drained:
                    m.result.samples.append(f"server log:\n{server.tail()}")
                out.append(Latency(backend, m.kind, m))
                _log(
                    f"{backend}: {m.kind}: {m.result.arrests} deliveries, {m.tally.missing()} "
                    f"missing, p99 {m.result.percentile(0.99):.1f} ms"
                )
    return out


# -- relay throughput ----------------------------------------------------------------------------


def fill_outbox(pars: Pars, count: int) -> None:
    """`count` arrests created and submitted through the service layer: one committed
    `pars.arrest.submitted` outbox event each, and no relay running."""
    from pars.services.arrests import create_arrest
    from pars.services.inputs import ArrestIn

    officer = Principal(USER, "officer")
    template = json.loads(body_template())
    person = template["person"]
    for n in range(count):
        body = {**template, "report_number": f"FR-{n:07d}"}
        body["person"] = {**person, "last_name": f"Relay{n % 97}", "first_name": "Bench"}
        create_arrest(pars, officer, ArrestIn.model_validate(body), submit=True)


def relay_run(
    backend: str, dbs: Databases, keys: str, args: argparse.Namespace
) -> tuple[Relay, Sample]:
    from pars.services.delivery.relay import relay_once
    from pars.services.views import full_record
    from pars.store.engine import migrate
    from pars.store.tables import deliveries, outbox

    data_dir, db_url = dbs.fresh()
    settings = Settings(data_dir=data_dir, database_url=db_url, encryption_keys=keys)
    pars = Pars(settings)
    try:
        migrate(pars.engine)
        add_partners(settings, "feed", args.partners)
        _log(f"{backend}: relay: committing {args.events} events to the outbox")
        fill_outbox(pars, args.events)
        heap.settle()  # as `pars relay` does before it relays
        wait_quiet(args.quiet_wait)
        _log(f"{backend}: relay: draining")
        events = batches = 0
        with (
            PySpy(args.py_spy, os.getpid(), f"{backend}-relay"),
            CpuMeter([], dbs.postmaster) as meter,
        ):
            start = time.perf_counter()
            while moved := relay_once(pars):
                events += moved
                batches += 1
            seconds = time.perf_counter() - start
        with pars.reader() as uow:
            count = uow.conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar()
            rows = uow.conn.execute(sa.select(outbox).order_by(outbox.c.seq).limit(60)).mappings()
            sample = []
            for row in rows:
                arrest = uow.arrests.at_version(row["subject"], row["arrest_version"])
                assert arrest is not None
                sample.append(
                    Event(
                        row["id"], row["type"], row["source"], row["subject"], row["time"],
                        row["arrest_version"], full_record(arrest),
                    )
                )  # fmt: skip
            agreements = uow.sharing.active()
    finally:
        pars.engine.dispose()
    relay = Relay(backend, events, int(count or 0), batches, seconds, meter.cpu)
    _log(f"{backend}: relay: {events} events in {seconds:.2f}s ({relay.rate:.0f}/s)")
    # A juvenile's record for every fifth one: nothing of it may leave under these agreements.
    sample += [
        dataclasses.replace(e, id=e.id + "-j", record={**e.record, "juvenile": True})
        for e in sample[::5]
    ]
    return relay, Sample(sample, agreements, pars.policy, pars.clock.now())


# -- projection against cedarpy ------------------------------------------------------------------


def projection_run(
    sample: Sample, seconds: float, quiet_wait: float
) -> tuple[list[str], list[Rate] | None]:
    """Lines to print (the check and a table), and the rates; None when Cedar and the
    projection disagree on any masked record (then nothing is timed)."""
    model = cedar_model(sample.agreements, sample.policy)
    pairs = [(a, e) for e in sample.events for a in sample.agreements]
    checked, diffs = compare(model, pairs, sample.now, sample.policy)
    juvenile = sum(1 for e in sample.events if e.record.get("juvenile"))
    lines = [
        f"sample: {len(sample.events)} records ({juvenile} juvenile) x {len(sample.agreements)} "
        f"agreements = {checked} masks; Cedar: {model.size} policies, {len(model.entities)} "
        "entities, one request per field of the record, one is_authorized_batch per mask"
    ]
    if diffs:
        lines.append(f"MASKS DIFFER: Cedar and the projection disagree on {len(diffs)}/{checked}")
        lines += [f"  {d}" for d in diffs[:10]]
        return lines, None
    lines.append(f"masks identical: Cedar and the projection agree on all {checked} masked records")
    wait_quiet(quiet_wait)
    rates = measure(model, pairs, sample.now, sample.policy, seconds)
    cedar = rates[-1].per_second
    rows = [["method", "masks", "CPU s", "masks/s (one core)", "x cedarpy"]]
    for r in rates:
        rows.append(
            [r.name, str(r.calls), f"{r.cpu:.2f}", f"{r.per_second:,.0f}",
             f"{r.per_second / cedar:.1f}" if cedar else "-"]
        )  # fmt: skip
    lines += ["", _markdown(rows)]
    return lines, rates


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    assert __doc__ is not None
    p = argparse.ArgumentParser(prog="python -m bench.feed", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--events", type=int, default=2000, help="outbox events for the relay run")
    p.add_argument("--seconds", type=float, default=15.0, help="submitting, per transport")
    p.add_argument("--partners", type=int, default=10, help="partners with active agreements")
    p.add_argument("--rate", type=float, default=5.0, help="submissions per second (latency)")
    p.add_argument("--poll", type=float, default=0.1, help="feed partners' pause when idle")
    p.add_argument(
        "--transports",
        default="feed,longpoll,sse,webhook,nats",
        help="latency runs, comma-separated",
    )
    p.add_argument(
        "--relay-interval", type=float, metavar="S",
        help="instead of pars serve's relay thread (which sleeps 0.2 s when idle): the API "
        "under uvicorn and a separate `pars relay --interval S`",
    )  # fmt: skip
    p.add_argument("--projection-seconds", type=float, default=3.0, help="per method")
    p.add_argument("--py-spy", type=Path, metavar="DIR", help="profile into DIR (see above)")
    p.add_argument("--json", action="store_true", help="the figures as one JSON object, last")
    p.add_argument(
        "--quiet-wait", type=float, default=10.0, metavar="S",
        help="before each measurement, wait up to S seconds for other programs to leave the CPU "
        "idle (a shared machine); 0 to not wait",
    )  # fmt: skip
    args = p.parse_args(argv)
    args.transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    unknown = set(args.transports) - set(LABELS)
    if unknown:
        p.error(f"unknown transport(s): {', '.join(sorted(unknown))}")
    return args


def run_backend(
    backend: str, admin_url: str | None, root: Path, args: argparse.Namespace
) -> tuple[list[Latency], Relay, Sample]:
    from pars.crypto import new_key_line

    keys = new_key_line()
    dbs = Databases(root / backend, admin_url)
    latencies: list[Latency] = []
    try:
        for kinds in SERVERS:
            wanted = tuple(k for k in kinds if k in args.transports)
            if wanted:
                latencies += latency_runs(backend, dbs, keys, wanted, args)
        relay, sample = relay_run(backend, dbs, keys, args)
    finally:
        dbs.drop_all()
    print(f"\n## {backend}\n")
    if latencies:
        served = (
            f"uvicorn + pars relay --interval {args.relay_interval:g}"
            if args.relay_interval
            else "pars serve (relay thread)"
        )
        print(
            f"commit-to-partner: {args.rate:g} create-and-submit/s for {args.seconds:g} s per "
            f"transport, {served}, feed partners pause {args.poll:g} s after an empty page\n"
        )
        print(latency_table(latencies))
    for run in latencies:
        for what, n in run.measured.result.failures.most_common():
            print(f"\nFAILURES in {backend} / {run.kind}: {n} x {what}")
        for s in run.measured.result.samples:
            print(f"  {s}")
    print(f"\nrelay: {args.events} committed events, relay_once until drained\n")
    print(relay_table([relay], args.partners))
    sys.stdout.flush()
    return latencies, relay, sample


@contextlib.contextmanager
def _database_server(backend: str) -> Iterator[str | None]:
    """None for SQLite; for PostgreSQL an admin URL, the server's version printed."""
    if backend == "sqlite":
        yield None
        return
    with postgres_admin() as (admin, where):
        print(f"\npostgres: {_server_version(admin)}; {where}")
        yield admin


def run(args: argparse.Namespace, root: Path) -> int:
    """Every backend, then the projection, then the summary; 1 if the masks differ."""
    latencies: list[Latency] = []
    relays: list[Relay] = []
    samples: list[Sample] = []
    for backend in (b for b in ("sqlite", "postgres") if args.backend in (b, "both")):
        with _database_server(backend) as admin:
            got_latencies, relay, sample = run_backend(backend, admin, root, args)
        latencies += got_latencies
        relays.append(relay)
        samples.append(sample)
    print(f"\n## projection against cedarpy (records from {relays[0].backend})\n")
    lines, rates = projection_run(samples[0], args.projection_seconds, args.quiet_wait)
    print("\n".join(lines))
    print("\n## summary\n")
    print(summary(latencies, relays, rates, args.partners))
    if args.json:
        print(json.dumps(_figures(latencies, relays, rates)))
    if rates is None:
        print("\nFAILED: the Cedar masks differ from the projection's (see above)")
        return 1
    return 0


def _figures(
    latencies: list[Latency], relays: list[Relay], rates: list[Rate] | None
) -> dict[str, Any]:
    """Every figure of the run, for `--json`."""
    per_s = {r.name: round(r.per_second, 1) for r in rates or []}
    out: dict[str, Any] = {"latency": [], "relay": [], "projection_per_cpu_s": per_s}
    for run in latencies:
        r, t = run.measured.result, run.measured.tally
        out["latency"].append(
            {
                "backend": run.backend, "transport": run.kind, "events": len(t.sent),
                "missing": t.missing(), "duplicates": t.duplicates,
                **{f"p{int(q * 100)}_ms": round(r.percentile(q), 2) for q in (0.5, 0.9, 0.99)},
                "max_ms": round(r.percentile(1.0), 2),
            }
        )  # fmt: skip
    for relay in relays:
        out["relay"].append(
            {
                "backend": relay.backend, "events": relay.events, "deliveries": relay.deliveries,
                "seconds": round(relay.seconds, 3), "events_per_s": round(relay.rate, 1),
            }
        )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum, handler in (
        (signal.SIGINT, signal.default_int_handler),
        (signal.SIGTERM, _interrupt),
    ):
        signal.signal(signum, handler)  # Ctrl-C and kill both clean up (even if SIGINT was ignored)
    print("# PARS partner feed benchmark (bench/feed.py)\n\n" + "\n".join(machine()), flush=True)
    with tempfile.TemporaryDirectory(prefix="pars-bench-feed-", ignore_cleanup_errors=True) as tmp:
        try:
            return run(args, Path(tmp))
        except KeyboardInterrupt:
            _log("interrupted; cleaning up")
            return 130


if __name__ == "__main__":
    sys.exit(main())
