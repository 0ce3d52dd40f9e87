"""The relay killed with SIGKILL while events are being committed, and started again: every
committed event reaches the partner's queue exactly once, in outbox order. The relay's cursor and
the deliveries it queues commit in one transaction, so a kill loses or repeats nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pars.domain.clock import SystemClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest
from pars.services.inputs import ArrestIn
from tests.conftest import AUDIT_SIGNING_KEY, KEYS, rows
from tests.factories import active_agreement, arrest_body

OFFICER = Principal("officer1", "officer")
EVENTS = 30  # at least this many, committed while the relay is being killed
KILLS = 4


def _relay(pars: Pars, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_")}
    env.update({
        "PARS_DATA_DIR": str(data_dir), "PARS_DATABASE_URL": pars.settings.sqlalchemy_url,
        "PARS_ENCRYPTION_KEYS": KEYS, "PARS_LOG_LEVEL": "warning",
        "PARS_AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY,
    })  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "pars.cli", "relay", "--interval", "0.01"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_relay_killed_mid_stream_loses_and_repeats_nothing(
    pars: Pars, backend: str, tmp_path: Path
) -> None:
    ag.add_partner(pars, "PSP", "state_repository")
    # The relay process runs on the real clock: a term around now.
    active_agreement(pars, "PSP", granted=["case"], starts_at="2020-01-01T00:00:00+00:00",
                     ends_at="2099-01-01T00:00:00+00:00")  # fmt: skip

    stop = threading.Event()
    written: list[str] = []

    def submit_all() -> None:
        # Keeps committing until the relay has been killed enough times mid-stream.
        while not stop.is_set() or len(written) < EVENTS:
            arrest = create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), True)
            written.append(arrest.id)
            time.sleep(0.02)

    writer = threading.Thread(target=submit_all)
    writer.start()
    kills = 0
    rng = random.Random(7)
    relay = _relay(pars, tmp_path)
    try:
        while kills < KILLS:
            # Kill only a relay that is working: it has queued something since it started.
            seen = len(rows(pars, "deliveries"))
            deadline = time.monotonic() + 20
            while len(rows(pars, "deliveries")) == seen and time.monotonic() < deadline:
                time.sleep(0.005)
            assert len(rows(pars, "deliveries")) > seen, "the relay made no progress"
            time.sleep(rng.uniform(0, 0.05))
            relay.send_signal(signal.SIGKILL)
            relay.wait(10)
            kills += 1
            relay = _relay(pars, tmp_path)
        stop.set()
        writer.join()
        deadline = time.monotonic() + 30
        while len(rows(pars, "deliveries")) < len(written) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
    outbox = [e for e in rows(pars, "outbox") if e["type"] == "pars.arrest.submitted"]
    queued = rows(pars, "deliveries")
    assert len(outbox) == len(written) >= EVENTS
    # Exactly once per event, and in outbox order.
    assert [d["event_id"] for d in queued] == [e["id"] for e in outbox]
    assert [d["outbox_seq"] for d in queued] == sorted(d["outbox_seq"] for d in queued)


@pytest.fixture
def clock() -> SystemClock:
    """Real time: the relay subprocess cannot share a fake clock."""
    return SystemClock()
