"""Every role against every step: allowed roles succeed, every other role gets 403 and changes
nothing, and the refusal is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pars.domain.roles import STEP_ROLES, Role, Step
from tests.conftest import Api, rows
from tests.factories import approve_all, arraignment_body, arrest_body
from tests.web.helpers import arrest_in

M2_ONLY = {"charges": [{"statute": "18 § 2701 §§ A1", "grade": "M2"}]}
ORDER = {"order": "CP-51-MD-0000123-2026"}
PRETRIAL = {
    "address": {"verified": False},
    "recommendation": "no_recommendation",
    "reasons": ["interview_declined"],
}

# step -> (state to start from, extra arrest body, request(api_client, arrest) -> response)
CASES: dict[Step, tuple[str, dict[str, Any], Callable[[Any, dict[str, Any]], Any]]] = {
    Step.CREATE: ("none", {}, lambda c, a: c.post("/api/v1/arrests", json=arrest_body())),
    Step.SUBMIT: ("draft", {}, lambda c, a: c.post(f"/api/v1/arrests/{a['id']}/submit")),
    Step.IDENTIFY: (
        "submitted",
        {},
        lambda c, a: c.post(
            f"/api/v1/arrests/{a['id']}/identification", json={"state_id": f"S{a['otn'][1:7]}"}
        ),
    ),
    Step.RECORD_PRETRIAL: (
        "submitted",
        {},
        lambda c, a: c.post(f"/api/v1/arrests/{a['id']}/pretrial", json=PRETRIAL),
    ),
    Step.OPEN_CHARGING_REVIEW: (
        "submitted",
        {},
        lambda c, a: c.post(f"/api/v1/arrests/{a['id']}/charging-review"),
    ),
    Step.DECIDE_CHARGES: (
        "submitted",
        {},
        lambda c, a: c.post(f"/api/v1/arrests/{a['id']}/charging-decision", json=approve_all(a)),
    ),
    Step.RELEASE_FOR_SUMMONS: (
        "charged",
        M2_ONLY,
        lambda c, a: c.post(
            f"/api/v1/arrests/{a['id']}/summons-release",
            json={"reason": "M2", "no_threat": True, "likely_to_appear": True},
        ),
    ),
    Step.SCHEDULE_ARRAIGNMENT: (
        "charged",
        {},
        lambda c, a: c.post(
            f"/api/v1/arrests/{a['id']}/arraignment-session",
            json={"session_at": "2026-11-20T16:00:00-05:00"},
        ),
    ),
    Step.ARRAIGN: (
        "charged",
        {},
        lambda c, a: c.post(f"/api/v1/arrests/{a['id']}/arraignment", json=arraignment_body()),
    ),
    Step.CHANGE_CUSTODY: (
        "submitted",
        {},
        lambda c, a: c.post(
            f"/api/v1/arrests/{a['id']}/custody", json={"status": "released", "reason": "other"}
        ),
    ),
    Step.CORRECT: (
        "submitted",
        {},
        lambda c, a: c.post(
            f"/api/v1/arrests/{a['id']}/corrections",
            json={"reason": "typo", "changes": {"narrative": "Corrected narrative."}},
        ),
    ),
    Step.SEAL: (
        "submitted",
        {},
        lambda c, a: c.post(f"/api/v1/arrests/{a['id']}/seal", json=ORDER),
    ),
    Step.EXPUNGE: (
        "submitted",
        {},
        lambda c, a: c.post(f"/api/v1/arrests/{a['id']}/expunge", json=ORDER),
    ),
    Step.READ: ("submitted", {}, lambda c, a: c.get(f"/api/v1/arrests/{a['id']}")),
}


def test_every_step_has_a_case() -> None:
    assert set(CASES) == set(Step)


def _fresh(api: Api, state: str, body: dict[str, Any]) -> dict[str, Any]:
    return {} if state == "none" else arrest_in(api, state, **body)


@pytest.mark.parametrize("step", list(Step), ids=str)
def test_role_matrix(api: Api, step: Step) -> None:
    state, body, call = CASES[step]
    allowed = STEP_ROLES[step]
    target = _fresh(api, state, body)
    for role in Role:
        if role in allowed:
            arrest = _fresh(api, state, body)
            r = call(api.as_(role.value), arrest)
            assert r.status_code in (200, 201), (role, r.text)
            continue
        before_outbox = len(rows(api.pars, "outbox"))
        r = call(api.as_(role.value), target)
        assert r.status_code == 403, (role, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert role.value in r.json()["detail"]
        assert len(rows(api.pars, "outbox")) == before_outbox
        denied = [
            a
            for a in rows(api.pars, "audit_log")
            if a["action"] == "access:denied" and a["actor"] == f"{role.value}1"
        ]
        assert denied and denied[-1]["details"]["step"] == step.value
    if target:
        after = api.as_("supervisor").get(f"/api/v1/arrests/{target['id']}").json()
        assert after["version"] == target["version"]


def test_no_token_and_bad_token(api: Api) -> None:
    api.client.headers.pop("Authorization", None)
    r = api.client.get("/api/v1/arrests")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = api.client.get("/api/v1/arrests", headers={"Authorization": "Bearer pars_nope"})
    assert r.status_code == 401
    assert r.json()["type"] == "/problems/unauthenticated"


def test_protected_fields_shown_only_to_roles_that_need_them(api: Api) -> None:
    arrest = arrest_in(api, "submitted")
    for role in (Role.OFFICER, Role.SUPERVISOR, Role.PROSECUTOR):
        seen = api.as_(role.value).get(f"/api/v1/arrests/{arrest['id']}").json()
        assert seen["person"]["ssn"] == "123-45-6789"
        assert seen["victims"][0]["name"] == "Jane Roe"
        assert seen["redacted"] == []
    for role in (Role.MAGISTRATE, Role.PRETRIAL, Role.DEFENDER, Role.CLERK):
        r = api.as_(role.value).get(f"/api/v1/arrests/{arrest['id']}")
        seen = r.json()
        assert "ssn" not in seen["person"]
        assert "victims" not in seen and "witnesses" not in seen
        assert set(seen["redacted"]) == {
            "/person/ssn",
            "/person/place_of_birth",
            "/person/citizenship",
            "/victims",
            "/witnesses",
        }
        for secret in ("123-45-6789", "Kingston", "Jane Roe", "Sam Poe"):
            assert secret not in r.text
