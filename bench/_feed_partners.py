"""Partners for bench/feed.py: their agreements, and the five ways they receive events.

- `add_partners` registers partners in the database and gives each an agreement drafted,
  submitted and approved by the owners' quorum (tests/factories.py `active_agreement`).
- `run_phase` submits arrests to the real server at a steady rate while every partner receives:
  polling `GET /api/v1/feed`, long-polling it (`?wait=`), holding `GET /api/v1/feed/stream`
  open (SSE), as a Standard Webhooks receiver on a local port (each signature verified), or as
  a JetStream consumer on a real `nats-server`. Each arrival is timed against the moment its
  submission's API call returned, in this one process (`time.perf_counter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx2
import nats

from bench.intake import _GIVEN, _SURNAMES, PATH, Cpu, Result, _repo_on_path, body_template
from pars import heap
from pars.config import Settings
from pars.services import agreements as ag
from pars.services.app import Pars

__all__ = ["GRANTS", "Measured", "PartnerInfo", "Tally", "add_partners", "run_phase"]

# (partner class, what its agreement grants), within the default policy; cycled for more partners.
GRANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("prosecutor", ("case", "identity", "contact", "officer", "narrative")),
    ("court", ("case", "identity", "contact", "officer")),
    ("defense", ("case", "identity", "contact")),
    ("pretrial", ("case", "identity", "contact")),
    ("state_repository", ("case", "identity", "officer")),
    ("federal", ("case", "identity")),
    ("research", ("case",)),
    ("prosecutor", ("case", "person.last_name", "person.first_name", "person.date_of_birth")),
    ("court", ("case", "narrative", "arresting_officer.badge")),
    ("pretrial", ("otn", "case", "person.last_name", "contact")),
)
LONG_POLL_SECONDS = 20  # the long-polling partners' `?wait=` (under the client's 30 s timeout)
WARM_UP = 3  # submissions before each measurement, waited for at every partner


@dataclass(frozen=True)
class PartnerInfo:
    index: int
    id: str
    name: str
    key: str  # the partner's API key (feed, SSE)
    secret: str | None  # the webhook signing secret


def add_partners(
    settings: Settings, transport: str, count: int, hook_url: str | None = None
) -> list[PartnerInfo]:
    """`count` partners with active agreements for `transport` (feed, webhook or nats), each
    covering `pars.arrest.submitted`; webhooks go to `{hook_url}/{partner id}`."""
    _repo_on_path()
    from tests.factories import active_agreement

    pars = Pars(settings)
    now = pars.clock.now()
    partners: list[PartnerInfo] = []
    try:
        for i in range(count):
            partner_class, granted = GRANTS[i % len(GRANTS)]
            name = f"{transport} partner {i:02d}"
            partner_id, key = ag.add_partner(pars, name, partner_class)
            secret = ag.set_webhook_secret(pars, name) if transport == "webhook" else None
            extra = {"webhook_url": f"{hook_url}/{partner_id}"} if hook_url else {}
            active_agreement(
                pars, name, granted=list(granted), transport=transport,
                starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30), **extra,
            )  # fmt: skip
            partners.append(PartnerInfo(i, partner_id, name, key, secret))
    finally:
        pars.engine.dispose()
    return partners


# -- who got what, when --------------------------------------------------------------------------


@dataclass
class Tally:
    """When each submission's API call returned, and when each partner had each event."""

    partners: int
    sent: dict[str, float] = field(default_factory=dict)  # arrest id -> perf_counter
    got: dict[tuple[int, str], float] = field(default_factory=dict)  # (partner, arrest id) -> t
    duplicates: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def receive(self, partner: int, subject: str, at: float) -> None:
        if (partner, subject) in self.got:
            self.duplicates += 1  # delivery is at least once
        else:
            self.got[(partner, subject)] = at

    def missing(self) -> int:
        return sum(1 for s in self.sent for p in range(self.partners) if (p, s) not in self.got)

    def latencies(self) -> list[float]:
        """Seconds from each submission's return to each partner's arrival, for what arrived."""
        return [
            self.got[(p, s)] - t0
            for s, t0 in self.sent.items()
            for p in range(self.partners)
            if (p, s) in self.got
        ]

    def reset(self) -> None:
        self.sent.clear()
        self.got.clear()
        self.duplicates = 0

    async def wait(self, timeout: float) -> bool:
        """Until every partner has every submitted event (True), or `timeout` seconds."""
        deadline = time.perf_counter() + timeout
        while self.missing():
            if time.perf_counter() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True


@dataclass
class Measured:
    kind: str  # feed, sse, webhook, nats, nats-published
    tally: Tally
    result: Result  # latencies in the shape bench/intake.py reports (percentiles, CPU)
    seconds: float  # submitting
    drained: bool


