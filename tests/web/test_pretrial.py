"""Pretrial services' interview through the API: recorded as a workflow command with its own event,
version and audit row, refused to other roles, in other states and with bad input, shown to the
magistrate, replaced by a later interview, hidden by sealing and destroyed by expungement."""

from __future__ import annotations

from typing import Any

import pytest

from pars.domain.arraignment import BailType
from pars.domain.pretrial import Recommendation
from pars.domain.roles import Role
from pars.services import agreements as ag
from pars.services.delivery.relay import relay_once
from tests.conftest import Api, rows
from tests.factories import active_agreement, arraignment_body
from tests.web.helpers import arrest_in

ARRESTS = "/api/v1/arrests"
INTERVIEW: dict[str, Any] = {
    "address": {"verified": True, "method": "phone", "detail": "confirmed with his mother"},
    "recommendation": "ror",
    "reasons": ["address_verified", "community_ties", "no_prior_record"],
    "note": "Works full time; lives with family.",
}
SECOND: dict[str, Any] = {
    "address": {"verified": False},
    "recommendation": "monetary",
    "reasons": ["address_not_verified", "prior_failure_to_appear"],
}


def _pretrial(api: Api, arrest_id: str, body: Any, role: str = "pretrial") -> Any:
    return api.as_(role).post(f"{ARRESTS}/{arrest_id}/pretrial", json=body)


def test_recommendations_are_the_bail_types_and_none() -> None:
    assert {r.value for r in Recommendation} == {b.value for b in BailType} | {"no_recommendation"}


def test_interview_is_recorded_with_event_version_and_audit(api: Api, backend: str) -> None:
    arrest = arrest_in(api, "submitted")
    aid = arrest["id"]

    r = _pretrial(api, aid, INTERVIEW)

    assert r.status_code == 200, r.text
    seen = r.json()
    assert (seen["state"], seen["version"]) == ("submitted", arrest["version"] + 1)
    pretrial = seen["pretrial"]
    assert pretrial["address"] == INTERVIEW["address"]
    assert pretrial["recommendation"] == "ror"
    assert pretrial["reasons"] == INTERVIEW["reasons"]
    assert pretrial["note"] == INTERVIEW["note"]
    assert pretrial["recorded_by"] == "pretrial1"
    assert pretrial["recorded_at"]
    assert "record_pretrial" in seen["allowed_actions"]

    events = [e for e in rows(api.pars, "outbox") if e["type"] == "pars.pretrial.recommended"]
    assert len(events) == 1
    assert events[0]["subject"] == aid
    assert events[0]["arrest_version"] == seen["version"]
    assert events[0]["data"]["recommendation"] == "ror"
    assert events[0]["data"]["replaces_earlier"] is False
    # Event data carries no free text and no staff username.
    for text in ("mother", "full time", "pretrial1"):
        assert text not in str(events[0]["data"])

    audit = [a for a in rows(api.pars, "audit_log") if a["action"] == "pretrial:recommended"]
    assert [(a["actor"], a["role"], a["subject"], a["outcome"]) for a in audit] == [
        ("pretrial1", "pretrial", aid, "success")
    ]
    assert "mother" not in str(audit[0]["details"])

    versions = api.as_("clerk").get(f"{ARRESTS}/{aid}/versions").json()["items"]
    assert versions[-1]["action"] == "record_pretrial"
    assert versions[-1]["changed_by"] == "pretrial1"


def test_an_unverified_address_needs_no_method(api: Api) -> None:
    aid = arrest_in(api, "submitted")["id"]
    r = _pretrial(api, aid, SECOND)
    assert r.status_code == 200, r.text
    assert r.json()["pretrial"]["address"] == {
        "verified": False,
        "method": "not_verified",
        "detail": None,
    }


