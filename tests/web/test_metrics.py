"""The operators' /metrics: behind its token, parsed by prometheus_client's own parser, figures
that follow the deployment's state, and labels that carry no personal data and no secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from pars.services import agreements as ag
from pars.services.audit import checkpoint
from pars.services.delivery.relay import relay_once
from tests.conftest import START, Api
from tests.factories import active_agreement, arrest_body

TOKEN = "m" * 40
CANARY_SSN = "212-47-9135"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"metrics_token": TOKEN}


def _scrape(api: Api) -> tuple[str, dict[str, list[tuple[dict[str, str], float]]]]:
    r = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    assert r.headers["cache-control"] == "no-store"
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((dict(s.labels), s.value))
    return r.text, samples


def _one(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    found = [v for ls, v in samples.get(name, []) if all(ls.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return found[0]


def test_metrics_need_the_token(api: Api) -> None:
    assert api.client.get("/metrics").status_code == 401
    wrong = api.client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    assert wrong.headers["content-type"] == "application/problem+json"
    # A staff token is not the metrics token.
    staff = api.as_("supervisor").get("/metrics")
    assert staff.status_code == 401
    _, key = ag.add_partner(api.pars, "PSP", "state_repository")
    assert api.client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert "/metrics" not in api.client.get("/openapi.json").json()["paths"]


def test_no_token_set_means_no_metrics(pars: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from pars.config import Settings
    from pars.services.app import Pars
    from pars.web.app import create_app

    bare = Pars(
        Settings(
            data_dir=tmp_path,
            database_url=str(pars.engine.url.render_as_string(hide_password=False)),
            audit_signing_key=pars.settings.audit_signing_key,
        ),
        clock=pars.clock,
        keys=pars.keys,
    )
    with TestClient(create_app(bare)) as client:
        r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 404
    bare.engine.dispose()


def test_token_shorter_than_32_characters_is_refused() -> None:
    from pydantic import ValidationError

    from pars.config import Settings

    with pytest.raises(ValidationError, match="metrics_token"):
        Settings(metrics_token="short")


def test_figures_follow_the_deployment(api: Api, backend: str) -> None:
    partner_id, key = ag.add_partner(api.pars, "PSP", "state_repository")
    active_agreement(api.pars, "PSP", ends_at=START + timedelta(days=30))
    for _ in range(3):
        body = arrest_body()
        body["person"]["ssn"] = CANARY_SSN
        r = api.as_("officer").post("/api/v1/arrests?submit=true", json=body)
        assert r.status_code == 201, r.text
    arrest_id = r.json()["id"]
    otn = r.json()["otn"]
    api.as_("officer").get(f"/api/v1/arrests/{arrest_id}")
    api.client.get(f"/charges/{CANARY_SSN}")  # no route: counted as unmatched

    _text, before = _scrape(api)
    assert _one(before, "pars_outbox_depth") == 3
    api.pars.clock.advance(timedelta(seconds=90))  # type: ignore[attr-defined]
    _text, later = _scrape(api)
    assert _one(later, "pars_relay_lag_seconds") >= 90

    assert relay_once(api.pars) == 3
    checkpoint(api.pars)
    _text, relayed = _scrape(api)
    assert _one(relayed, "pars_deliveries", partner="PSP", transport="feed", status="queued") == 3
    feed = api.client.get(
        "/api/v1/feed", params={"after": "0"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert len(feed.json()["items"]) == 3
    text, after = _scrape(api)
    assert _one(after, "pars_outbox_depth") == 0
    assert _one(after, "pars_relay_lag_seconds") == 0
    assert _one(after, "pars_deliveries", partner="PSP", transport="feed", status="delivered") == 3
    assert not [ls for ls, _v in after["pars_deliveries"] if ls["status"] == "queued"]
    assert _one(after, "pars_log_size") >= 3
    assert 3 <= _one(after, "pars_checkpoint_size") <= _one(after, "pars_log_size")
    assert _one(after, "pars_checkpoint_age_seconds") == 0
    assert _one(after, "pars_accounts_locked") == 0
    # One after the other, each arrest is a transaction of its own (test_group_commit.py has
    # the batches).
    assert _one(after, "pars_intake_arrests_total") == 3
    assert _one(after, "pars_intake_transactions_total") == 3
    assert _one(after, "pars_intake_batches_retried_total") == 0

    requests = after["pars_http_requests_total"]
    routes = {ls["route"] for ls, _v in requests}
    assert "/api/v1/arrests/{arrest_id}" in routes
    assert "/api/v1/arrests" in routes
    assert "unmatched" in routes
    created = _one(
        after, "pars_http_requests_total", method="POST", route="/api/v1/arrests", status="201"
    )
    assert created == 3
    assert "pars_http_request_duration_seconds_bucket" in after

    # No identifier, no personal data and no secret in any label or value.
    for forbidden in (CANARY_SSN, arrest_id, otn, key, TOKEN, partner_id, "Doe"):
        assert forbidden not in text, forbidden


def test_locked_accounts_and_identity_queue_are_counted(api: Api) -> None:
    for i in range(api.pars.settings.lockout_threshold):
        # One address per try: one address alone may not fail often enough to lock.
        client = TestClient(api.client.app, client=(f"192.0.2.{i + 1}", 50000))
        client.post("/api/v1/auth/token", json={"username": "clerk1", "password": "wrong"})
    _text, samples = _scrape(api)
    assert _one(samples, "pars_accounts_locked") == 1
    # No review item yet: the family is there with no sample.
    assert "pars_identity_review_queue" not in samples


def test_example_alert_rules_name_only_metrics_that_exist(api: Api) -> None:
    import re
    from pathlib import Path

    import yaml

    doc = yaml.safe_load((Path(__file__).parents[2] / "docs" / "prometheus-alerts.yml").read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {
        "ParsRelayLagging",
        "ParsDeadLetters",
        "ParsCheckpointStale",
    }
    ag.add_partner(api.pars, "PSP", "state_repository")
    checkpoint(api.pars)
    api.client.get("/healthz")
    r = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    families = {f.name for f in text_string_to_metric_families(r.text)}
    for rule in rules:
        for name in re.findall(r"\bpars_[a-z_]+", rule["expr"]):
            family = name.removesuffix("_total")
            assert family in families, (rule["alert"], name)
