"""Relay fail-over with real processes: two `pars relay` processes on one database, exactly one
active (it holds the relay lease), the other standing by. Killing the active one with SIGKILL
while arrests are being committed makes the standby take over; every event is queued exactly
once per partner, in outbox order, and each webhook event arrives under one webhook-id (a push
in flight at the kill may arrive again, under the same id, for the partner to drop).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pars.domain.clock import SystemClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest
from pars.services.inputs import ArrestIn
from pars.store.lease import lease_for
from tests.conftest import AUDIT_SIGNING_KEY, KEYS, rows
from tests.factories import active_agreement, arrest_body

OFFICER = Principal("officer1", "officer")
KILLS = 2
RECEIPT = {"parslogindex", "parslogsalt"}


@pytest.fixture
def clock() -> SystemClock:
    """Real time: the relay processes cannot share a fake clock."""
    return SystemClock()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_allowlist": "127.0.0.1"}


def _relay(pars: Pars, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_")}
    env.update({
        "PARS_DATA_DIR": str(data_dir), "PARS_DATABASE_URL": pars.settings.sqlalchemy_url,
        "PARS_ENCRYPTION_KEYS": KEYS, "PARS_LOG_LEVEL": "warning",
        "PARS_AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY, "PARS_WEBHOOK_ALLOWLIST": "127.0.0.1",
    })  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "pars.cli", "relay", "--interval", "0.05", "--standby-poll", "0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _holder_pid(pars: Pars, other_than: int = 0) -> int:
    """The pid of the relay that holds the lease, waiting until one other than `other_than`
    does."""
    lease = lease_for(pars.engine)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        holder = lease.holder() or ""
        if holder.startswith("pars-relay ") and int(holder.rsplit(" ", 1)[1]) != other_than:
            return int(holder.rsplit(" ", 1)[1])
        time.sleep(0.02)
    raise AssertionError("no relay took the lease")


@pytest.fixture
def hooks() -> Iterator[tuple[list[tuple[str, bytes]], str]]:
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((self.headers["webhook-id"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield received, f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()
    server.server_close()


def test_standby_takes_over_when_the_active_relay_is_killed(
    pars: Pars, backend: str, tmp_path: Path, hooks: tuple[list[tuple[str, bytes]], str]
) -> None:
    received, url = hooks
    term = {"starts_at": "2020-01-01T00:00:00+00:00", "ends_at": "2099-01-01T00:00:00+00:00"}
    ag.add_partner(pars, "PSP", "state_repository")
    feed_agreement = active_agreement(pars, "PSP", granted=["case"], **term)
    ag.add_partner(pars, "DA", "prosecutor")
    ag.set_webhook_secret(pars, "DA")
    hook_agreement = active_agreement(
        pars, "DA", granted=["case"], transport="webhook", webhook_url=url, **term
    )

    stop = threading.Event()
    written: list[str] = []

    def submit_all() -> None:
        while not stop.is_set():
            written.append(
                create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), True).id
            )
            time.sleep(0.1)

    relays = {p.pid: p for p in (_relay(pars, tmp_path), _relay(pars, tmp_path))}
    writer = threading.Thread(target=submit_all)
    writer.start()
    try:
        for _ in range(KILLS):
            active = _holder_pid(pars)
            assert active in relays
            # The active relay is working, and the lease stays with it while it lives.
            seen = len(rows(pars, "deliveries"))
            deadline = time.monotonic() + 30
            while len(rows(pars, "deliveries")) <= seen + 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(rows(pars, "deliveries")) > seen + 2, "the active relay made no progress"
            assert _holder_pid(pars) == active
            killed = relays.pop(active)
            killed.send_signal(signal.SIGKILL)
            killed.wait(10)
            # The standby takes the lease and goes on where the killed one stopped.
            assert _holder_pid(pars, other_than=active) in relays
            seen = len(rows(pars, "deliveries"))
            deadline = time.monotonic() + 30
            while len(rows(pars, "deliveries")) <= seen and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(rows(pars, "deliveries")) > seen, "the standby did not take over"
            # A new standby for the next round.
            fresh = _relay(pars, tmp_path)
            relays[fresh.pid] = fresh
        stop.set()
        writer.join()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (
            len(rows(pars, "deliveries")) < 2 * len(written)
            or len({hook_id for hook_id, _ in received}) < len(written)
            or any(
                d["status"] != "delivered"
                for d in rows(pars, "deliveries")
                if d["agreement_id"] == hook_agreement
            )
        ):
            time.sleep(0.1)
    finally:
        stop.set()
        writer.join()
        for p in relays.values():
            p.send_signal(signal.SIGKILL)
            p.wait(10)

    outbox = [e for e in rows(pars, "outbox") if e["type"] == "pars.arrest.submitted"]
    assert len(outbox) == len(written)
    for agreement in (feed_agreement, hook_agreement):
        queued = [d for d in rows(pars, "deliveries") if d["agreement_id"] == agreement]
        # Exactly once per event and partner, in outbox order: nothing lost, nothing twice.
        assert [d["event_id"] for d in queued] == [e["id"] for e in outbox]
    hooked = [d for d in rows(pars, "deliveries") if d["agreement_id"] == hook_agreement]
    statuses = [d["status"] for d in hooked]
    assert set(statuses) == {"delivered"}, (statuses.count("queued"), len(received), len(written))
    # Every event reached the webhook; a repeat is only ever the same id with the same event
    # (each try is its own disclosure, with its own receipt: log index and salt).
    events: dict[str, dict[str, Any]] = {}
    for hook_id, body in received:
        event = {k: v for k, v in json.loads(body).items() if k not in RECEIPT}
        assert events.setdefault(hook_id, event) == event
    assert sorted(e["subject"] for e in events.values()) == sorted(written)
    assert len(received) - len(events) <= KILLS  # only a push in flight at a kill repeats