def test_the_magistrate_sees_it_and_only_pretrial_may_record_it(api: Api) -> None:
    aid = arrest_in(api, "charged")["id"]
    assert _pretrial(api, aid, INTERVIEW).status_code == 200

    shown = api.as_("magistrate").get(f"{ARRESTS}/{aid}").json()
    assert shown["pretrial"]["recommendation"] == "ror"
    assert shown["pretrial"]["reasons"] == INTERVIEW["reasons"]
    assert "record_pretrial" not in shown["allowed_actions"]

    version = api.as_("magistrate").get(f"{ARRESTS}/{aid}").json()["version"]
    for role in Role:
        if role is Role.PRETRIAL:
            continue
        r = _pretrial(api, aid, SECOND, role=role.value)
        assert r.status_code == 403, (role, r.text)
        assert r.json()["type"] == "/problems/forbidden"
    after = api.as_("magistrate").get(f"{ARRESTS}/{aid}").json()
    assert (after["version"], after["pretrial"]["recommendation"]) == (version, "ror")
    assert [e["type"] for e in rows(api.pars, "outbox")].count("pars.pretrial.recommended") == 1
    denied = [
        a
        for a in rows(api.pars, "audit_log")
        if a["action"] == "access:denied" and a["details"].get("step") == "record_pretrial"
    ]
    assert len(denied) == len(Role) - 1


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({**INTERVIEW, "recommendation": "detain"}, "/recommendation"),
        ({**INTERVIEW, "reasons": []}, "/reasons"),
        ({**INTERVIEW, "reasons": ["gut_feeling"]}, "/reasons/0"),
        ({**INTERVIEW, "address": {"verified": True}}, "/address/method"),
        ({**INTERVIEW, "address": {"verified": False, "method": "phone"}}, "/address/method"),
        ({**INTERVIEW, "address": {"method": "phone"}}, "/address/verified"),
        ({**INTERVIEW, "reasons": ["other"], "note": None}, "/note"),
        (
            {**INTERVIEW, "address": {**INTERVIEW["address"], "detail": "x" * 301}},
            "/address/detail",
        ),
        ({**INTERVIEW, "risk_score": 7}, "/risk_score"),
        ({k: v for k, v in INTERVIEW.items() if k != "address"}, "/address"),
    ],
    ids=[
        "unknown_recommendation",
        "no_reason",
        "unknown_reason",
        "verified_without_method",
        "unverified_with_method",
        "verified_missing",
        "other_without_note",
        "detail_oversize",
        "unknown_field",
        "address_missing",
    ],
)
def test_bad_input_is_422_naming_the_field(api: Api, body: dict[str, Any], pointer: str) -> None:
    arrest = arrest_in(api, "submitted")
    r = _pretrial(api, arrest["id"], body)
    assert r.status_code == 422, r.text
    assert pointer in [e["pointer"] for e in r.json()["errors"]], r.json()
    after = api.as_("pretrial").get(f"{ARRESTS}/{arrest['id']}").json()
    assert (after["version"], after["pretrial"]) == (arrest["version"], None)
    assert "pars.pretrial.recommended" not in [e["type"] for e in rows(api.pars, "outbox")]


def _arraigned(api: Api) -> str:
    aid: str = arrest_in(api, "charged")["id"]
    r = api.as_("magistrate").post(f"{ARRESTS}/{aid}/arraignment", json=arraignment_body())
    assert r.status_code == 200, r.text
    return aid


def _declined(api: Api) -> str:
    aid: str = arrest_in(api, "submitted")["id"]
    r = api.as_("prosecutor").post(
        f"{ARRESTS}/{aid}/charging-decision", json={"outcome": "decline", "reason": "r"}
    )
    assert r.status_code == 200, r.text
    return aid


def _draft(api: Api) -> str:
    return str(arrest_in(api, "draft")["id"])


