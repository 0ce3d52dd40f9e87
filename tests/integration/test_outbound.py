"""Webhook URLs that point inside (loopback, private, metadata) are refused when an agreement
names them, and again at every send on the addresses the name resolves to then (DNS
rebinding); the connection goes to the address just checked, keeps the URL's name for Host and
TLS, and is never redirected. Real receivers on 127.0.0.1; the DNS is a fake the test re-points."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest
from pars.services.delivery.outbound import Allowlist, post
from pars.services.delivery.relay import relay_once
from pars.services.delivery.webhooks import deliver_webhooks
from pars.services.inputs import ArrestIn
from tests.conftest import Api, rows
from tests.factories import active_agreement, arrest_body
from tests.unit.test_outbound import PUBLIC, FakeDNS

OFFICER = Principal("officer1", "officer")
PARTNER = "DA Case Management"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # One in-house receiver the operator allows by name; 127.0.0.1 itself is not allowed.
    return {
        "webhook_allowlist": "hooks.internal",
        "webhook_max_attempts": 2,
        "webhook_timeout_seconds": 2,
    }


@pytest.fixture
def dns(pars: Pars) -> FakeDNS:
    fake = FakeDNS({"hooks.partner.example": [PUBLIC]})
    pars.resolve = fake
    ag.add_partner(pars, PARTNER, "prosecutor")
    ag.set_webhook_secret(pars, PARTNER)
    return fake


class Receiver:
    """An HTTP receiver on 127.0.0.1 that answers each request with the next scripted status
    (and a Location for a redirect), recording the requests it got."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.received: list[dict[str, Any]] = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                status = rec.script.pop(0) if rec.script else 200
                rec.received.append({"host": self.headers["host"], "path": self.path})
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("location", "/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def _queued(pars: Pars, url: str) -> None:
    active_agreement(pars, PARTNER, transport="webhook", webhook_url=url)
    create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit=True)
    relay_once(pars)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://10.0.0.8/hook",
        "https://100.64.0.1/hook",
        "http://hooks.partner.example/hook",  # public, but not https
    ],
)
def test_an_agreement_naming_an_inside_url_is_refused(api: Api, dns: FakeDNS, url: str) -> None:
    body = {
        "partner": PARTNER,
        "purpose": "charging",
        "legal_basis": "18 Pa.C.S. § 9121",
        "event_types": ["pars.arrest.submitted"],
        "granted": ["case"],
        "starts_at": "2026-11-20T00:00:00-05:00",
        "ends_at": "2027-08-31T00:00:00-04:00",
        "transport": "webhook",
        "webhook_url": url,
    }
    r = api.as_("privacy_officer").post("/api/v1/agreements", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in r.json()["errors"]] == ["/webhook_url"]
    assert url not in r.text
    assert rows(api.pars, "agreements") == []
    ok = api.as_("privacy_officer").post(
        "/api/v1/agreements", json=body | {"webhook_url": "https://hooks.partner.example/in"}
    )
    assert ok.status_code == 201, ok.text


def test_a_name_rebound_to_loopback_after_registration_is_refused_at_send(
    pars: Pars, dns: FakeDNS, clock: FakeClock
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    try:
        _queued(pars, f"https://hooks.partner.example:{port}/pars")  # public when registered
        dns.names["hooks.partner.example"] = ["127.0.0.1"]  # and re-pointed at the relay
        assert deliver_webhooks(pars) == 1
        (item,) = rows(pars, "deliveries")
        assert (item["status"], item["attempts"]) == ("queued", 1)
        assert item["last_error"] == "Refused: the host resolves to a loopback address"
        clock.advance(timedelta(minutes=5))
        assert deliver_webhooks(pars) == 1
        (item,) = rows(pars, "deliveries")
        assert (item["status"], item["attempts"]) == ("dead", 2)  # the relay's usual rules
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever connected
    finally:
        listener.close()
    actions = [a["action"] for a in rows(pars, "audit_log")]
    assert actions.count("webhook:failed") == 1 and actions.count("webhook:dead_letter") == 1
    assert "disclosure:acknowledged" not in actions


def test_the_send_goes_to_the_address_checked_with_the_urls_name(
    pars: Pars, dns: FakeDNS, receiver: Receiver
) -> None:
    dns.names["hooks.internal"] = ["127.0.0.1"]  # allowed by name: it may be loopback, http
    _queued(pars, f"http://hooks.internal:{receiver.port}/in?partner=da")
    assert dns.asked == []  # an allowed name is not looked up at registration
    assert deliver_webhooks(pars) == 1
    assert receiver.received == [
        {"host": f"hooks.internal:{receiver.port}", "path": "/in?partner=da"}
    ]
    assert dns.asked == ["hooks.internal"]  # one look-up for the send, none behind it
    assert rows(pars, "deliveries")[0]["status"] == "delivered"


def test_a_redirect_is_a_failed_try_and_is_not_followed(
    pars: Pars, dns: FakeDNS, receiver: Receiver
) -> None:
    dns.names["hooks.internal"] = ["127.0.0.1"]
    _queued(pars, f"http://hooks.internal:{receiver.port}/in")
    receiver.script = [307]
    assert deliver_webhooks(pars) == 1
    assert [r["path"] for r in receiver.received] == ["/in"]  # never /elsewhere
    (item,) = rows(pars, "deliveries")
    assert (item["status"], item["attempts"], item["last_error"]) == ("queued", 1, "HTTP 307")


def _certificate(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def test_tls_keeps_the_name_for_sni_and_the_certificate(receiver: Receiver, tmp_path: Any) -> None:
    cert, key = _certificate("hooks.internal")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    names: list[str | None] = []
    served.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    receiver.server.socket = served.wrap_socket(receiver.server.socket, server_side=True)
    trust = ssl.create_default_context(cadata=cert.decode())
    dns = FakeDNS({"hooks.internal": ["127.0.0.1"], "other.internal": ["127.0.0.1"]})
    allow = Allowlist.parse("hooks.internal,other.internal")
    url = f"https://hooks.internal:{receiver.port}/in"
    assert post(url, {}, b"{}", 5, allow=allow, resolve=dns, tls=trust) == 200
    assert names == ["hooks.internal"]
    assert receiver.received[0]["host"] == f"hooks.internal:{receiver.port}"
    # The certificate is checked against the URL's name, not the address connected to.
    other = f"https://other.internal:{receiver.port}/in"
    with pytest.raises(ssl.SSLCertVerificationError):
        post(other, {}, b"{}", 5, allow=allow, resolve=dns, tls=trust)
