"""Issue 14 item 3: every answer carries the security headers, and no answer to an
authenticated request may be cached. The test walks every route of the OpenAPI document and
every screen route, signed in and not, and the error answers (401, 404, 405, 422, 500)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from pars.crypto import KeyRing
from pars.services.agreements import add_partner
from pars.services.app import Pars
from pars.services.delivery.relay import relay_once
from pars.web.app import create_app
from tests.conftest import KEYS, START, Api
from tests.factories import active_agreement
from tests.web.helpers import arrest_in
from tests.web.screens import Screens

API_CSP = "default-src 'none'; frame-ancestors 'none'"
ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
# Routes that need no credentials (tests/web/test_routes.py classifies every route).
PUBLIC = {
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/api/v1/auth/token",
    "/api/v1/transparency",
    "/transparency",
    "/api/v1/audit/checkpoint",
    "/api/v1/audit/checkpoints",
    "/api/v1/audit/public-key",
    "/api/v1/audit/proof/inclusion",
    "/api/v1/audit/proof/consistency",
}
# The public report is the one answer that may be cached: it holds no personal data.
CACHEABLE = {"/api/v1/transparency", "/transparency"}
PARTNER = {
    "/api/v1/feed",
    "/api/v1/feed/stream",
    "/api/v1/lookup",
    "/api/v1/feed/receipts/{index}",
    "/api/v1/feed/recalls/{recall_id}/attestation",
}
_PARAM = re.compile(r"\{([^}]+)\}")


def _headers_ok(r: Any, path: str, authenticated: bool) -> None:
    where = (r.request.method, path, r.status_code)
    for name, value in ALWAYS.items():
        assert r.headers.get(name) == value, (where, name, r.headers)
    csp = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, (where, csp)
    if r.headers.get("content-type", "").startswith("text/html"):
        # the screens' policy, or a stricter one that allows no script at all (/transparency)
        no_script = "default-src 'none'" in csp and "script-src" not in csp
        assert "unsafe-inline" not in csp, (where, csp)
        assert "script-src 'self'" in csp or no_script, (where, csp)
    else:
        assert csp == API_CSP, (where, csp)
    assert "strict-transport-security" not in r.headers, where  # off unless the setting says
    cache = r.headers.get("cache-control", "")
    if authenticated or path not in CACHEABLE:
        assert cache == "no-store", (where, cache)


def _fill(path: str, arrest_id: str) -> str:
    samples = {"arrest_id": arrest_id, "version": "1", "citation": "18-2701-A1", "index": "0"}
    samples |= {"decision_id": "1", "merge_id": "1"}
    return _PARAM.sub(lambda m: samples.get(m.group(1), str(uuid.uuid4())), path)


def _operations(api: Api) -> list[tuple[str, str]]:
    doc = api.client.get("/openapi.json").json()
    ops = [(m.upper(), p) for p, item in doc["paths"].items() for m in item]
    assert len(ops) > 50, ops  # the whole API, not an empty document
    return ops


def test_every_api_route_sends_the_headers_and_no_store(api: Api) -> None:
    arrest = arrest_in(api, "charged")
    _, key = add_partner(api.pars, "PSP", "state_repository")
    # One event queued for the partner, so the stream's `max_events=1` ends (an idle stream
    # would wait for ever: the test client reads a response whole).
    active_agreement(api.pars, "PSP", ends_at=START + timedelta(days=30))
    assert relay_once(api.pars) >= 1
    token = api.token("supervisor1")
    for method, template in _operations(api):
        path = _fill(template, arrest["id"])
        if template == "/api/v1/feed/stream":
            path += "?max_events=1"
        credentials = {"Authorization": f"Bearer {key if template in PARTNER else token}"}
        for authenticated, headers in ((True, credentials), (False, {})):
            api.client.headers.pop("Authorization", None)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = api.client.request(method, path, json=body, headers=headers)
            assert r.status_code < 500, (method, path, r.status_code, r.text)
            _headers_ok(r, template, authenticated and template not in PUBLIC)
            if not authenticated and template not in PUBLIC:
                assert r.status_code == 401, (method, path, r.status_code)


def test_the_answers_that_carry_personal_data_are_not_cached(api: Api) -> None:
    """The ones the issue names, each with its data actually in the answer."""
    arrest = arrest_in(api, "charged")
    officer = api.as_("officer")
    base = f"/api/v1/arrests/{arrest['id']}"
    for path in (base, "/api/v1/arrests", f"{base}/versions", f"{base}/versions/1"):
        r = officer.get(path)
        # the version list names who changed what and when; the others hold the record
        shown = "officer1" if path.endswith("/versions") else arrest["otn"]
        assert r.status_code == 200 and shown in r.text, (path, r.text)
        assert r.headers["cache-control"] == "no-store", path
    pdf = api.as_("prosecutor").get(f"{base}/complaint.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store"
    assert pdf.headers["content-security-policy"] == API_CSP
    api.client.headers.pop("Authorization", None)
    token = api.client.post(
        "/api/v1/auth/token",
        json={"username": "officer1", "password": "correct horse battery staple"},
    )
    assert token.status_code == 200 and "access_token" in token.json()
    assert token.headers["cache-control"] == "no-store"


def _screen_routes(app: Any) -> list[APIRoute]:
    def walk(routes: list[Any]) -> list[APIRoute]:
        out: list[APIRoute] = []
        for r in routes:
            if hasattr(r, "original_router"):
                out += walk(r.original_router.routes)
            elif isinstance(r, APIRoute) and not r.include_in_schema:
                out.append(r)
        return out

    found = walk(app.routes)
    assert len(found) > 30, [r.path for r in found]
    return found


def test_every_screen_route_sends_the_headers(api: Api) -> None:
    screens = Screens(api.pars)
    arrest = arrest_in(api, "charged")
    signed_in = {"supervisor": screens.signed_in("supervisor"), "admin": screens.signed_in("admin")}
    signed_out = screens.browser()
    for route in _screen_routes(screens.app):
        path = _fill(route.path, arrest["id"])
        for method in sorted(route.methods - {"HEAD"}):
            for browser in signed_in.values():
                r = browser.request(method, path, follow_redirects=False)
                assert r.status_code < 500, (method, path, r.status_code)
                _headers_ok(r, route.path, authenticated=True)
            r = signed_out.request(method, path, follow_redirects=False)
            _headers_ok(r, route.path, authenticated=False)
    docs = signed_out.get("/docs")
    assert docs.status_code == 200
    csp = docs.headers["content-security-policy"]
    # What the self-hosted Swagger UI needs: its script and style from PARS, its icons as
    # data: images, and /openapi.json fetched from PARS; nothing inline, nothing else.
    for needed in ("script-src 'self'", "style-src 'self'", "img-src 'self' data:"):
        assert needed in csp, csp
    assert "connect-src 'self'" in csp and "unsafe" not in csp


def _boom() -> None:
    raise RuntimeError("a bug")


def test_error_answers_carry_them_too(api: Api) -> None:
    app = create_app(api.pars)
    app.add_api_route("/api/v1/test-boom", _boom)
    app.add_api_route("/test-boom", _boom, include_in_schema=False)
    client = TestClient(app, raise_server_exceptions=False)
    token = {"Authorization": f"Bearer {api.token('officer1')}"}
    cases = [
        ("GET", "/api/v1/arrests", {}, 401),
        ("GET", "/api/v1/arrests", {"Authorization": "Bearer pars_nope"}, 401),
        ("GET", "/api/v1/nothing/666-12-3456", token, 404),
        ("GET", "/api/v1/charges/666-12-3456", token, 404),
        ("GET", "/nothing-here", {"Accept": "text/html"}, 404),
        ("DELETE", "/api/v1/charges/18-2701-A1", token, 405),
        ("GET", "/api/v1/arrests?limit=0", token, 422),
        ("POST", "/api/v1/arrests", token, 422),
        ("GET", "/api/v1/test-boom", token, 500),
        ("GET", "/test-boom", {"Accept": "text/html"}, 500),
    ]
    for method, path, headers, status in cases:
        json = {"arrested_at": "yesterday"} if method == "POST" else None
        r = client.request(method, path, headers=headers, json=json)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        _headers_ok(r, path, authenticated=True)


@pytest.fixture
def hsts_pars(pars: Pars) -> Pars:
    return Pars(
        pars.settings.model_copy(update={"tls_in_front": True}),
        clock=pars.clock,
        keys=KeyRing(KEYS),
    )


def test_hsts_when_tls_is_terminated_in_front(hsts_pars: Pars) -> None:
    client = TestClient(create_app(hsts_pars), raise_server_exceptions=False)
    for path in ("/healthz", "/api/v1/arrests", "/signin", "/nothing-here", "/static/pars.css"):
        r = client.get(path)
        assert r.headers["strict-transport-security"] == "max-age=31536000", path
    hsts_pars.engine.dispose()
