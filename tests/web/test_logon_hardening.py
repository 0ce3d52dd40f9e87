"""Logon hardening (issue 14, items 1, 2 and 5): one answer and one argon2 check for every
failed logon whatever the cause; throttles per address and per username at an address (429
with Retry-After) that one address cannot turn into a lock-out; a bound on concurrent hash
checks; an audited unlock; and no typed unknown username on the log."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx2 import Response

from pars.domain.clock import FakeClock
from pars.services import accounts_admin
from pars.services import auth as auth_service
from pars.services.app import Pars, Principal
from pars.services.logon_guard import LogonGuard
from tests.conftest import KEYS, PASSWORD, Api, rows
from tests.integration.cli import run_cli
from tests.web.screens import Screens, csrf

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL
ADMIN = Principal("admin1", "admin")
_addresses = iter(f"203.0.113.{i}" for i in range(1, 255))


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hashes argon2 verified against, in order (a spy on PasswordHasher.verify)."""
    calls: list[str] = []
    real = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(hash if isinstance(hash, str) else hash.decode())
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return calls


def _client(api: Api, address: str | None = None) -> TestClient:
    address = address or next(_addresses)
    return TestClient(api.client.app, raise_server_exceptions=False, client=(address, 50000))


def _logon(api: Api, username: str, password: str, address: str | None = None) -> Response:
    return _client(api, address).post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )


def _lock(pars: Pars, username: str) -> None:
    with pars.uow() as uow:
        user = uow.users.by_name(username)
        assert user is not None
        uow.users.update(user.id, locked_until=pars.clock.now() + timedelta(minutes=10))
        uow.commit()


def _user_row(pars: Pars, username: str) -> dict[str, Any]:
    return next(u for u in rows(pars, "users") if u["username"] == username)


def test_every_failed_logon_answers_alike_and_checks_one_hash(
    api: Api, verified: list[str]
) -> None:
    _lock(api.pars, "clerk1")
    accounts_admin.set_disabled(api.pars, ADMIN, "defender1", True)
    causes = {
        "unknown user": ("nobody-here", PASSWORD),
        "password": ("prosecutor1", "not the password"),
        "locked": ("clerk1", PASSWORD),  # the right password, on a locked account
        "disabled": ("defender1", PASSWORD),
    }
    answers = {}
    for cause, (username, password) in causes.items():
        verified.clear()
        r = _logon(api, username, password)
        assert len(verified) == 1, cause  # one argon2 verification on every path
        if cause == "unknown user":
            assert verified == [auth_service._DUMMY_HASH]
        else:
            assert verified[0] == _user_row(api.pars, username)["password_hash"]
        headers = {k: v for k, v in r.headers.items() if k not in ("date", "x-request-id")}
        answers[cause] = (r.status_code, headers, r.content)
    first = answers["unknown user"]
    assert first[0] == 401
    assert json.loads(first[2])["detail"] == "invalid username or password"
    for cause, answer in answers.items():
        assert answer == first, cause  # the same status, headers and bytes
    reasons = [
        r["details"]["reason"]
        for r in rows(api.pars, "audit_log")
        if r["action"] == "account:login:failure"
    ]
    assert reasons == list(causes)  # the cause is in the audit table, not the answer


def test_the_sign_in_screen_answers_alike_and_checks_one_hash(
    pars: Pars, verified: list[str]
) -> None:
    screens = Screens(pars)
    _lock(pars, "clerk1")
    accounts_admin.set_disabled(pars, ADMIN, "defender1", True)
    pages = []
    for username, password in (
        ("nobody-here", PASSWORD),
        ("prosecutor1", "not the password"),
        ("clerk1", PASSWORD),
        ("defender1", PASSWORD),
    ):
        verified.clear()
        r = screens.password(screens.browser(next(_addresses)), username, password)
        assert len(verified) == 1
        # The page echoes the typed name and carries a fresh CSRF token: take both out.
        text = r.text.replace(csrf(r.text), "CSRF").replace(f'value="{username}"', 'value=""')
        pages.append((r.status_code, text))
    assert pages[0][0] == 401 and "invalid username or password" in pages[0][1]
    assert all(p == pages[0] for p in pages)

    # The second factor: a locked account gets the wrong code's answer.
    screens.sign_in(screens.browser(next(_addresses)), "auditor1")  # enrols a factor
    b = screens.browser(next(_addresses))
    assert screens.password(b, "auditor1").status_code == 303
    wrong = screens.code(b, "000000")
    _lock(pars, "auditor1")
    locked = screens.code(b, screens.totp("auditor1"))
    assert wrong.status_code == locked.status_code == 401
    assert "that code is not right, or was used already" in locked.text
    assert locked.text.replace(csrf(locked.text), "") == wrong.text.replace(csrf(wrong.text), "")