@pytest.mark.parametrize(
    ("make", "state"),
    [(_draft, "draft"), (_declined, "declined"), (_arraigned, "arraigned")],
    ids=["draft", "declined", "arraigned"],
)
def test_outside_the_pre_arraignment_states_it_is_409(api: Api, make: Any, state: str) -> None:
    aid = make(api)
    if state == "draft":
        # A draft is its author's alone: to pretrial it does not exist.
        assert _pretrial(api, aid, INTERVIEW).status_code == 404
        return
    r = _pretrial(api, aid, INTERVIEW)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"] == "/problems/illegal-transition"
    assert problem["current_state"] == state
    assert "record_pretrial" not in problem["allowed_actions"]
    failed = [a for a in rows(api.pars, "audit_log") if a["action"] == "pretrial:recommended"]
    assert [(a["outcome"], a["subject"]) for a in failed] == [("failure", aid)]


def test_a_second_interview_replaces_the_first_and_keeps_it_in_history(api: Api) -> None:
    aid = arrest_in(api, "charged")["id"]
    first = _pretrial(api, aid, INTERVIEW).json()
    r = api.as_("clerk").post(
        f"{ARRESTS}/{aid}/arraignment-session", json={"session_at": "2026-11-20T11:30:00-05:00"}
    )
    assert r.json()["state"] == "arraignment_scheduled"

    second = _pretrial(api, aid, SECOND)

    assert second.status_code == 200, second.text
    now = second.json()["pretrial"]
    assert (now["recommendation"], now["address"]["verified"], now["note"]) == (
        "monetary",
        False,
        None,
    )
    old = api.as_("magistrate").get(f"{ARRESTS}/{aid}/versions/{first['version']}").json()
    assert old["pretrial"]["recommendation"] == "ror"
    assert old["pretrial"]["note"] == INTERVIEW["note"]
    actions = [
        v["action"] for v in api.as_("magistrate").get(f"{ARRESTS}/{aid}/versions").json()["items"]
    ]
    assert actions.count("record_pretrial") == 2
    events = [e for e in rows(api.pars, "outbox") if e["type"] == "pars.pretrial.recommended"]
    assert [e["data"]["replaces_earlier"] for e in events] == [False, True]
    assert [e["data"]["recommendation"] for e in events] == ["ror", "monetary"]


def test_sealing_hides_it_and_expunging_destroys_it(api: Api, backend: str) -> None:
    aid = arrest_in(api, "submitted")["id"]
    assert _pretrial(api, aid, INTERVIEW).status_code == 200
    api.as_("clerk").post(f"{ARRESTS}/{aid}/seal", json={"order": "CP-51-MD-1-2026"})
    sealed = api.as_("magistrate").get(f"{ARRESTS}/{aid}")
    assert "pretrial" not in sealed.json()
    assert "mother" not in sealed.text
    with api.pars.uow() as uow:
        assert "pretrial" in uow.arrests.get(aid, lock=False).document  # hidden, still held

    r = api.as_("clerk").post(f"{ARRESTS}/{aid}/expunge", json={"order": "CP-51-MD-2-2026"})

    assert r.status_code == 200, r.text
    with api.pars.uow() as uow:
        assert "pretrial" not in uow.arrests.get(aid, lock=False).document


def test_a_case_grant_carries_the_recommendation_not_free_text_or_staff(api: Api) -> None:
    partner_id, key = ag.add_partner(api.pars, "Defender Association", "defense")
    active_agreement(
        api.pars,
        partner_id,
        event_types=["pars.pretrial.recommended"],
        granted=["case"],
    )
    aid = arrest_in(api, "submitted")["id"]
    assert _pretrial(api, aid, INTERVIEW).status_code == 200
    relay_once(api.pars)

    r = api.client.get("/api/v1/feed", headers={"Authorization": f"Bearer {key}"})

    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["type"] == "pars.pretrial.recommended"
    assert item["data"]["pretrial"] == {
        "address": {"verified": True, "method": "phone"},
        "recommendation": "ror",
        "reasons": INTERVIEW["reasons"],
        "recorded_at": item["data"]["pretrial"]["recorded_at"],
    }
    for text in ("mother", "full time", "pretrial1"):
        assert text not in r.text
