"""Webhooks against a real HTTP receiver written from the Standard Webhooks specification: it
fails, times out and answers 500; PARS retries with backoff, keeps each partner's order, and
dead-letters after the last try. Every request's signature is verified by the receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest
from pars.services.delivery.push import backoff
from pars.services.delivery.relay import relay_once
from pars.services.delivery.webhooks import deliver_webhooks
from pars.services.inputs import ArrestIn
from tests.conftest import rows
from tests.factories import PRIVACY_OFFICER as PO
from tests.factories import active_agreement, arrest_body

OFFICER = Principal("officer1", "officer")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The receivers listen on loopback, which webhooks may reach only through the allow-list.
    return {
        "webhook_timeout_seconds": 0.5,
        "webhook_max_attempts": 3,
        "webhook_allowlist": "127.0.0.1",
    }


class Receiver:
    """Answers each request with the next scripted behaviour: an HTTP status, or 'timeout'."""

    def __init__(self, secret: str) -> None:
        self.key = base64.b64decode(secret.removeprefix("whsec_"))
        self.script: list[int | str] = []
        self.received: list[dict[str, Any]] = []

    def verify(self, headers: Any, body: bytes) -> bool:
        # Standard Webhooks: HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}".
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        versions = [s.split(",", 1) for s in headers["webhook-signature"].split(" ")]
        return any(v == "v1" and hmac.compare_digest(sig, expected) for v, sig in versions)


@pytest.fixture
def receiver(pars: Pars) -> Iterator[tuple[Receiver, str]]:
    ag.add_partner(pars, "DA Case Management", "prosecutor")
    secret = ag.set_webhook_secret(pars, "DA Case Management")
    rec = Receiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            action = rec.script.pop(0) if rec.script else 200
            rec.received.append(
                {
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "valid": rec.verify(self.headers, body),
                    "action": action,
                }
            )
            if action == "timeout":
                time.sleep(1.5)
                action = 200
            self.send_response(int(action))
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec, f"http://127.0.0.1:{server.server_address[1]}/hooks/pars"
    server.shutdown()
    server.server_close()


def _agreement(pars: Pars, url: str) -> str:
    return active_agreement(pars, "DA Case Management", transport="webhook", webhook_url=url)


def _submit(pars: Pars) -> str:
    return create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit=True).id


def test_retries_keep_order_then_deliver(
    pars: Pars, receiver: tuple[Receiver, str], clock: FakeClock
) -> None:
    rec, url = receiver
    _agreement(pars, url)
    first, second = _submit(pars), _submit(pars)
    relay_once(pars)
    rec.script = [500, "timeout"]
    assert deliver_webhooks(pars) == 1  # 500
    assert deliver_webhooks(pars) == 0  # the head waits for its retry; the second item waits too
    clock.advance(timedelta(seconds=3))
    assert deliver_webhooks(pars) == 1  # timeout
    clock.advance(timedelta(seconds=5))
    assert deliver_webhooks(pars) == 1  # delivered
    assert deliver_webhooks(pars) == 1  # then the second
    subjects = [json.loads(r["body"])["subject"] for r in rec.received]
    assert subjects == [first, first, first, second]
    assert all(r["valid"] for r in rec.received)
    ids = {r["headers"]["webhook-id"] for r in rec.received[:3]}
    assert len(ids) == 1  # the event id is stable across retries
    body = json.loads(rec.received[-1]["body"])
    assert "ssn" not in body["data"]["person"] and "victims" not in body["data"]
    statuses = [(d["status"], d["attempts"]) for d in rows(pars, "deliveries")]
    assert statuses == [("delivered", 2), ("delivered", 0)]
    actions = [a["action"] for a in rows(pars, "audit_log")]
    # Each try is a disclosure on the log, written before its request left.
    assert actions.count("disclosure:delivered") == 2
    assert actions.count("disclosure:redelivered") == 2
    assert actions.count("disclosure:acknowledged") == 2
    # Each request carried its own log entry's index.
    indexes = [json.loads(r["body"])["parslogindex"] for r in rec.received]
    assert len(set(indexes)) == 4


def test_dead_letter_after_the_last_try(
    pars: Pars, receiver: tuple[Receiver, str], clock: FakeClock
) -> None:
    rec, url = receiver
    _agreement(pars, url)
    _submit(pars)
    relay_once(pars)
    rec.script = [500, 503, 500]
    for _ in range(3):
        deliver_webhooks(pars)
        clock.advance(timedelta(minutes=5))
    assert deliver_webhooks(pars) == 0
    (item,) = rows(pars, "deliveries")
    assert (item["status"], item["attempts"], item["last_error"]) == ("dead", 3, "HTTP 500")
    partner = ag.list_partners(pars, PO)[0]
    dead = ag.partner_deliveries(pars, Principal("auditor1", "auditor"), partner["id"], "dead", 10)
    assert [d["id"] for d in dead] == [item["id"]]


def test_refused_connection_is_retried(pars: Pars, clock: FakeClock) -> None:
    ag.add_partner(pars, "DA Case Management", "prosecutor")
    ag.set_webhook_secret(pars, "DA Case Management")
    _agreement(pars, "http://127.0.0.1:9/nothing-listens-here")
    _submit(pars)
    relay_once(pars)
    deliver_webhooks(pars)
    (item,) = rows(pars, "deliveries")
    assert item["status"] == "queued" and item["attempts"] == 1
    assert "Error" in item["last_error"]


def test_backoff_grows_and_is_capped() -> None:
    import itertools
    import random

    rng = random.Random(1)
    waits = [backoff(n, rng).total_seconds() for n in range(1, 15)]
    assert 1.6 <= waits[0] <= 2.4
    assert all(b > a for a, b in itertools.pairwise(waits[:6]))
    assert max(waits) <= 3600 * 1.2


def test_not_sent_when_its_log_entry_cannot_be_written(
    pars: Pars, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    rec, url = receiver
    _agreement(pars, url)
    _submit(pars)
    relay_once(pars)

    def broken(*args: Any, **kwargs: Any) -> list[int]:
        raise sa.exc.OperationalError("INSERT INTO audit_log", {}, Exception("disk full"))

    monkeypatch.setattr("pars.store.uow.append_rows", broken)
    with pytest.raises(sa.exc.OperationalError):
        deliver_webhooks(pars)
    monkeypatch.undo()
    assert rec.received == []  # the data never left
    assert [(d["status"], d["attempts"]) for d in rows(pars, "deliveries")] == [("queued", 0)]
    assert deliver_webhooks(pars) == 1  # once the log can be written, it goes, logged first
    assert len(rec.received) == 1
    assert int(json.loads(rec.received[0]["body"])["parslogindex"]) >= 0
