"""NATS as a cluster: three real `nats-server` nodes routed as one JetStream cluster, the partner
stream replicated three times (`PARS_NATS_REPLICAS=3`). During steady intake the node that leads
the stream is killed with SIGKILL and later started again: every event reaches every partner,
the stream holds no message twice, and every delivery PARS counted as delivered (on a PubAck) is
in the stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest

from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest
from pars.services.delivery.nats import deliver_nats, message_id, shared_publisher
from pars.services.delivery.relay import relay_once
from pars.services.inputs import ArrestIn
from tests.conftest import rows
from tests.factories import active_agreement, arrest_body
from tests.natsd import NatsCluster

OFFICER = Principal("officer1", "officer")
STREAM = "PARS"
PARTNERS = ("DA Case Management", "Pretrial Services", "Public Defender")


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _connect(url: str) -> Any:
    return await nats.connect(servers=url.split(","), connect_timeout=2, max_reconnect_attempts=2)


def _wait_for_jetstream(url: str) -> None:
    """Until the cluster has elected its JetStream meta leader (account info answers)."""

    async def ready() -> bool:
        nc = await _connect(url)
        try:
            await nc.jetstream(timeout=1).account_info()
            return True
        except (TimeoutError, nats.errors.Error, OSError):
            return False
        finally:
            await nc.close()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _run(ready()):
            return
        time.sleep(0.25)
    raise AssertionError("the JetStream cluster elected no leader in 30 s")


def _stream_info(url: str) -> Any:
    async def info() -> Any:
        nc = await _connect(url)
        try:
            return await nc.jetstream(timeout=5).stream_info(STREAM)
        finally:
            await nc.close()

    return _run(info())


def _read(url: str, partner_id: str) -> list[dict[str, Any]]:
    """Everything the stream holds for the partner, oldest first, read by a fresh consumer."""

    async def read() -> list[dict[str, Any]]:
        nc = await _connect(url)
        try:
            js = nc.jetstream(timeout=5)
            sub = await js.subscribe(f"pars.partner.{partner_id}.>", ordered_consumer=True)
            out: list[dict[str, Any]] = []
            while True:
                try:
                    msg = await sub.next_msg(timeout=1)
                except (TimeoutError, nats.errors.TimeoutError):
                    return out
                out.append({"id": msg.headers["Nats-Msg-Id"], "event": json.loads(msg.data)})
        finally:
            await nc.close()

    return list(_run(read()))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    c = NatsCluster(tmp_path / "nats")
    c.start()
    try:
        _wait_for_jetstream(c.url)
        yield c
    finally:
        c.stop()


@pytest.fixture
def settings_overrides(cluster: NatsCluster) -> dict[str, Any]:
    return {
        "nats_url": cluster.url,
        "nats_replicas": 3,
        "webhook_timeout_seconds": 2,
        "webhook_max_attempts": 50,  # no dead letters while a leader is elected again
    }


def _submit(pars: Pars) -> str:
    return create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit=True).id


def _deliver(pars: Pars, clock: FakeClock, rounds: int = 200) -> None:
    """Relay and deliver until nothing is queued, moving the clock past any backoff."""
    relay_once(pars)
    for _ in range(rounds):
        if not any(d["status"] == "queued" for d in rows(pars, "deliveries")):
            return
        if not deliver_nats(pars):
            clock.advance(timedelta(seconds=30))
            time.sleep(0.05)
    raise AssertionError("the queue did not empty")


def test_a_killed_node_loses_nothing_and_duplicates_nothing(
    pars: Pars, clock: FakeClock, cluster: NatsCluster
) -> None:
    partners = []
    for name in PARTNERS:
        pid, _ = ag.add_partner(pars, name, "prosecutor")
        active_agreement(pars, name, transport="nats")
        partners.append(pid)
    try:
        submitted = [_submit(pars) for _ in range(5)]
        _deliver(pars, clock)
        info = _stream_info(cluster.url)
        assert info.config.num_replicas == 3
        leader = info.cluster.leader
        assert leader and len(info.cluster.replicas or []) == 2

        # Mid-run: the stream's leader dies with items on their way to it.
        submitted += [_submit(pars) for _ in range(3)]
        relay_once(pars)
        deliver_nats(pars)  # a round or two before the kill: some items in flight
        cluster.node(leader).kill()
        submitted += [_submit(pars) for _ in range(6)]
        _deliver(pars, clock)  # the survivors elect a new leader; PARS connects to one of them
        assert _stream_info(cluster.url).cluster.leader != leader

        cluster.node(leader).start()  # back on its port and store: it catches up
        submitted += [_submit(pars) for _ in range(3)]
        _deliver(pars, clock)
    finally:
        shared_publisher(pars.settings).close()

    deliveries = rows(pars, "deliveries")
    assert {d["status"] for d in deliveries} == {"delivered"}
    assert len(deliveries) == len(submitted) * len(partners)
    failed = [a for a in rows(pars, "audit_log") if a["action"] == "nats:failed"]
    for pid in partners:
        got = _read(cluster.url, pid)
        ids = [m["id"] for m in got]
        assert len(ids) == len(set(ids)), "a message is in the stream twice"
        # Every delivery counted on a PubAck is in the stream, and nothing else is.
        assert set(ids) == {message_id(d) for d in deliveries if d["partner_id"] == pid}
        assert sorted(m["event"]["subject"] for m in got) == sorted(submitted)
    # No more than one copy per message in the stream as a whole, on the restarted node too.
    assert _stream_info(cluster.nodes[0].url).state.messages == len(submitted) * len(partners)
    print(f"nats:failed entries while a node was down: {len(failed)}")
