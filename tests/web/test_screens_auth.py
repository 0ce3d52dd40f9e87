"""The staff screens' sign-in, sessions, CSRF, headers, roles and admin actions, through the
real ASGI application in-process (tests/web/screens.py drives the pages)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from pars.domain.roles import Role
from pars.services.app import Pars
from pars.services.auth import issue_token
from pars.web.screens.jobs import HOME
from pars.web.screens.session import csrf_protect
from tests.conftest import rows
from tests.web.screens import Screens, csrf


@pytest.fixture
def screens(pars: Pars) -> Screens:
    return Screens(pars)


def actions(pars: Pars, actor: str | None = None) -> list[str]:
    return [r["action"] for r in rows(pars, "audit_log") if actor in (None, r["actor"])]


def test_sign_in_with_password_then_totp(screens: Screens) -> None:
    first = screens.signed_in("officer")  # enrols on first sign-in
    assert screens.post(first, "/signout").status_code == 200  # followed to /signin
    b = screens.browser()
    r = screens.password(b, "officer1")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin/code")
    assert b.get("/home", follow_redirects=False).status_code == 303  # one factor is not enough
    r = screens.code(b, screens.totp("officer1"))
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = b.get("/")
    assert home.status_code == 200 and home.url.path == "/booking"  # the officer's start screen
    assert "officer1" in home.text
    assert "Sign out everywhere" in b.get("/home").text
    acts = actions(screens.pars, "officer1")
    for a in (
        "account:login:success",
        "account:mfa:enrolled",
        "account:mfa:success",
        "account:logout",
        "session:started",
    ):
        assert a in acts, a


def test_enrolment_shows_a_qr_code_a_key_and_ten_hashed_recovery_codes(screens: Screens) -> None:
    b = screens.browser()
    r = screens.password(b, "clerk1")
    assert r.headers["location"].startswith("/signin/enrol")
    page = b.get("/signin/enrol").text
    assert 'src="data:image/svg+xml' in page and "<script>" not in page
    r = screens.enrol(b, "clerk1")
    codes = screens.recovery["clerk1"]
    assert len(codes) == 10 == len(set(codes))
    stored = [row for row in rows(screens.pars, "recovery_codes")]
    assert len(stored) == 10
    assert not {c for c in codes} & {row["code_hash"] for row in stored}
    user = next(u for u in rows(screens.pars, "users") if u["username"] == "clerk1")
    assert screens.secrets["clerk1"].encode() not in user["totp_secret"]  # encrypted
    assert b.get("/home").status_code == 200


def test_a_recovery_code_works_once(screens: Screens) -> None:
    screens.signed_in("magistrate")
    code = screens.recovery["magistrate1"][3]
    b = screens.browser()
    screens.password(b, "magistrate1")
    assert screens.code(b, code.lower().replace("-", " ")).status_code == 303
    assert b.get("/home").status_code == 200
    again = screens.browser()
    screens.password(again, "magistrate1")
    r = screens.code(again, code)
    assert r.status_code == 401 and "not right" in r.text
    assert "account:mfa:failure" in actions(screens.pars, "magistrate1")


def test_a_totp_code_is_single_use(screens: Screens) -> None:
    screens.signed_in("prosecutor")
    code = screens.totp("prosecutor1")
    a, b = screens.browser(), screens.browser()
    screens.password(a, "prosecutor1")
    screens.password(b, "prosecutor1")
    assert screens.code(a, code).status_code == 303
    assert screens.code(b, code).status_code == 401  # the same code, within its 30 seconds


def test_a_wrong_code_is_refused_and_five_lock_the_account(screens: Screens) -> None:
    screens.signed_in("defender")
    b = screens.browser()
    screens.password(b, "defender1")
    for _ in range(4):
        r = screens.code(b, "000000")
        assert r.status_code == 401
    r = screens.code(b, "000000")  # the fifth: locked, and the half-session ends
    assert "account:locked" in actions(screens.pars, "defender1")
    r = screens.password(screens.browser(), "defender1")
    assert r.status_code == 401 and "invalid username or password" in r.text
    assert actions(screens.pars, "defender1")[-1] == "account:login:failure"


def test_five_wrong_passwords_lock_the_account(screens: Screens) -> None:
    # Fewer than five from any one address (the throttle's limit per name and address is 3).
    for address in ("198.51.100.1",) * 3 + ("198.51.100.2",) * 2:
        b = screens.browser(address)
        assert screens.password(b, "pretrial1", "wrong password").status_code == 401
    r = screens.password(screens.browser("198.51.100.3"), "pretrial1")
    assert r.status_code == 401 and "invalid username or password" in r.text
    assert actions(screens.pars, "pretrial1").count("account:login:failure") == 6
    assert "account:locked" in actions(screens.pars, "pretrial1")


def test_state_changing_requests_need_the_csrf_token(screens: Screens) -> None:
    b = screens.browser()
    r = b.post("/signin", data={"username": "officer1", "password": "x"})
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    officer = screens.signed_in("officer")
    r = officer.post("/signout/everywhere", data={})
    assert r.status_code == 403
    r = officer.post("/signout/everywhere", data={"csrf_token": "forged" * 8})
    assert r.status_code == 403
    assert officer.get("/home").status_code == 200  # still signed in
    token = csrf(officer.get("/home").text)
    r = officer.post(
        "/signout", headers={"X-CSRF-Token": token, "HX-Request": "true"}, follow_redirects=False
    )
    assert r.status_code == 303  # the header is what HTMX sends


def test_every_state_changing_screen_route_checks_csrf(screens: Screens) -> None:
    def walk(routes: list[Any]) -> list[APIRoute]:
        out: list[APIRoute] = []
        for r in routes:
            if hasattr(r, "original_router"):
                out += walk(r.original_router.routes)
            elif isinstance(r, APIRoute):
                out.append(r)
        return out

    checked = 0
    for route in walk(screens.app.routes):
        if route.path.startswith("/api/") or not route.methods - {"GET", "HEAD"}:
            continue
        assert any(d.dependency is csrf_protect for d in route.dependencies), route.path
        checked += 1
    assert checked >= 8


def test_a_cookie_replayed_after_sign_out_is_refused(screens: Screens) -> None:
    b = screens.signed_in("supervisor")
    cookie = b.cookies["pars_session"]
    screens.post(b, "/signout")
    thief = screens.browser()
    thief.cookies.set("pars_session", cookie)
    r = thief.get("/home", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")


def test_sign_out_everywhere_ends_every_session_and_token(screens: Screens) -> None:
    desk = screens.signed_in("auditor")
    tablet = screens.browser()
    screens.sign_in(tablet, "auditor1")
    token = issue_token(screens.pars, "auditor1")
    api = screens.browser()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    r = screens.post(tablet, "/signout/everywhere")
    assert "signed out everywhere" in r.text
    assert desk.get("/home", follow_redirects=False).status_code == 303
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "account:logout:everywhere" in actions(screens.pars, "auditor1")


def test_an_idle_session_locks(screens: Screens) -> None:
    b = screens.signed_in("officer")
    screens.clock.advance(timedelta(minutes=29))
    assert b.get("/home").status_code == 200  # in use: the idle timer starts again
    screens.clock.advance(timedelta(minutes=31))
    r = b.get("/home", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/home"
    assert "session:locked" in actions(screens.pars, "officer1")


def _cookie(set_cookie: str) -> dict[str, str]:
    return {k.strip().lower(): v for k, _, v in (p.partition("=") for p in set_cookie.split(";"))}


def test_session_cookie_attributes(pars: Pars) -> None:
    local = Screens(pars)
    r = local.password(local.browser(), "officer1")
    c = _cookie(r.headers["set-cookie"])
    assert "httponly" in c and c["samesite"] == "strict" and c["path"] == "/"
    assert "secure" not in c  # plain http on localhost
    assert len(c["pars_session"]) >= 40
    remote = Screens(pars, base_url="http://pars.example.gov")
    r = remote.password(remote.browser(), "officer1")
    assert "secure" in _cookie(r.headers["set-cookie"])
    stored = {row["id_hash"] for row in rows(pars, "staff_sessions")}
    assert c["pars_session"] not in stored  # only its hash


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
_INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
_INLINE_STYLE = re.compile(r"<style|\sstyle=", re.I)


def test_pages_send_security_headers_and_have_no_inline_script(screens: Screens) -> None:
    admin = screens.signed_in("admin")
    pages = [admin.get(p) for p in ("/home", "/admin/users", "/docs", "/nothing-here")]
    pages += [screens.browser().get("/signin")]
    for r in pages:
        h = r.headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, r.url
        assert "unsafe-inline" not in csp
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
        assert h["cache-control"] == "no-store"
        assert not _INLINE_SCRIPT.search(r.text), r.url
        assert not _INLINE_HANDLER.search(r.text), r.url
        assert not _INLINE_STYLE.search(r.text), r.url
    assert "cdn" not in admin.get("/docs").text.lower()


def test_api_errors_stay_problem_json_and_page_errors_are_pages(screens: Screens) -> None:
    b = screens.browser()
    r = b.get("/api/v1/nothing", headers={"Accept": "text/html"})
    assert r.headers["content-type"] == "application/problem+json"
    r = b.get("/api/v1/me", headers={"Accept": "text/html"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    r = b.get("/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<h1" in r.text and "<html" in r.text
    r = b.get("/nothing-here", headers={"HX-Request": "true"})
    assert r.status_code == 404 and "<html" not in r.text and r.headers["hx-retarget"] == "#alerts"


def test_htmx_gets_the_fragment_and_a_401_fragment_when_signed_out(screens: Screens) -> None:
    b = screens.signed_in("clerk")
    whole = b.get("/home")
    part = b.get("/home", headers={"HX-Request": "true"})
    assert "<html" in whole.text and "<html" not in part.text and "Your jobs" in part.text
    boosted = b.get("/home", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text
    r = screens.browser().get("/home", headers={"HX-Request": "true"})
    assert r.status_code == 401 and "Sign in again" in r.text and "<html" not in r.text


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_page_against_every_role(screens: Screens, role: str) -> None:
    b = screens.signed_in(role)
    r = b.get("/", follow_redirects=False)
    target = HOME[Role(role)]
    built = b.get(target).status_code != 404  # screens not built yet send to /home
    assert r.headers["location"] == (target if built else "/home")
    assert b.get("/home").status_code == 200
    r = b.get("/admin/users")
    assert r.status_code == (200 if role == "admin" else 403)
    if role != "admin":
        assert "text/html" in r.headers["content-type"] and "not for the" in r.text
        denied = [x for x in rows(screens.pars, "audit_log") if x["action"] == "page:forbidden"]
        assert denied[-1]["actor"] == f"{role}1" and denied[-1]["details"]["path"] == "/admin/users"
    assert b.get("/signin", follow_redirects=False).status_code == 303  # already signed in
    assert b.get("/docs").status_code == 200


def test_signed_out_pages_go_to_sign_in(screens: Screens) -> None:
    b = screens.browser()
    for path in ("/", "/home", "/admin/users"):
        r = b.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin"), path
    assert b.get("/signin?next=//evil.example").status_code == 200
    r = screens.password(b, "officer1")
    assert "evil" not in r.headers["location"]


def test_admin_actions_are_audited_and_take_effect(screens: Screens) -> None:
    admin = screens.signed_in("admin")
    r = screens.post(
        admin,
        "/admin/users",
        {"username": "newbie", "role": "officer"},
        page=admin.get("/admin/users").text,
    )
    assert r.status_code == 201
    password = re.search(r'class="pars-key">([^<]+)<', r.text)
    assert password
    newbie = screens.browser()
    assert screens.password(newbie, "newbie", password.group(1)).status_code == 303
    screens.enrol(newbie, "newbie")
    page = admin.get("/admin/users").text
    for path, data in (
        ("/admin/users/newbie/role", {"role": "clerk"}),
        ("/admin/users/newbie/reset-second-factor", {}),
        ("/admin/users/newbie/disable", {}),
        ("/admin/users/newbie/enable", {}),
    ):
        r = screens.post(admin, path, data, page=page)
        assert r.status_code == 200 and r.url.path == "/admin/users", (path, r.text)
    assert newbie.get("/home", follow_redirects=False).status_code == 303  # sessions ended
    users = {u["username"]: u for u in rows(screens.pars, "users")}
    assert users["newbie"]["role"] == "clerk" and users["newbie"]["totp_secret"] is None
    audit = [
        (x["action"], x["subject"])
        for x in rows(screens.pars, "audit_log")
        if x["actor"] == "admin1"
    ]
    for action in (
        "account:created",
        "account:role:changed",
        "account:mfa:reset",
        "account:disabled",
        "account:enabled",
    ):
        assert (action, "newbie") in audit, action
    r = screens.post(admin, "/admin/users", {"username": "bad name!", "role": "officer"}, page=page)
    assert r.status_code == 422 and "letters, digits" in r.text
    r = screens.post(admin, "/admin/users/admin1/disable", page=page)
    assert r.status_code == 422


def test_a_disabled_user_cannot_sign_in(screens: Screens) -> None:
    admin = screens.signed_in("admin")
    officer = screens.signed_in("officer2")
    screens.post(admin, "/admin/users/officer2/disable", page=admin.get("/admin/users").text)
    assert officer.get("/home", follow_redirects=False).status_code == 303
    assert screens.password(screens.browser(), "officer2").status_code == 401


class TestWithoutMfa:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"require_mfa": False}

    def test_the_password_alone_signs_in_and_the_page_says_so(self, screens: Screens) -> None:
        b = screens.browser()
        assert "Two-factor sign-in is off in this demo" in b.get("/signin").text
        r = screens.password(b, "officer1")
        assert r.headers["location"] == "/"
        assert b.get("/home").status_code == 200


def test_sign_in_page_shows_the_system_use_notice(screens: Screens) -> None:
    page = screens.browser().get("/signin").text
    assert "System use notice" in page and "monitored, recorded and audited" in page
    assert "Two-factor sign-in is off" not in page
    assert 'href="#main-content"' in page  # skip link
