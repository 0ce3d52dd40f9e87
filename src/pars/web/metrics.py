"""Prometheus metrics for operators at `GET /metrics`, behind `PARS_METRICS_TOKEN`.

Requests are counted and timed by route template (`/api/v1/arrests/{arrest_id}`), never by the
path itself, which can hold an identifier; requests that match no route count as `unmatched`,
so an attacker cannot grow the label set. The deployment's figures (the relay's backlog, the
delivery queues per partner, the log and its checkpoint, the identity review queue, locked
accounts) are read from the database at each scrape. Label values are route templates, methods,
statuses, partner names, transports and stages: no personal data, no secret. Each application
has its own registry, so two apps in one process (the tests) do not share counters.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pars.services.app import Pars
from pars.services.metrics import operational_figures
from pars.web.problems import problem

__all__ = ["install"]

log = structlog.get_logger("pars.web")

# Seconds: the screens' target is 0.1 s for an HTMX interaction; the feed's long tail matters.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """Counts and times every HTTP request by method, route template and status (plain ASGI)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "pars_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "pars_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.requests.labels(method, route, str(status)).inc()
            self.latency.labels(method, route).observe(time.perf_counter() - start)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class OperationsCollector(Collector):
    """The deployment's figures, read from the database when Prometheus scrapes."""

    def __init__(self, pars: Pars) -> None:
        self.pars = pars

    def collect(self) -> Iterator[Metric]:
        f = operational_figures(self.pars)
        yield _gauge("pars_outbox_depth", "Events committed and not yet relayed.", f.outbox_depth)
        yield _gauge(
            "pars_relay_lag_seconds",
            "Age of the oldest event not yet relayed (0 when none waits).",
            f.relay_lag_seconds,
        )
        yield _family(
            "pars_deliveries",
            "Delivery items by partner, transport and status (queued, delivered, withheld, "
            "stopped, dead, quarantined).",
            ["partner", "transport", "status"],
            {tuple(k): n for k, n in f.deliveries.items()},
        )
        yield _family(
            "pars_dead_letters",
            "Push items that exhausted their tries, by partner.",
            ["partner"],
            {(p,): n for p, n in _by_partner(f.deliveries, "dead").items()},
        )
        yield _family(
            "pars_withheld",
            "Items withheld because the agreement ended, was suspended or revoked first.",
            ["partner"],
            {(p,): n for p, n in _by_partner(f.deliveries, "withheld").items()},
        )
        yield _family(
            "pars_quarantined",
            "Unresolved items the relay or a transport set aside, by stage.",
            ["stage"],
            {(stage,): n for stage, n in f.quarantined.items()},
        )
        yield _gauge("pars_log_size", "Entries in the disclosure log.", f.log_size)
        if f.checkpoint_size is not None and f.checkpoint_age_seconds is not None:
            yield _gauge(
                "pars_checkpoint_size",
                "Tree size of the newest signed checkpoint.",
                f.checkpoint_size,
            )
            yield _gauge(
                "pars_checkpoint_age_seconds",
                "Age of the newest signed checkpoint.",
                f.checkpoint_age_seconds,
            )
        yield _family(
            "pars_identity_review_queue",
            "Open identity review items, by kind (arrest, duplicate).",
            ["kind"],
            {(kind,): n for kind, n in f.identity_queue.items()},
        )
        yield _gauge("pars_accounts_locked", "Staff accounts locked now.", f.accounts_locked)
        group = self.pars.intake_group  # this process's group commit (store/group_commit.py)
        yield CounterMetricFamily(
            "pars_intake_transactions",
            "Transactions this process's group commit ran for new arrests.",
            value=group.batches,
        )
        yield CounterMetricFamily(
            "pars_intake_arrests",
            "New arrests (committed or refused) those transactions carried.",
            value=group.commands,
        )
        yield CounterMetricFamily(
            "pars_intake_batches_retried",
            "Batches run again one savepoint per arrest because one of them failed.",
            value=group.retried,
        )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _family(
    name: str, doc: str, labels: list[str], values: dict[tuple[str, ...], float]
) -> GaugeMetricFamily:
    """A gauge with labels, its samples in label order."""
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key, n in sorted(values.items()):
        family.add_metric(list(key), n)
    return family


def _by_partner(items: dict[tuple[str, str, str], int], status: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for (partner, _transport, st), n in items.items():
        if st == status:
            out[partner] = out.get(partner, 0) + n
    return out


def install(app: FastAPI, pars: Pars) -> None:
    """`GET /metrics` and the request counters (call after the other middleware is added, so
    that the timing covers them)."""
    registry = CollectorRegistry()
    registry.register(OperationsCollector(pars))
    app.add_middleware(RequestMetrics, registry=registry)
    token = pars.settings.metrics_token

    @app.get("/metrics", include_in_schema=False, response_model=None)
    async def metrics(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}" if token else ""
        if not token:
            return problem(request, 404, "not-found", "Not found", "No such resource.")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("metrics_refused")
            resp = problem(
                request, 401, "unauthenticated", "Unauthenticated", "The metrics token is required."
            )
            resp.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return resp
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
