"""What a partner's ordinary libraries make of PARS's events, used as they are: the CloudEvents
SDK (its current v2 API) reads every event from the HTTP feed, the SSE stream, a webhook as a
local receiver gets it (`from_http` on the request's headers and body) and a NATS message from
a real `nats-server`; `standardwebhooks` verifies every webhook. Each event also passes the
spec's rules (tests/cloudevents_spec.py), and payloads queued before event format 2 are renamed
by the migration."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
import sqlalchemy as sa
from alembic import command
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest
from pars.services.delivery.nats import deliver_nats
from pars.services.delivery.relay import relay_once
from pars.services.delivery.webhooks import deliver_webhooks
from pars.services.inputs import ArrestIn
from pars.store.engine import alembic_config
from pars.store.tables import deliveries
from tests.cloudevents_spec import problems
from tests.conftest import Api, rows
from tests.factories import active_agreement, arrest_body
from tests.integration.test_nats import NatsServer

OFFICER = Principal("officer1", "officer")
PARTNER = "DA Case Management"
STRUCTURED = "application/cloudevents+json"


@pytest.fixture
def clock() -> FakeClock:
    # Standard Webhooks receivers refuse a `webhook-timestamp` more than five minutes from their
    # own clock, so PARS's clock reads the real time here (and stands still).
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The receiver listens on loopback, which webhooks may reach only through the allow-list.
    return {
        "webhook_timeout_seconds": 2,
        "webhook_max_attempts": 3,
        "webhook_allowlist": "127.0.0.1",
    }


def _agreement(pars: Pars, **kw: Any) -> str:
    now = pars.clock.now()
    kw.setdefault("starts_at", now - timedelta(days=1))
    kw.setdefault("ends_at", now + timedelta(days=30))
    return active_agreement(pars, PARTNER, **kw)


def _submit(pars: Pars) -> str:
    arrested = (pars.clock.now() - timedelta(hours=2)).isoformat()
    body = ArrestIn.model_validate(arrest_body(arrested_at=arrested))
    return create_arrest(pars, OFFICER, body, submit=True).id


def _checked(event: BaseCloudEvent, raw: dict[str, Any], agreement_id: str) -> None:
    """What every transport's event must be, as the SDK read it and as it was on the wire."""
    assert problems(raw) == []
    assert event.get_specversion() == "1.0"
    assert event.get_type() == "pars.arrest.submitted"
    assert event.get_id() == raw["id"] and event.get_subject() == raw["subject"]
    assert event.get_time() == datetime.fromisoformat(raw["time"])
    assert event.get_extension("parsagreement") == f"{agreement_id}/v1"
    assert int(event.get_extension("parslogindex")) >= 0
    assert event.get_extension("parslogsalt")
    data = event.get_data()
    assert isinstance(data, dict) and data["person"]["last_name"] == "Doe"
    assert "ssn" not in data["person"]


def _read_json(body: bytes | str) -> BaseCloudEvent:
    """The JSON event format, which feed items, SSE data, and NATS bodies are."""
    return JSONFormat().read(None, body.encode() if isinstance(body, str) else body)


# -- HTTP feed and SSE --------------------------------------------------------------------


@pytest.fixture
def feed_partner(api: Api) -> dict[str, str]:
    _, key = ag.add_partner(api.pars, PARTNER, "prosecutor")
    return {"Authorization": f"Bearer {key}"}


def test_the_sdk_reads_every_feed_item(api: Api, feed_partner: dict[str, str]) -> None:
    aid = _agreement(api.pars)
    subjects = [_submit(api.pars) for _ in range(2)]
    relay_once(api.pars)
    r = api.client.get("/api/v1/feed", headers=feed_partner)
    assert r.status_code == 200
    page = r.json()
    assert set(page) == {"items", "next_cursor"}
    for raw in page["items"]:
        _checked(_read_json(json.dumps(raw)), raw, aid)
    assert [e["subject"] for e in page["items"]] == subjects


def test_the_sdk_reads_every_server_sent_event(api: Api, feed_partner: dict[str, str]) -> None:
    aid = _agreement(api.pars)
    for _ in range(2):
        _submit(api.pars)
    relay_once(api.pars)
    datas = []
    params = {"max_events": 2}
    with api.client.stream("GET", "/api/v1/feed/stream", params=params, headers=feed_partner) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                datas.append(line.removeprefix("data: "))
    assert len(datas) == 2
    for data in datas:
        _checked(_read_json(data), json.loads(data), aid)


