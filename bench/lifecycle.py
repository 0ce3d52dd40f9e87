"""The record's end benchmark (issue 12): time from an expungement's commit to the recall notice
in every partner's hands, per transport, and `pars lifecycle run --dry-run` over many arrests.

1. recall latency: for each backend and each transport (the HTTP feed, its SSE stream, webhooks,
   NATS JetStream), a fresh database and the real server (`pars serve`, relay in a thread), P
   partners (default 10) with agreements approved by the owners' quorum, receiving exactly as in
   bench/feed.py (bench/_feed_partners.py: polling the feed, holding the stream, a Standard
   Webhooks receiver, one JetStream consumer each). W arrests are submitted and waited for at
   every partner; then a clerk expunges each of them through the API (`POST
   /api/v1/arrests/{id}/expunge`), one every 1/R s. Each latency runs from the moment that API
   call returned (after COMMIT) to the moment a partner had the recall (the next item about
   that arrest: the agreements cover `pars.arrest.submitted` only). p50, p99 and max over the
   P x W (partner, recall) pairs;
2. the dry run: bench/lifecycle_dry_run.py's `measure` over N arrests (default 10^6).

It prints figures and asserts nothing about timing. From the repository root:

    uv run --group bench python -m bench.lifecycle [--backend sqlite|postgres|both]
        [--partners 10] [--expunge 20] [--rate 5] [--transports feed,sse,webhook,nats]
        [--dry-run-arrests 1000000] [--json]

PostgreSQL: `PARS_BENCH_DATABASE_URL` (an admin URL), else a throwaway cluster (tests/pg.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from bench._feed_partners import PartnerInfo, Submitter, Tally, _receiving, add_partners
from bench.feed import _database_server, _make_stream
from bench.intake import (
    PASSWORD,
    Databases,
    Server,
    _env,
    _free_port,
    _log,
    _pars,
    _repo_on_path,
    prepare,
)
from bench.lifecycle_dry_run import measure
from pars.config import Settings

CLERK = "bench.clerk"
ORDER = {"order": "CP-51-MD-0001234-2026"}
TRANSPORTS = ("feed", "sse", "webhook", "nats")


def _percentiles(seconds: list[float]) -> dict[str, float | None]:
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}

    def at(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)

    return {"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": round(ms[-1], 1)}


async def _recalls(
    kind: str,
    port: int,
    officer: str,
    clerk: str,
    partners: list[PartnerInfo],
    args: argparse.Namespace,
    hook_port: int | None,
    nats_url: str | None,
) -> dict[str, Any]:
    first = Tally(len(partners))
    tallies = {kind: first}
    if kind == "nats":  # _receiving fills both: the consumers', and every message as published
        tallies = {"nats": first, "nats-published": Tally(len(partners), sent=first.sent)}
    async with (
        httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as client,
        _receiving(kind, client, partners, tallies, {}, args.poll, hook_port, nats_url),
    ):
        await Submitter(client, officer, f"L{kind[:2].upper()}").run(
            first, args.rate, count=args.expunge
        )
        if not await first.wait(60):
            raise RuntimeError(f"{kind}: the arrests did not reach every partner in 60 s")
        arrests = list(first.sent)
        for t in tallies.values():
            t.reset()
        headers = {"Authorization": f"Bearer {clerk}"}
        start = time.perf_counter()
        for i, arrest_id in enumerate(arrests):
            delay = start + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            r = await client.post(
                f"/api/v1/arrests/{arrest_id}/expunge", json=ORDER, headers=headers
            )
            returned = time.perf_counter()
            if not 200 <= r.status_code < 300:
                first.failures[f"expunge: HTTP {r.status_code}"] += 1
                continue
            first.sent[arrest_id] = returned
        drained = await first.wait(60)
    return {
        "transport": kind,
        "partners": len(partners),
        "expunged": len(first.sent),
        "recalls": len(first.latencies()),
        "missing": first.missing(),
        "drained": drained,
        "failures": dict(first.failures),
        **_percentiles(first.latencies()),
    }


def recall_run(
    backend: str, dbs: Databases, keys: str, kind: str, args: argparse.Namespace
) -> dict[str, Any]:
    """One fresh database and server, P partners for `kind`, W arrests expunged."""
    data_dir, db_url = dbs.fresh()
    env = _env(data_dir, db_url, keys)
    with contextlib.ExitStack() as closing:
        nats_url = None
        if kind == "nats":
            _repo_on_path()
            from tests.integration.test_nats import NatsServer

            (data_dir / "nats").mkdir()
            nats_server = NatsServer(data_dir / "nats")
            closing.callback(nats_server.stop)
            nats_server.start()
            nats_url = env["PARS_NATS_URL"] = nats_server.url
            _make_stream(nats_url)
        officer = prepare(env)
        _pars(
            env, "users", "add", CLERK, "--role", "clerk", "--password-stdin", stdin=PASSWORD + "\n"
        )
        clerk = _pars(env, "token", CLERK).splitlines()[-1]
        env["PARS_WEBHOOK_ALLOWLIST"] = "127.0.0.1"
        settings = Settings(
            data_dir=data_dir,
            database_url=db_url,
            encryption_keys=keys,
            webhook_allowlist="127.0.0.1",
        )
        hook_port = _free_port() if kind == "webhook" else None
        hooks = f"http://127.0.0.1:{hook_port}/hooks" if hook_port else None
        transport = "feed" if kind in ("feed", "sse") else kind
        partners = add_partners(settings, transport, args.partners, hooks)
        server = Server(env, 1, _free_port(), data_dir / "server.log")
        closing.callback(server.stop)
        server.start()
        figures = asyncio.run(
            _recalls(kind, server.port, officer, clerk, partners, args, hook_port, nats_url)
        )
        if not figures["drained"]:
            figures["server_log"] = server.tail()
    return {"backend": backend, **figures}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--partners", type=int, default=10)
    p.add_argument("--expunge", type=int, default=20, help="arrests expunged per transport")
    p.add_argument("--rate", type=float, default=5.0, help="submissions and expungements per s")
    p.add_argument("--poll", type=float, default=0.1, help="feed partners' pause on an empty page")
    p.add_argument("--transports", default=",".join(TRANSPORTS))
    p.add_argument("--dry-run-arrests", type=int, default=1_000_000, help="0: no dry run")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    args = p.parse_args(argv)
    args.transports = [t for t in args.transports.split(",") if t]
    if set(args.transports) - set(TRANSPORTS):
        p.error(f"transports: some of {', '.join(TRANSPORTS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    from pars.crypto import new_key_line

    args = parse_args(argv)
    recalls: list[dict[str, Any]] = []
    dry_runs: list[dict[str, Any]] = []
    backends = [b for b in ("sqlite", "postgres") if args.backend in (b, "both")]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            with _database_server(backend) as admin:
                dbs = Databases(Path(tmp) / backend, admin)
                try:
                    for kind in args.transports:
                        _log(f"{backend}: recalls by {kind}, {args.partners} partners")
                        recalls.append(recall_run(backend, dbs, new_key_line(), kind, args))
                        r = recalls[-1]
                        _log(f"{backend} {kind}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms,"
                             f" max {r['max_ms']} ms, {r['missing']} missing")  # fmt: skip
                finally:
                    dbs.drop_all()
        for backend in backends if args.dry_run_arrests else []:
            dry_runs.append(measure(backend, args.dry_run_arrests))
    print("\n## expungement commit to recall in hand\n")
    print("| backend | transport | partners | recalls | missing | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|")
    for r in recalls:
        print(f"| {r['backend']} | {r['transport']} | {r['partners']} | {r['recalls']} |"
              f" {r['missing']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} |")  # fmt: skip
    if dry_runs:
        print("\n## pars lifecycle run --dry-run\n")
        print("| backend | arrests | candidates read | would seal | text: wall s | CPU s | RSS MB |"
              " json: wall s | CPU s | RSS MB |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|")
        for d in dry_runs:
            t, j = d["dry_run_text"], d["dry_run_json"]
            print(f"| {d['backend']} | {d['arrests']:,} | {d['candidates_read']:,} |"
                  f" {d['would_seal']:,} | {t['seconds']} | {t['cpu_seconds']} |"
                  f" {t['peak_rss_mb']} | {j['seconds']} | {j['cpu_seconds']} |"
                  f" {j['peak_rss_mb']} |")  # fmt: skip
    sys.stdout.flush()
    if args.json:
        print(json.dumps({"benchmark": "lifecycle", "recalls": recalls, "dry_run": dry_runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
