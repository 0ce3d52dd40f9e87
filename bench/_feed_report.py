"""The tables bench/feed.py prints: latency per transport, relay throughput, and the summary
of every figure against its target."""

from __future__ import annotations

from dataclasses import dataclass

from bench._feed_cedar import Rate
from bench._feed_partners import Measured
from bench.intake import Cpu, _markdown

__all__ = ["LABELS", "Latency", "Relay", "latency_table", "relay_table", "summary"]

LATENCY_TARGET_MS = 50.0
RELAY_TARGET = 2000.0  # events/s, on PostgreSQL
RATIO_TARGET = 20.0
LABELS = {
    "feed": "HTTP feed (GET /api/v1/feed)",
    "longpoll": "HTTP feed, long-poll (GET /api/v1/feed?wait=20)",
    "sse": "SSE (GET /api/v1/feed/stream)",
    "webhook": "webhooks (Standard Webhooks POST)",
    "nats": "NATS JetStream consumers",
    "nats-published": "NATS, as published (plain subscription)",
}


@dataclass
class Latency:
    """One transport's commit-to-partner figures on one backend."""

    backend: str
    kind: str
    measured: Measured


@dataclass
class Relay:
    """The relay draining a filled outbox on one backend."""

    backend: str
    events: int
    deliveries: int
    batches: int
    seconds: float
    cpu: Cpu

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _ms(v: float | None, n: int) -> str:
    return "-" if v is None or not n else f"{1000 * v / n:.2f}"


def latency_table(runs: list[Latency]) -> str:
    rows = [
        ["backend", "transport", "partners", "events", "deliveries", "missing", "dup", "p50 ms",
         "p90 ms", "p99 ms", "max ms", "server CPU ms/event", "postgres CPU ms/event"]
    ]  # fmt: skip
    for run in runs:
        r, t = run.measured.result, run.measured.tally
        n = len(t.sent)
        rows.append(
            [run.backend, r.path, str(r.clients), str(n), str(r.arrests), str(t.missing()),
             str(t.duplicates), f"{r.percentile(0.5):.1f}", f"{r.percentile(0.9):.1f}",
             f"{r.percentile(0.99):.1f}", f"{r.percentile(1.0):.1f}", _ms(r.cpu.server, n),
             _ms(r.cpu.database, n)]
        )  # fmt: skip
    return _markdown(rows)


def relay_table(runs: list[Relay], partners: int) -> str:
    rows = [
        ["backend", "partners", "events", "deliveries", "batches", "seconds", "events/s",
         "deliveries/s", "bench CPU ms/event", "postgres CPU ms/event"]
    ]  # fmt: skip
    for r in runs:
        rows.append(
            [r.backend, str(partners), str(r.events), str(r.deliveries), str(r.batches),
             f"{r.seconds:.2f}", f"{r.rate:.0f}", f"{r.deliveries / r.seconds:.0f}",
             _ms(r.cpu.bench, r.events), _ms(r.cpu.database, r.events)]
        )  # fmt: skip
    return _markdown(rows)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def summary(
    latencies: list[Latency], relays: list[Relay], rates: list[Rate] | None, partners: int
) -> str:
    rows = [["backend", "figure", "measured", "target", "verdict"]]
    for run in latencies:
        result = run.measured.result
        p99 = result.percentile(0.99)
        rows.append(
            [run.backend, f"commit-to-partner, {run.kind}, {partners} partners, p50 / p99",
             f"{result.percentile(0.5):.1f} / {p99:.1f} ms", f"p99 < {LATENCY_TARGET_MS:.0f} ms",
             _verdict(p99 < LATENCY_TARGET_MS and not run.measured.tally.missing())]
        )  # fmt: skip
    for relay in relays:
        rows.append(
            [relay.backend, f"relay, outbox -> deliveries, {partners} partners",
             f"{relay.rate:,.0f} events/s", f">= {RELAY_TARGET:,.0f} events/s (PostgreSQL)",
             _verdict(relay.rate >= RELAY_TARGET if relay.backend == "postgres" else None)]
        )  # fmt: skip
    if rates:
        cedar = rates[-1].per_second
        for r in rates[:-1]:
            ratio = r.per_second / cedar if cedar else 0.0
            rows.append(
                ["-", f"{r.name} vs cedarpy, masks/s on one core",
                 f"{r.per_second:,.0f} vs {cedar:,.0f}: {ratio:.0f}x", f">= {RATIO_TARGET:.0f}x",
                 _verdict(ratio >= RATIO_TARGET)]
            )  # fmt: skip
    return _markdown(rows)