# -- webhooks -------------------------------------------------------------------------------


class Receiver:
    """A partner's endpoint: keeps each request's headers and body as they arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/pars"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def test_a_webhook_is_a_structured_cloudevent_with_a_standard_signature(
    pars: Pars, receiver: Receiver
) -> None:
    ag.add_partner(pars, PARTNER, "prosecutor")
    secret = ag.set_webhook_secret(pars, PARTNER)
    aid = _agreement(pars, transport="webhook", webhook_url=receiver.url)
    for _ in range(2):
        _submit(pars)
    relay_once(pars)
    assert deliver_webhooks(pars) == 1 and deliver_webhooks(pars) == 1
    assert len(receiver.received) == 2
    hook = Webhook(secret)
    for headers, body in receiver.received:
        assert headers["content-type"] == "application/cloudevents+json; charset=utf-8"
        assert not [h for h in headers if h.startswith("ce-")]  # structured, not binary, mode
        event = from_http_event(HTTPMessage(headers, body))
        raw = json.loads(body)
        _checked(event, raw, aid)
        assert hook.verify(body, headers) == raw
        assert headers["webhook-id"] == event.get_id()
        with pytest.raises(WebhookVerificationError):
            hook.verify(body.replace(b'"Doe"', b'"Roe"'), headers)
    assert [d["status"] for d in rows(pars, "deliveries")] == ["delivered", "delivered"]


# -- NATS -----------------------------------------------------------------------------------


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    store = tmp_path / "nats"
    store.mkdir()
    server = NatsServer(store)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _messages(url: str, partner_id: str) -> list[Any]:
    async def read() -> list[Any]:
        nc = await nats.connect(url)
        try:
            sub = await nc.jetstream().subscribe(
                f"pars.partner.{partner_id}.>", ordered_consumer=True
            )
            out = []
            while True:
                try:
                    out.append(await sub.next_msg(timeout=0.5))
                except (TimeoutError, nats.errors.TimeoutError):
                    return out
        finally:
            await nc.close()

    return asyncio.run(read())


def test_a_nats_message_is_a_structured_cloudevent(pars: Pars, nats_url: str) -> None:
    from pars.services.delivery.nats import JetStreamPublisher

    partner_id, _ = ag.add_partner(pars, PARTNER, "prosecutor")
    aid = _agreement(pars, transport="nats")
    for _ in range(2):
        _submit(pars)
    relay_once(pars)
    publisher = JetStreamPublisher(nats_url)
    try:
        assert deliver_nats(pars, publisher) == 1 and deliver_nats(pars, publisher) == 1
    finally:
        publisher.close()
    messages = _messages(nats_url, partner_id)
    assert len(messages) == 2
    for msg in messages:
        assert msg.headers["Content-Type"] == STRUCTURED
        assert not [h for h in msg.headers if h.lower().startswith("ce-")]
        raw = json.loads(msg.data)
        _checked(_read_json(msg.data), raw, aid)
        assert msg.headers["Nats-Msg-Id"] == f"{partner_id}.{aid}.{raw['id']}"
        assert msg.subject == f"pars.partner.{partner_id}.pars.arrest.submitted"


# -- the migration of queued payloads -------------------------------------------------------


def test_queued_payloads_are_renamed_by_the_migration(pars: Pars, backend: str) -> None:
    ag.add_partner(pars, PARTNER, "prosecutor")
    aid = _agreement(pars)
    _submit(pars)
    relay_once(pars)
    cfg = alembic_config(pars.engine.url.render_as_string(hide_password=False))

    def payloads() -> list[dict[str, Any]]:
        with pars.engine.connect() as conn:
            return list(conn.execute(sa.select(deliveries.c.payload)).scalars())

    (new,) = payloads()
    assert new["parsagreement"] == f"{aid}/v1" and "pars_agreement" not in new
    with pars.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")  # what a deployment of event format 1 holds
    (old,) = payloads()
    assert old["pars_agreement"] == f"{aid}/v1" and "parsagreement" not in old
    with pars.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert payloads() == [new]
