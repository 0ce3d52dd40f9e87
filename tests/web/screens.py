"""Drive the staff screens in-process: sign in through the pages (password, then enrolment or
a TOTP code computed with pyotp on the test's clock), and post forms with their CSRF token.

    s = Screens(pars)
    officer = s.signed_in("officer")          # a TestClient with a full session's cookie
    r = s.post(officer, "/signout/everywhere")
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from httpx2 import Response

from pars.domain.clock import FakeClock
from pars.domain.roles import Role
from pars.services.app import Pars
from pars.web.app import create_app
from tests.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_KEY = re.compile(r'class="pars-key">([^<]+)<')
_CODES = re.compile(r"<code>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</code>")


def csrf(html: str) -> str:
    """The CSRF token of the first form on a page."""
    m = _CSRF.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Screens:
    """One application; a TestClient (a browser with its own cookies) per user."""

    def __init__(self, pars: Pars, base_url: str = "http://localhost") -> None:
        self.pars = pars
        self.app = create_app(pars)
        self.base_url = base_url
        self.secrets: dict[str, str] = {}  # username -> TOTP secret, once enrolled
        self.recovery: dict[str, list[str]] = {}

    def browser(self, address: str = "testclient") -> TestClient:
        """A browser at the source `address` (the logon throttles count per address)."""
        return TestClient(
            self.app,
            base_url=self.base_url,
            raise_server_exceptions=False,
            client=(address, 50000),
        )

    @property
    def clock(self) -> FakeClock:
        assert isinstance(self.pars.clock, FakeClock)
        return self.pars.clock

    def post(
        self,
        client: TestClient,
        path: str,
        data: dict[str, Any] | None = None,
        page: str | None = None,
        **kw: Any,
    ) -> Response:
        """POST a form with the CSRF token of `page` (default: the page at /home, or at
        /signin when signed out)."""
        if page is None:
            r = client.get("/home")
            page = (
                r.text
                if r.status_code == 200 and "csrf_token" in r.text
                else client.get("/signin").text
            )
        return client.post(path, data={"csrf_token": csrf(page), **(data or {})}, **kw)

    def password(self, client: TestClient, username: str, password: str = PASSWORD) -> Response:
        """The sign-in form, submitted; the response is not followed."""
        form = client.get("/signin").text
        return client.post(
            "/signin",
            data={"username": username, "password": password, "csrf_token": csrf(form)},
            follow_redirects=False,
        )

    def totp(self, username: str) -> str:
        """A fresh code: the clock first moves to the next 30-second step, as a code is
        single-use within its step."""
        self.clock.advance(timedelta(seconds=30))
        return pyotp.TOTP(self.secrets[username]).at(self.clock.now())

    def enrol(self, client: TestClient, username: str) -> Response:
        page = client.get("/signin/enrol")
        assert page.status_code == 200, page.text
        secret = _KEY.search(page.text)
        assert secret
        self.secrets[username] = secret.group(1).replace(" ", "")
        r = client.post(
            "/signin/enrol", data={"code": self.totp(username), "csrf_token": csrf(page.text)}
        )
        assert r.status_code == 200, r.text
        self.recovery[username] = _CODES.findall(r.text)
        return r

    def code(self, client: TestClient, code: str) -> Response:
        page = client.get("/signin/code")
        assert page.status_code == 200, page.text
        return client.post(
            "/signin/code",
            data={"code": code, "csrf_token": csrf(page.text)},
            follow_redirects=False,
        )

    def sign_in(self, client: TestClient, username: str) -> None:
        """Both factors (enrolling first if the user has none)."""
        r = self.password(client, username)
        assert r.status_code == 303, r.text
        if r.headers["location"].startswith("/signin/enrol"):
            self.enrol(client, username)
        elif r.headers["location"].startswith("/signin/code"):
            assert self.code(client, self.totp(username)).status_code == 303
        assert client.get("/home").status_code == 200

    def signed_in(self, role_or_user: str) -> TestClient:
        """A new browser signed in as `<role>1` (or the named user)."""
        roles = {r.value for r in Role}
        user = f"{role_or_user}1" if role_or_user in roles else role_or_user
        client = self.browser()
        self.sign_in(client, user)
        return client
