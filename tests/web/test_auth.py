"""Logon, lock-out after five failures for ten minutes, token expiry and the idle lock."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from pars.domain.clock import FakeClock
from tests.conftest import PASSWORD, Api, rows


def _login(
    api: Api, username: str, password: str, address: str = "testclient"
) -> tuple[int, dict[str, object]]:
    """A logon from the source `address` (the throttles count per address)."""
    client = TestClient(api.client.app, raise_server_exceptions=False, client=(address, 50000))
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return r.status_code, r.json()


def test_login_gives_a_working_token(api: Api) -> None:
    status, body = _login(api, "prosecutor1", PASSWORD)
    assert status == 200
    assert body["token_type"] == "Bearer"
    r = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert r.json() == {"username": "prosecutor1", "role": "prosecutor"}
    assert any(a["action"] == "account:login:success" for a in rows(api.pars, "audit_log"))


# Five failures from two addresses: one address alone may fail only 3 times per name.
_SPREAD = ["192.0.2.1"] * 3 + ["192.0.2.2"] * 2


def test_five_failures_lock_the_account_for_ten_minutes(api: Api, clock: FakeClock) -> None:
    for address in _SPREAD:
        status, body = _login(api, "clerk1", "wrong password", address)
        assert status == 401
        assert body["detail"] == "invalid username or password"
    status, body = _login(api, "clerk1", PASSWORD, "192.0.2.3")
    assert status == 401
    assert body["detail"] == "invalid username or password"  # locked, but it does not say so
    clock.advance(timedelta(minutes=9, seconds=59))
    assert _login(api, "clerk1", PASSWORD, "192.0.2.3")[0] == 401
    clock.advance(timedelta(seconds=2))
    assert _login(api, "clerk1", PASSWORD, "192.0.2.3")[0] == 200
    actions = [a["action"] for a in rows(api.pars, "audit_log") if a["actor"] == "clerk1"]
    assert actions.count("account:login:failure") == 7
    assert actions.count("account:locked") == 1
    assert actions[-1] == "account:login:success"


def test_a_success_resets_the_failure_count(api: Api) -> None:
    for address in ["192.0.2.1"] * 2 + ["192.0.2.2"] * 2:
        _login(api, "clerk1", "nope", address)
    assert _login(api, "clerk1", PASSWORD, "192.0.2.3")[0] == 200
    for address in ["192.0.2.4"] * 2 + ["192.0.2.5"] * 2:
        _login(api, "clerk1", "nope", address)
    assert _login(api, "clerk1", PASSWORD, "192.0.2.3")[0] == 200


def test_unknown_user_is_refused_like_a_wrong_password(api: Api) -> None:
    status, body = _login(api, "nobody", PASSWORD)
    assert (status, body["detail"]) == (401, "invalid username or password")


def test_idle_session_locks_and_token_expires(api: Api, clock: FakeClock) -> None:
    client = api.as_("officer")
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200  # activity keeps it alive
    clock.advance(timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=31))
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert "inactivity" in r.json()["detail"]

    fresh = api.pars.settings.token_ttl_minutes
    token = api.token("officer2")
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(fresh // 20 + 1):
        clock.advance(timedelta(minutes=20))
        last = api.client.get("/api/v1/me", headers=headers)
    assert last.status_code == 401
    assert "expired" in last.json()["detail"]
