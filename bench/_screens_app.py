"""bench/screens.py's harness: the demo database built in-process, the application wrapped so
that each request's server time is measured around the ASGI call, and signed-in browsers
(starlette TestClients) that carry the session cookie and the CSRF token as a browser and
static/pars.js do."""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import logging
import math
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "HX",
    "Browser",
    "Demo",
    "LogTap",
    "Timed",
    "build_demo",
    "csrf",
    "percentile",
]

HX = {"HX-Request": "true"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf(html: str) -> str:
    m = _CSRF.search(html) or _META_CSRF.search(html)
    if not m:
        raise RuntimeError("no CSRF token on the page")
    return m.group(1)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# -- the demo database -------------------------------------------------------------------------


@dataclass
class Demo:
    dir: Path
    passwords: dict[str, str]  # username -> password, as `pars demo` printed them
    summary: str  # what `pars demo` printed about the data
    seconds: float


def build_demo(root: Path, days: int, per_day: int, seed: int) -> Demo:
    """`pars demo --no-serve` in this process, into `root/demo` (its own key files, MFA off);
    its printed sign-in table gives the users' passwords."""
    from pars.config import Settings
    from pars.demo import run_demo

    out = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        run_demo(Settings(data_dir=root), days=days, per_day=per_day, serve=False, seed=seed)
    seconds = time.perf_counter() - began
    text = out.getvalue()
    passwords: dict[str, str] = {}
    table = text.split("username", 1)[1] if "username" in text else ""
    for line in table.splitlines()[1:]:
        parts = line.split()
        if len(parts) != 3:
            break
        passwords[parts[0]] = parts[2]
    if "officer" not in passwords:
        raise RuntimeError(f"could not read the demo's sign-in table:\n{text}")
    summary = text.split("\n  username", 1)[0].strip()
    return Demo(root / "demo", passwords, summary, seconds)


def demo_pars(demo: Demo) -> Any:
    """The application object `pars demo` serves its database with."""
    from pars.config import Settings
    from pars.crypto import KeyRing
    from pars.services.app import Pars

    settings = Settings(
        data_dir=demo.dir,
        database_url=None,
        encryption_keys=None,
        audit_signing_key=None,
        require_mfa=False,
    )
    return Pars(settings, keys=KeyRing.load(None, demo.dir))


# -- timing ------------------------------------------------------------------------------------


class Timed:
    """The application, timed: `last_ms` is the last request's time from the ASGI call to the
    end of its response (the whole middleware stack, access log included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last_ms = math.nan
        self.profile: cProfile.Profile | None = None  # enabled around each request when set

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.profile is not None:
            self.profile.enable()
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last_ms = (time.perf_counter() - began) * 1000
            if self.profile is not None:
                self.profile.disable()


class LogTap(io.TextIOBase):
    """Where the structured log goes (JSON lines, at info, as `pars serve` writes them): the
    access log's `ms` of each request is kept; anything else is passed to stderr."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self._buf = ""

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and event.get("event") == "request":
                self.ms.append(float(event.get("ms", math.nan)))
            elif line.strip():
                print(line, file=sys.__stderr__)
        return len(s)

    @classmethod
    def install(cls) -> LogTap:
        from pars.logs import configure

        tap = cls()
        with contextlib.redirect_stderr(tap):
            configure("json", "info")  # structlog binds the stream given at configure time
        for name in ("httpx", "httpx2"):  # the test client's own lines
            logging.getLogger(name).setLevel(logging.WARNING)
        return tap


# -- browsers ----------------------------------------------------------------------------------


@dataclass
class Hit:
    ms: float
    log_ms: float
    status: int
    size: int


@dataclass
class Browser:
    """One signed-in user's browser: its cookies, and the CSRF token of the session."""

    client: TestClient
    timed: Timed
    tap: LogTap
    username: str
    token: str = ""
    hits: list[Hit] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        htmx: bool = False,
        data: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        headers = (dict(HX) if htmx else {}) | (headers or {})
        if method == "POST":
            headers["X-CSRF-Token"] = self.token  # what pars.js sends; forms carry the field
            data = {"csrf_token": self.token, **(data or {})}
        before = len(self.tap.ms)
        r = self.client.request(
            method, path, data=data, params=params, headers=headers, follow_redirects=False
        )
        log_ms = self.tap.ms[-1] if len(self.tap.ms) > before else math.nan
        self.hits.append(Hit(self.timed.last_ms, log_ms, r.status_code, len(r.content)))
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def follow(self, r: Any) -> Any:
        """A 303 followed, as a browser would (the GET timed like any other)."""
        while r.status_code in (302, 303):
            r = self.get(r.headers["location"])
        return r


@contextlib.contextmanager
def browser(timed: Timed, tap: LogTap, username: str, password: str | None) -> Iterator[Browser]:
    """A browser signed in with the password (the demo has two-factor sign-in off), or a
    signed-out one for `password=None`."""
    with TestClient(timed, base_url="http://localhost", raise_server_exceptions=False) as client:
        b = Browser(client, timed, tap, username)
        if password is not None:
            form = client.get("/signin").text
            r = client.post(
                "/signin",
                data={"username": username, "password": password, "csrf_token": csrf(form)},
                follow_redirects=False,
            )
            if r.status_code != 303 or r.headers["location"].startswith("/signin"):
                raise RuntimeError(f"{username} could not sign in: {r.status_code} {r.text[:300]}")
            home = client.get("/home")
            if home.status_code != 200:
                raise RuntimeError(f"{username}: /home answered {home.status_code}")
            b.token = csrf(home.text)
        yield b
