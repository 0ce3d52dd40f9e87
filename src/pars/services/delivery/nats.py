"""NATS JetStream delivery.

Each partner's queued items go out one at a time, oldest first (commit order; the partners
concurrently, in rounds: see `lanes`), published to
`pars.partner.<partner-id>.<event-type>` in the structured content mode of the CloudEvents NATS
binding: the message body is the whole CloudEvent in the JSON format (UTF-8), projected for the
agreement, with the header `Content-Type: application/cloudevents+json` and no `ce-` headers.
The header `Nats-Msg-Id` is `<partner-id>.<agreement-id>.<event-id>`, stable across retries (the
CloudEvent `id` in the body is the event id, the same for every partner and transport). An item
counts as delivered once JetStream acknowledges it (the PubAck). A failure (no server, lost
connection, no acknowledgement in time) is retried with the webhooks' backoff, and after
`webhook_max_attempts` tries the item becomes a dead letter. Delivery is at least once: a
publish whose acknowledgement was lost is published again, and the stream's duplicate window
drops the copy. The agreement is checked again before every try, and the disclosure is on the
log before the message leaves.

The stream (one per deployment, `nats_stream`) captures `pars.partner.>`; it is created, or its
subjects, duplicate window and replicas (`nats_replicas`: 3 on a three-node cluster) are brought
up to date, whenever PARS connects. `PARS_NATS_URL` may name every node of a cluster
(comma-separated): a connection to a node that failed is dropped, and the next try connects to
another. Before the first
publish to a partner on a connection, PARS makes sure the partner's durable pull consumer
(`partner-<id>`, filtered to its subjects) exists: the one thing a partner's NATS user may read
(`nats_access`). With `PARS_NATS_SEED_FILE` set, PARS connects as its own nkey user.

nats-py is asyncio; PARS's services are synchronous. A `JetStreamPublisher` runs one private
event loop in a background thread and keeps its connection open across rounds; a connection that
failed is dropped and made again on the next try, so delivery resumes when the server is back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Protocol

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from pars.config import Settings
from pars.services.app import Pars
from pars.services.delivery.lanes import Lanes
from pars.services.delivery.nats_access import consumer_name
from pars.services.delivery.push import Prepared

__all__ = [
    "SUBJECTS",
    "JetStreamPublisher",
    "PublishFailed",
    "Publisher",
    "deliver_nats",
    "message_id",
    "nats_lanes",
    "shared_publisher",
    "subject_for",
]

SUBJECTS = "pars.partner.>"
STRUCTURED = "application/cloudevents+json"  # the NATS binding's structured content mode


class PublishFailed(Exception):
    """The message may or may not have reached the stream; it must be published again."""


class Publisher(Protocol):
    def __call__(self, subject: str, headers: dict[str, str], body: bytes, timeout: float) -> None:
        """Publish and wait for the stream's acknowledgement; raise PublishFailed otherwise."""


def subject_for(partner_id: str, event_type: str) -> str:
    return f"pars.partner.{partner_id}.{event_type}"


async def _quiet(_: Exception) -> None:
    """Connection errors are reported through the failed publish, not logged twice."""


