"""Browser tests: a real uvicorn server for PARS on a free port against a temporary SQLite
database, driven by Playwright with Debian's Chromium (`/usr/bin/chromium`, launched by path;
no browser is ever downloaded; ./scripts/test installs the package when it is missing).

Helpers: `axe(page)` runs the vendored axe-core and fails on serious or critical violations;
`shot(page, name)` writes the screen at 1366x768 and at a tablet's 768x1024 to
artifacts/screenshots/ (kept by CI). Every page is watched for console errors (a CSP refusal
shows up there) and `assert_clean(page)` fails on any.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn

from pars.config import Settings
from pars.crypto import KeyRing
from pars.services import second_factor as mfa
from pars.services.app import Pars
from pars.web.app import create_app
from tests.conftest import AUDIT_SIGNING_KEY, KEYS, PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}

if not CHROMIUM.exists():  # never a skip: a missing browser fails the run loudly
    raise RuntimeError(
        "Debian's Chromium is not installed at /usr/bin/chromium (./scripts/test installs it)"
    )

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright  # noqa: E402


@dataclass
class LiveServer:
    url: str
    pars: Pars
    totp: dict[str, str] = field(default_factory=dict)  # username -> secret, pre-enrolled
    used: dict[str, int] = field(default_factory=dict)  # username -> last time step given

    def code(self, username: str) -> str:
        """A code the server has not seen: a code is single-use, so a second sign-in within
        the same 30-second step takes the next step's code (the server allows one step of
        drift), and a third waits for the clock."""
        totp = pyotp.TOTP(self.totp[username])
        while True:
            now = int(time.time()) // totp.interval
            step = max(now, self.used.get(username, -1) + 1)
            if step <= now + 1:
                self.used[username] = step
                return totp.at(step * totp.interval)
            time.sleep(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def enrol_directly(pars: Pars, username: str) -> str:
    """Give a user a TOTP secret without the enrolment pages; returns the secret."""
    secret = mfa.new_secret()
    with pars.uow() as uow:
        user = uow.users.by_name(username)
        assert user is not None
        blob = mfa.encrypt_secret(pars.keys, secret, str(user.id))
        uow.users.update(user.id, totp_secret=blob, totp_last_step=None)
        uow.commit()
    return secret


@pytest.fixture(scope="module")
def live_server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """PARS served by uvicorn in a thread, on the real clock (TOTP codes are real-time); read-only
    for the reason the test module's `READ_ONLY` gives, if it has one."""
    folder = tmp_path_factory.mktemp("browser")
    shutil.copy(sqlite_template, folder / "pars.db")
    settings = Settings(data_dir=folder, audit_signing_key=AUDIT_SIGNING_KEY)
    pars = Pars(settings, keys=KeyRing(KEYS))
    port = _free_port()
    config = uvicorn.Config(
        create_app(pars, read_only=getattr(request.module, "READ_ONLY", None)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        log_config=None,  # leave the process's logging alone (other tests assert on it)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    live = LiveServer(f"http://127.0.0.1:{port}", pars)
    live.totp["admin1"] = enrol_directly(pars, "admin1")
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(10)
        pars.engine.dispose()


# Module scope, not session: Playwright's sync API keeps an event loop running while it is
# open, and a later test in the same worker that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Chromium's sandbox needs user namespaces, which containers running as root often lack.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(msg.text)

    pg.on("console", on_console)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def assert_clean(page: Page) -> None:
    """No console error (CSP refusals, failed loads, script errors) on the page so far."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    assert errors == [], errors


def axe(page: Page, ignore: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Run axe-core on the page; fail on any serious or critical violation (except rule ids in
    `ignore`). Injected through the DevTools protocol, which the page's CSP does not govern.
    Returns every violation, for a test that wants to look at minor ones."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate("async () => await window.axe.run(document)")
    violations: list[dict[str, Any]] = result["violations"]
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in violations
        if v["impact"] in ("serious", "critical") and v["id"] not in ignore
    ]
    assert bad == [], json.dumps(bad, indent=1)
    return violations


def shot(page: Page, name: str) -> list[Path]:
    """Full-page screenshots of the current screen at 1366x768 and at tablet width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    out = []
    for label, size in (("desktop", DESKTOP), ("tablet", TABLET)):
        page.set_viewport_size(size)
        path = SHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        out.append(path)
    page.set_viewport_size(DESKTOP)
    return out


def sign_in(page: Page, live: LiveServer, username: str, password: str = PASSWORD) -> None:
    """Password, then the TOTP code of a pre-enrolled user."""
    page.goto(f"{live.url}/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/signin/code**")
    page.get_by_label("Six-digit code, or a recovery code").fill(live.code(username))
    page.get_by_role("button", name="Continue").click()


def sign_out(page: Page) -> None:
    """The header's Sign out button; back at the sign-in page."""
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/signin**")