def test_throttles_refuse_with_429_and_one_address_cannot_lock_an_account(
    api: Api, clock: FakeClock, verified: list[str]
) -> None:
    pars = api.pars
    limit = pars.settings.logon_failures_per_name
    assert limit < pars.settings.lockout_threshold
    attacker = next(_addresses)
    for _ in range(limit):
        assert _logon(api, "clerk1", "guess", attacker).status_code == 401
    verified.clear()
    r = _logon(api, "clerk1", PASSWORD, attacker)  # even the right password waits now
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    wait = int(r.headers["retry-after"])
    assert 0 < wait <= pars.settings.logon_throttle_minutes * 60
    assert verified == []  # refused before any hash
    # An unknown name is throttled alike, so the throttle tells no account from none.
    for _ in range(limit):
        assert _logon(api, "ghost", "guess", attacker).status_code == 401
    assert _logon(api, "ghost", "guess", attacker).status_code == 429
    # The attacker's address kept trying; the account is not locked and its owner signs in.
    for _ in range(10):
        assert _logon(api, "clerk1", "guess", attacker).status_code == 429
    assert _user_row(pars, "clerk1")["failed_logins"] == limit
    assert _user_row(pars, "clerk1")["locked_until"] is None
    assert _logon(api, "clerk1", PASSWORD, next(_addresses)).status_code == 200
    clock.advance(timedelta(seconds=wait))
    assert _logon(api, "clerk1", PASSWORD, attacker).status_code == 200

    # Per address, whatever the names.
    pars.logon_guard = LogonGuard(
        pars.settings.model_copy(update={"logon_attempts_per_address": 3})
    )
    spray = next(_addresses)
    for name in ("a1", "b2", "c3"):
        assert _logon(api, name, "guess", spray).status_code == 401
    r = _logon(api, "officer1", PASSWORD, spray)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert _logon(api, "officer1", PASSWORD, next(_addresses)).status_code == 200


def test_concurrent_hash_checks_are_bounded(api: Api, verified: list[str]) -> None:
    pars = api.pars
    pars.logon_guard = LogonGuard(pars.settings.model_copy(update={"logon_concurrency": 1}))
    with pars.logon_guard.hashing():  # the one slot is taken
        r = _logon(api, "officer1", PASSWORD)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert verified == []
    assert _logon(api, "officer1", PASSWORD).status_code == 200  # the slot is free again


def test_a_lock_is_audited_and_logged_and_an_admin_unlocks_it(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    pars = api.pars
    spread = [next(_addresses) for _ in range(pars.settings.lockout_threshold)]
    with structlog.testing.capture_logs() as logs:
        for address in spread:
            assert _logon(api, "clerk1", "guess", address).status_code == 401
    locked = [r for r in rows(pars, "audit_log") if r["action"] == "account:locked"]
    assert [(r["actor"], r["details"]["factor"]) for r in locked] == [("clerk1", "password")]
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [e["event"] for e in warnings] == ["account locked"]
    assert "clerk1" not in repr(warnings) and not any(a in repr(warnings) for a in spread)
    assert _logon(api, "clerk1", PASSWORD).status_code == 401

    # The CLI: `pars users unlock clerk1`.
    monkeypatch.setenv("PARS_DATABASE_URL", db_url)
    monkeypatch.setenv("PARS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PARS_ENCRYPTION_KEYS", KEYS)
    assert run_cli(monkeypatch, "users", "unlock", "clerk1") == 0
    assert run_cli(monkeypatch, "users", "unlock", "nobody-at-all") == 1
    unlocked = [r for r in rows(pars, "audit_log") if r["action"] == "account:unlocked"]
    # (The command runs on the system's clock, not the test's: `was_locked` is checked below.)
    assert [(r["actor"], r["subject"]) for r in unlocked] == [("cli", "clerk1")]
    assert _user_row(pars, "clerk1")["locked_until"] is None
    assert _logon(api, "clerk1", PASSWORD).status_code == 200

    # The admin screen's Unlock button.
    _lock(pars, "officer2")
    screens = Screens(pars)
    admin = screens.browser(next(_addresses))
    screens.sign_in(admin, "admin1")
    page = admin.get("/admin/users")
    assert 'action="/admin/users/officer2/unlock"' in page.text
    r = screens.post(admin, "/admin/users/officer2/unlock", page=page.text)
    assert r.status_code == 200 and "officer2 is unlocked" in r.text
    assert _user_row(pars, "officer2")["locked_until"] is None
    last = [r for r in rows(pars, "audit_log") if r["action"] == "account:unlocked"][-1]
    assert (last["actor"], last["subject"], last["details"]) == (
        "admin1",
        "officer2",
        {"was_locked": True},
    )
    clerk = screens.browser(next(_addresses))
    screens.sign_in(clerk, "clerk1")
    assert screens.post(clerk, "/admin/users/officer2/unlock").status_code == 403
    assert len([r for r in rows(pars, "audit_log") if r["action"] == "account:unlocked"]) == 2


def test_a_typed_unknown_username_never_reaches_the_log(api: Api) -> None:
    typed = "Tr0ub4dor&3-my-password"  # a password typed in the username box
    for _ in range(2):
        assert _logon(api, typed, "whatever").status_code == 401
    assert _logon(api, "someone-else", "whatever").status_code == 401
    entries = [r for r in rows(api.pars, "audit_log") if r["action"] == "account:login:failure"]
    assert [r["actor"] for r in entries] == ["unknown user"] * 3
    digests = [r["details"]["name_hmac"] for r in entries]
    assert digests[0] == digests[1] != digests[2]  # one name, one digest; keyed, not plain
    assert re.fullmatch(r"test1:[0-9a-f]{32}", digests[0])
    assert digests[0] == auth_service.name_digest(api.pars, typed)
    with api.pars.engine.connect() as conn:
        dump = "\n".join(
            repr(tuple(row)) for row in conn.exec_driver_sql("SELECT * FROM audit_log")
        )
    assert typed not in dump and typed.lower() not in dump.lower()