# -- the load ----------------------------------------------------------------------------------


class Submitter:
    """Create-and-submit requests at a steady rate on one keep-alive connection."""

    def __init__(self, client: httpx2.AsyncClient, token: str, tag: str) -> None:
        self._client, self._tag, self._n = client, tag, 0
        self._template = body_template()
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def _one(self, tally: Tally) -> None:
        self._n += 1
        n = self._n
        names = (_SURNAMES[n % len(_SURNAMES)], _GIVEN[(n // len(_SURNAMES)) % len(_GIVEN)])
        body = self._template.replace("@RN@", f"{self._tag}-{n:07d}")
        body = body.replace("@LN@", names[0]).replace("@FN@", names[1])
        try:
            response = await self._client.post(PATH, content=body, headers=self._headers)
        except httpx2.HTTPError as e:
            tally.failures[f"submit: {type(e).__name__}"] += 1
            return
        returned = time.perf_counter()
        if response.status_code == 201:
            tally.sent[response.json()["id"]] = returned
        else:
            tally.failures[f"submit: HTTP {response.status_code}"] += 1

    async def run(
        self, tally: Tally, rate: float, count: int | None = None, seconds: float | None = None
    ) -> None:
        """Open loop: one submission every 1/rate s (the next at once if one took longer)."""
        start = time.perf_counter()
        i = 0
        while (count is None or i < count) and (
            seconds is None or time.perf_counter() - start < seconds
        ):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._one(tally)
            i += 1


# -- the partners' side ------------------------------------------------------------------------


def _bearer(p: PartnerInfo) -> dict[str, str]:
    return {"Authorization": f"Bearer {p.key}"}


async def _poll_feed(
    client: httpx2.AsyncClient,
    p: PartnerInfo,
    tally: Tally,
    cursors: dict[int, int],
    pause: float,
    wait: int = 0,
) -> None:
    """A partner polling the HTTP feed: at once again after a page with items, else after
    `pause` seconds; or, with `wait`, long-polling (`?wait=`): at once again after every
    answer, as the server holds an empty page until something is queued."""
    while True:
        params = {"after": str(cursors.get(p.index, 0)), "limit": "100"}
        if wait:
            params["wait"] = str(wait)
        try:
            response = await client.get("/api/v1/feed", params=params, headers=_bearer(p))
        except httpx2.HTTPError as e:
            tally.failures[f"feed: {type(e).__name__}"] += 1
            await asyncio.sleep(pause)
            continue
        at = time.perf_counter()
        if response.status_code != 200:
            tally.failures[f"feed: HTTP {response.status_code}"] += 1
            await asyncio.sleep(pause)
            continue
        page = response.json()
        for item in page["items"]:
            tally.receive(p.index, item["subject"], at)
        cursors[p.index] = int(page["next_cursor"])
        if not page["items"] and not wait:
            await asyncio.sleep(pause)


async def _stream(
    client: httpx2.AsyncClient, p: PartnerInfo, tally: Tally, cursors: dict[int, int]
) -> None:
    """A partner holding the SSE stream open (reconnecting from its cursor if it drops)."""
    while True:
        params = {"after": str(cursors.get(p.index, 0))}
        try:
            async with client.sse(
                "/api/v1/feed/stream", params=params, headers=_bearer(p), timeout=None
            ) as source:
                async for event in source:
                    at = time.perf_counter()
                    tally.receive(p.index, json.loads(event.data)["subject"], at)
                    cursors[p.index] = int(event.id)
        except httpx2.HTTPError as e:
            tally.failures[f"sse: {type(e).__name__}"] += 1
            await asyncio.sleep(0.1)


def _hook_handler(
    partners: list[PartnerInfo], tally: Tally
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    """A Standard Webhooks receiver: one POST per connection (PARS's client closes it), the
    signature verified as tests/integration/test_webhooks.py's receiver does, then 204."""
    _repo_on_path()
    from tests.integration.test_webhooks import Receiver

    verifiers = {p.id: (p.index, Receiver(p.secret or "")) for p in partners}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in head[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            at = time.perf_counter()
            index, receiver = verifiers[head[0].split(" ")[1].rsplit("/", 1)[-1]]
            if receiver.verify(headers, body):
                tally.receive(index, json.loads(body)["subject"], at)
                writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            else:
                tally.failures["webhook: bad signature"] += 1
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, KeyError, ValueError) as e:
            tally.failures[f"webhook receiver: {type(e).__name__}"] += 1
        finally:
            writer.close()

    return handle


async def _nats_partners(
    url: str, partners: list[PartnerInfo], tallies: dict[str, Tally]
) -> list[Any]:
    """Each partner a JetStream consumer (an ordered push consumer on its own connection, as
    separate agencies would have) into tallies["nats"]; and one plain NATS subscription to
    `pars.partner.>` into tallies["nats-published"]: every message as PARS published it, whether
    or not the stream kept it."""
    connections = []
    for p in partners:

        async def arrived(msg: Any, index: int = p.index) -> None:
            at = time.perf_counter()
            tallies["nats"].receive(index, json.loads(msg.data)["subject"], at)

        nc = await nats.connect(url, name=f"bench-partner-{p.index}")
        connections.append(nc)
        await nc.jetstream().subscribe(f"pars.partner.{p.id}.>", cb=arrived, ordered_consumer=True)
    index = {p.id: p.index for p in partners}

    async def published(msg: Any) -> None:
        at = time.perf_counter()
        partner = msg.subject.split(".")[2]
        if partner in index:
            tallies["nats-published"].receive(index[partner], json.loads(msg.data)["subject"], at)

    nc = await nats.connect(url, name="bench-published")
    connections.append(nc)
    await nc.subscribe("pars.partner.>", cb=published)
    return connections


@contextlib.asynccontextmanager
async def _receiving(
    kind: str,
    client: httpx2.AsyncClient,
    partners: list[PartnerInfo],
    tallies: dict[str, Tally],
    cursors: dict[int, int],
    poll: float,
    hook_port: int | None,
    nats_url: str | None,
) -> AsyncIterator[None]:
    """Every partner receiving by `kind` (feed, longpoll, sse, webhook, nats) while the block
    runs."""
    tasks: list[asyncio.Task[None]] = []
    tally = tallies[kind]
    if kind in ("feed", "longpoll"):
        wait = LONG_POLL_SECONDS if kind == "longpoll" else 0
        tasks = [
            asyncio.create_task(_poll_feed(client, p, tally, cursors, poll, wait)) for p in partners
        ]
    elif kind == "sse":
        tasks = [asyncio.create_task(_stream(client, p, tally, cursors)) for p in partners]
    server: asyncio.Server | None = None
    if kind == "webhook":
        assert hook_port is not None
        server = await asyncio.start_server(_hook_handler(partners, tally), "127.0.0.1", hook_port)
    connections: list[Any] = []
    if kind == "nats":
        assert nats_url is not None
        connections = await _nats_partners(nats_url, partners, tallies)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            server.close()
            await server.wait_closed()
        for nc in connections:
            await nc.close()


async def run_phase(
    kind: str,
    port: int,
    token: str,
    partners: list[PartnerInfo],
    meter: Callable[[], Any],
    *,
    rate: float,
    seconds: float,
    poll: float = 0.1,
    cursors: dict[int, int] | None = None,
    hook_port: int | None = None,
    nats_url: str | None = None,
) -> list[Measured]:
    """Warm up (WARM_UP submissions, each at every partner), then submit at `rate` for `seconds`
    and wait (at most 60 s) until every partner has every event. `meter()` gives the context
    manager measuring CPU (bench/intake.py's CpuMeter) around the measured part.

    NATS gives two figures: the partners' JetStream consumers ("nats"), and a plain subscription
    that sees each message as published ("nats-published"), which the run waits for."""
    first = Tally(len(partners))
    tallies = {kind: first}
    if kind == "nats":
        tallies = {"nats-published": first, "nats": Tally(len(partners), sent=first.sent)}
    cursors = {} if cursors is None else cursors
    url = f"http://127.0.0.1:{port}"
    async with (
        httpx2.AsyncClient(base_url=url, timeout=30.0) as client,
        _receiving(kind, client, partners, tallies, cursors, poll, hook_port, nats_url),
    ):
        submitter = Submitter(client, token, f"F{kind[:2].upper()}")
        await submitter.run(first, rate, count=WARM_UP)
        if not await first.wait(60) or first.failures:
            raise RuntimeError(
                f"{kind}: the warm-up did not reach every partner in 60 s: "
                f"{first.missing()} missing, failures {dict(first.failures)}"
            )
        for t in tallies.values():
            t.reset()
        # The partners' side too (this process): no full collection over the heap built so far
        # in the middle of a measurement; it would delay every receipt it fell on.
        heap.settle()
        with meter() as cpu:
            start = time.perf_counter()
            await submitter.run(first, rate, seconds=seconds)
            submitting = time.perf_counter() - start
            drained = await first.wait(60)
        for t in tallies.values():
            await t.wait(2.0)  # stragglers of the other figures
    out = []
    for name, t in tallies.items():
        result = Result("", name, len(partners), submitting, t.latencies(), Counter(t.failures))
        result.cpu = getattr(cpu, "cpu", Cpu())
        out.append(Measured(name, t, result, submitting, drained))
    return out