class JetStreamPublisher:
    """Publishes to JetStream from synchronous code over one long-lived connection."""

    def __init__(
        self,
        url: str,
        stream: str = "PARS",
        duplicate_window: float = 120,
        seed_file: str | None = None,
        replicas: int = 1,
    ) -> None:
        self._servers = [u.strip() for u in url.split(",") if u.strip()]
        self._stream = stream
        self._window = float(duplicate_window)
        self._seed_file = seed_file
        self._replicas = replicas
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._consumers: set[str] = set()  # partners whose consumer this connection ensured
        self._connecting = asyncio.Lock()  # bound to the private loop at its first use
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="pars-nats", daemon=True
        )
        self._thread.start()

    def __call__(self, subject: str, headers: dict[str, str], body: bytes, timeout: float) -> None:
        error = self.submit(subject, headers, body, timeout).result()
        if error is not None:
            raise PublishFailed(error)

    def submit(
        self, subject: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> concurrent.futures.Future[str | None]:
        """Publish without waiting: the future gives None once JetStream acknowledged it, or
        what went wrong. Publishes to different partners share the connection and run at
        once. Connecting, checking the stream and the publish each wait at most `timeout`, and
        all of it at most four times that: the caller bounds it by the agreement's end."""
        return asyncio.run_coroutine_threadsafe(
            self._publish_bounded(subject, headers, body, timeout), self._loop
        )

    async def _publish_bounded(
        self, subject: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> str | None:
        try:
            await asyncio.wait_for(self._publish(subject, headers, body, timeout), timeout * 4)
        except PublishFailed as e:
            return str(e)
        except TimeoutError:
            await self._drop()
            return "TimeoutError: no acknowledgement"
        return None

    def close(self) -> None:
        """Close the connection and stop the background loop; the publisher is then unusable."""
        if not self._loop.is_running():
            return
        asyncio.run_coroutine_threadsafe(self._drop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _publish(
        self, subject: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> None:
        try:
            js = await self._connected(timeout)
            await self._ensure_consumer(js, subject)
            await js.publish(subject, body, timeout=timeout, headers=headers)
        except (nats.errors.Error, OSError) as e:  # nats' TimeoutError is an OSError too
            await self._drop()  # a fresh connection next time: the server may have restarted
            raise PublishFailed(f"{type(e).__name__}: {str(e)[:200]}") from e

    async def _connected(self, timeout: float) -> JetStreamContext:
        if self._nc is not None and self._js is not None and self._nc.is_connected:
            return self._js
        async with self._connecting:  # concurrent publishes make one connection, not several
            if self._nc is not None and self._js is not None and self._nc.is_connected:
                return self._js
            return await self._connect(timeout)

    async def _connect(self, timeout: float) -> JetStreamContext:
        await self._drop()
        nc = await nats.connect(
            servers=self._servers,
            name="pars",
            connect_timeout=max(1, round(timeout)),
            allow_reconnect=False,  # a lost connection is made again by the next try
            max_reconnect_attempts=1,  # so that connecting to a server that is down gives up
            reconnect_time_wait=0.1,
            error_cb=_quiet,
            nkeys_seed=self._seed_file,
        )
        try:
            js = nc.jetstream(timeout=timeout)
            await self._ensure_stream(js)
        except BaseException:
            await nc.close()
            raise
        self._nc, self._js = nc, js
        return js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            info = await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self._stream,
                    subjects=[SUBJECTS],
                    duplicate_window=self._window,
                    storage=StorageType.FILE,
                    num_replicas=self._replicas,
                )
            )
            return
        config = info.config
        subjects = list(config.subjects or [])
        window = config.duplicate_window or 0
        replicas = config.num_replicas or 1
        if (
            SUBJECTS not in subjects
            or abs(window - self._window) > 0.001
            or replicas != self._replicas
        ):
            if SUBJECTS not in subjects:
                subjects.append(SUBJECTS)
            # Only these three change: limits an operator set on the stream stay as they are.
            await js.update_stream(
                config.evolve(
                    subjects=subjects, duplicate_window=self._window, num_replicas=self._replicas
                )
            )

    async def _ensure_consumer(self, js: JetStreamContext, subject: str) -> None:
        """The partner's durable pull consumer, made once per connection (idempotent on the
        server: the same configuration again is a no-op)."""
        parts = subject.split(".")
        if len(parts) < 4 or parts[:2] != ["pars", "partner"] or parts[2] in self._consumers:
            return
        partner_id = parts[2]
        config = ConsumerConfig(
            durable_name=consumer_name(partner_id),
            filter_subject=f"pars.partner.{partner_id}.>",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
        )
        try:
            await js.add_consumer(self._stream, config)
        except BadRequestError:
            # One made by hand with other settings: leave it (the operator chose them), but
            # only if it is there.
            await js.consumer_info(self._stream, consumer_name(partner_id))
        self._consumers.add(partner_id)

    async def _drop(self) -> None:
        self._consumers.clear()
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(nats.errors.Error, OSError):
                await nc.close()


_SHARED: dict[tuple[str, str, int, str | None, int], JetStreamPublisher] = {}
_SHARED_LOCK = threading.Lock()


def shared_publisher(settings: Settings) -> JetStreamPublisher:
    """The process's publisher for these settings, kept open across rounds."""
    if not settings.nats_url:
        raise ValueError("PARS_NATS_URL is not set")
    seed = str(settings.nats_seed_file) if settings.nats_seed_file else None
    key = (
        settings.nats_url,
        settings.nats_stream,
        settings.nats_duplicate_window_seconds,
        seed,
        settings.nats_replicas,
    )
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = JetStreamPublisher(*key)
        return _SHARED[key]


def deliver_nats(pars: Pars, publisher: Publisher | None = None) -> int:
    """One round: the due head item of every partner, published concurrently (see `lanes`);
    waits for every acknowledgement and records them; returns how many were tried."""
    if publisher is None and not pars.settings.nats_url:
        return 0  # not configured: the items wait in the queue
    workers = pars.settings.push_concurrency
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pars-nats") as pool:
        return nats_lanes(pars, pool, publisher).round()


def nats_lanes(
    pars: Pars,
    pool: Executor,
    publisher: Publisher | None = None,
    wake: Callable[[], None] | None = None,
) -> Lanes:
    """The NATS lanes: the process's publisher (`PARS_NATS_URL`) publishes concurrently on its
    own event loop; another `publisher` (a test's) is called on `pool`."""

    def start(item: dict[str, Any], ready: Prepared) -> concurrent.futures.Future[str | None]:
        body = json.dumps(ready.payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {"Nats-Msg-Id": message_id(item), "Content-Type": STRUCTURED}
        subject = subject_for(item["partner_id"], item["event_type"])
        # Connecting and publishing must end before the agreement does (see `submit`).
        timeout = ready.timeout(pars.settings.webhook_timeout_seconds) / 4
        publish = publisher if publisher is not None else shared_publisher(pars.settings)
        if isinstance(publish, JetStreamPublisher):
            return publish.submit(subject, headers, body, timeout)
        return pool.submit(_call, publish, subject, headers, body, timeout)

    return Lanes(pars, "nats", start, wake=wake)


def _call(
    publish: Publisher, subject: str, headers: dict[str, str], body: bytes, timeout: float
) -> str | None:
    try:
        publish(subject, headers, body, timeout)
    except PublishFailed as e:
        return str(e)
    except OSError as e:
        return f"{type(e).__name__}: {str(e)[:200]}"
    return None


def message_id(item: dict[str, Any]) -> str:
    """`<partner-id>.<agreement-id>.<event-id>`: the same on every retry of one agreement's
    copy, so JetStream drops a republished duplicate; different per partner and agreement,
    because the duplicate window covers the whole stream and would otherwise keep only the
    first copy of each event."""
    return f"{item['partner_id']}.{item['agreement_id']}.{item['event_id']}"
