"""Protected values never reach a log line, through any path that logs."""

from __future__ import annotations

import logging

import pytest
import structlog

from pars.logs import configure, scrub
from tests.conftest import Api
from tests.factories import arrest_body

SECRETS = ("123-45-6789", "Kingston", "Jane Roe", "Sam Poe", "14 Elm St")


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
