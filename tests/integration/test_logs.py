"""Protected values never reach a log line, through any path that logs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import structlog

from pars.logs import configure, scrub
from tests.conftest import Api
from tests.factories import arrest_body

SECRETS = ("123-45-6789", "Kingston", "Jane Roe", "Sam Poe", "14 Elm St")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The webhooks here go to a fake sender under made-up host names the allow-list names.
    return {"webhook_allowlist": "hook"}


def test_scrub_removes_protected_keys_anywhere() -> None:
    event = {
        "event": "x",
        "ssn": "123-45-6789",
        "nested": {"victims": [{"name": "Jane Roe"}], "ok": 1},
        "list": [{"citizenship": "JM"}],
    }
    out = scrub(None, "info", event)
    assert "123-45-6789" not in str(out) and "Jane Roe" not in str(out) and "JM" not in str(out)
    assert out["nested"]["ok"] == 1


def test_no_protected_value_in_any_log_output(
    api: Api, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    configure("json", "debug")
    caplog.set_level(logging.DEBUG)
    try:
        officer = api.as_("officer")
        ok = officer.post("/api/v1/arrests?submit=true", json=arrest_body())
        assert ok.status_code == 201
        aid = ok.json()["id"]
        officer.get(f"/api/v1/arrests/{aid}")
        # A refused body holding the same secrets, and a filter query holding a name.
        bad = arrest_body(arrest_type="teleport")
        assert officer.post("/api/v1/arrests", json=bad).status_code == 422
        officer.get("/api/v1/arrests", params={"name": "Roe, Jane"})
        officer.post(
            f"/api/v1/arrests/{aid}/corrections",
            json={"reason": "fix", "changes": {"person": {"ssn": "123-45-6789"}}},
        )
        structlog.get_logger("test").info("direct", ssn="123-45-6789", victims=["Jane Roe"])
        captured = capsys.readouterr()
        text = captured.out + captured.err + caplog.text
        assert '"event": "request"' in text  # the app did log
        for secret in SECRETS:
            assert secret not in text, secret
    finally:
        # configure() bound the captured stderr, which closes after this test.
        structlog.reset_defaults()


CANARY = "Qlogcanary-547-65-4320"


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_errors_are_logged_by_class_and_frame_never_by_message(
    fmt: str,
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exception messages can hold record data (a driver quotes the row it refused, a bug
    formats a value): in every log format, and from every path that logs an error, only the
    classes and the frames reach the output."""
    from pars.services import agreements as ag
    from pars.services.delivery import relay
    from pars.services.delivery.webhooks import deliver_webhooks
    from pars.web.api import arrests as arrests_api
    from tests.factories import active_agreement

    configure(fmt, "debug")  # (pytest's own log capture is left out: it is not PARS' output)
    try:
        ag.add_partner(api.pars, "Hook", "prosecutor")
        ag.set_webhook_secret(api.pars, "Hook")
        active_agreement(api.pars, "Hook", transport="webhook", webhook_url="http://hook/")
        ag.add_partner(api.pars, "Feed", "prosecutor")
        active_agreement(api.pars, "Feed")
        officer = api.as_("officer")
        created = officer.post("/api/v1/arrests?submit=true", json=arrest_body())
        assert created.status_code == 201

        # 1. Inside the relay: a projection that fails with data in its message.
        real = relay.project

        def project(a: object, *args: object, **kwargs: object) -> object:
            if getattr(a, "transport", None) and a.transport.value == "feed":  # type: ignore[attr-defined]
                raise ValueError(f"bad value {CANARY}")
            return real(a, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(relay, "project", project)
        relay.relay_once(api.pars)
        monkeypatch.setattr(relay, "project", real)

        # 2. A transport's unexpected failure.
        def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
            raise TypeError(f"cannot send {CANARY}")

        deliver_webhooks(api.pars, send)

        # 3. An API handler that fails: a 500 problem without the message, logged once.
        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError(f"query failed near {CANARY}")

        monkeypatch.setattr(arrests_api, "get_arrest", broken)
        failed = officer.get(f"/api/v1/arrests/{created.json()['id']}")
        assert failed.status_code == 500
        assert failed.headers["content-type"].startswith("application/problem+json")
        assert CANARY not in failed.text

        # 4. The server's own loggers (uvicorn logs an escaped exception with exc_info).
        try:
            raise KeyError(CANARY)
        except KeyError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

        captured = capsys.readouterr()
        text = captured.out + captured.err
        for name in ("ValueError", "TypeError", "RuntimeError", "KeyError"):
            assert name in text, name  # each error did reach the log, by its class
        assert "api/arrests.py:" in text  # and with the frames it went through
        assert CANARY not in text and "547-65-4320" not in text
    finally:
        structlog.reset_defaults()
        for handler in logging.getLogger().handlers[:]:
            if type(handler).__name__ == "_Stderr":
                logging.getLogger().removeHandler(handler)
