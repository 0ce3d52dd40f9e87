"""Agreements through the API: drafted by a privacy officer, checked against the policy, active
only with the owners' quorum, suspended or revoked by any one owner, renewed as a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pars.services.agreements import add_partner
from tests.conftest import Api, rows

BASE: dict[str, Any] = {
    "partner": "Pennsylvania State Police",
    "purpose": "statewide criminal history record",
    "legal_basis": "18 Pa.C.S. § 9112",
    "event_types": ["pars.arrest.submitted", "pars.arraignment.completed"],
    "granted": ["case", "identity"],
    "starts_at": "2026-11-20T00:00:00-05:00",
    "ends_at": "2027-08-31T00:00:00-04:00",
    "lookup": {"identifiers": ["otn"], "per_minute": 30},
}


@pytest.fixture
def partner(api: Api) -> str:
    partner_id, key = add_partner(api.pars, "Pennsylvania State Police", "state_repository")
    assert key.startswith("parsk_")
    return partner_id


def _create(api: Api, **kw: Any) -> dict[str, Any]:
    r = api.as_("privacy_officer").post("/api/v1/agreements", json={**BASE, **kw})
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def test_lifecycle_to_active_with_quorum(api: Api, partner: str, backend: str) -> None:
    a = _create(api)
    assert (a["state"], a["version"], a["partner"]) == ("draft", 1, partner)
    assert a["granted_classes"] == ["case", "identity"]
    aid = a["id"]
    r = api.as_("owner_district_attorney").post(f"/api/v1/agreements/{aid}/approve", json={})
    assert r.status_code == 409  # not submitted yet
    assert (
        api.as_("privacy_officer").post(f"/api/v1/agreements/{aid}/submit").json()["state"]
        == "pending_approval"
    )
    r = api.as_("owner_district_attorney").post(f"/api/v1/agreements/{aid}/approve", json={})
    assert r.json()["state"] == "pending_approval"
    r = api.as_("owner_district_attorney").post(f"/api/v1/agreements/{aid}/approve", json={})
    assert r.status_code == 409
    assert "already approved" in r.json()["detail"]
    r = api.as_("owner_courts").post(f"/api/v1/agreements/{aid}/approve", json={})
    assert r.json()["state"] == "active"
    assert [p["owner"] for p in r.json()["approvals"]] == ["district_attorney", "courts"]

    r = api.as_("owner_city").post(f"/api/v1/agreements/{aid}/suspend")
    assert r.json()["state"] == "suspended"
    r = api.as_("privacy_officer").post(
        f"/api/v1/agreements/{aid}/renew",
        json={"starts_at": "2027-08-31T00:00:00-04:00", "ends_at": "2028-08-31T00:00:00-04:00"},
    )
    assert (r.json()["version"], r.json()["state"]) == (2, "draft")
    assert api.as_("auditor").get(f"/api/v1/agreements/{aid}").json()["version"] == 2
    v1 = api.as_("auditor").get(f"/api/v1/agreements/{aid}/versions/1").json()
    assert v1["state"] == "suspended"
    assert len(api.as_("auditor").get("/api/v1/agreements").json()["items"]) == 2
    r = api.as_("owner_courts").post(f"/api/v1/agreements/{aid}/revoke")
    assert r.json()["state"] == "revoked"
    actions = [a["action"] for a in rows(api.pars, "audit_log") if a["subject"] == aid]
    for expected in (
        "agreement:created",
        "agreement:submitted",
        "agreement:approved",
        "agreement:suspended",
        "agreement:renewed",
        "agreement:revoked",
    ):
        assert expected in actions


@pytest.mark.parametrize(
    ("change", "pointer", "text"),
    [
        ({"granted": ["protected"]}, "/granted", "forbids protected"),
        ({"granted": ["person.ssn", "case"]}, "/granted", "forbids protected"),
        ({"granted": ["victims"]}, "/granted", "forbids victim_witness"),
        ({"granted": ["narrative"]}, "/granted", "forbids narrative"),
        ({"granted": ["person.country_of_birth"]}, "/granted", "not a field"),
        ({"event_types": ["pars.arrest.searched"]}, "/event_types", "unknown"),
        ({"ends_at": "2026-11-19T00:00:00-05:00"}, "/ends_at", "after"),
        ({"transport": "webhook"}, "/webhook_url", "required"),
        ({"lookup": {"identifiers": ["name"], "per_minute": 5}}, "/lookup/identifiers/0", ""),
        ({"partner": "Nobody"}, "/partner", "no partner"),
    ],
)
def test_refused_at_creation(
    api: Api, partner: str, change: dict[str, Any], pointer: str, text: str
) -> None:
    r = api.as_("privacy_officer").post("/api/v1/agreements", json={**BASE, **change})
    assert r.status_code == 422, r.text
    assert any(e["pointer"] == pointer and text in e["detail"] for e in r.json()["errors"]), (
        r.json()
    )
    assert rows(api.pars, "agreements") == []


def test_only_owners_approve_and_only_privacy_officers_draft(api: Api, partner: str) -> None:
    aid = _create(api)["id"]
    api.as_("privacy_officer").post(f"/api/v1/agreements/{aid}/submit")
    r = api.as_("privacy_officer").post(f"/api/v1/agreements/{aid}/approve", json={})
    assert r.status_code == 403
    assert "owner" in r.json()["detail"]
    for role in ("officer", "prosecutor", "admin", "auditor"):
        assert api.as_(role).post("/api/v1/agreements", json=BASE).status_code == 403
    assert api.as_("officer").get("/api/v1/agreements").status_code == 403


def test_an_owner_cannot_approve_sensitive_classes_not_asked_for(api: Api, partner: str) -> None:
    """Sensitive classes are approved explicitly, per owner, and only those the agreement asks
    for; the projection counts those approvals against the quorum (tests/unit/test_sharing.py)."""
    aid = _create(api)["id"]
    api.as_("privacy_officer").post(f"/api/v1/agreements/{aid}/submit")
    r = api.as_("owner_city").post(
        f"/api/v1/agreements/{aid}/approve", json={"sensitive": ["protected"]}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "/sensitive"


def test_yaml_export_and_import(
    api: Api,
    partner: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pars.cli import main

    aid = _create(api)["id"]
    monkeypatch.setenv("PARS_DATABASE_URL", api.pars.settings.sqlalchemy_url)
    monkeypatch.setenv("PARS_DATA_DIR", str(tmp_path))
    from tests.conftest import KEYS

    monkeypatch.setenv("PARS_ENCRYPTION_KEYS", KEYS)
    assert main(["agreements", "export", aid]) == 0
    exported = capsys.readouterr().out
    assert "legal_basis: 18 Pa.C.S. § 9112" in exported
    doc = tmp_path / "agreement.yaml"
    doc.write_text(
        "partner: Pennsylvania State Police\npurpose: p\nlegal_basis: l\n"
        "event_types: [pars.arrest.submitted]\ngranted: [case]\n"
        "starts_at: 2026-12-01T00:00:00-05:00\nends_at: 2027-12-01T00:00:00-05:00\n"
    )
    assert main(["agreements", "import", str(doc)]) == 0
    assert "created as draft" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("partner: Pennsylvania State Police\npurpose: p\n")
    assert main(["agreements", "import", str(bad)]) == 1
    assert "legal_basis" in capsys.readouterr().err
    assert len(rows(api.pars, "agreements")) == 2
