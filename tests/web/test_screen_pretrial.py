"""Pretrial interviews (/pretrial): roles, the list of arrests before arraignment, the interview
recorded through the pretrial command (as the API records it), the recommendation on record
shown, CSRF, and bad input re-rendered with the field's error and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pars.domain.roles import Role
from tests.conftest import Api, rows
from tests.factories import arraignment_body
from tests.web.helpers import arrest_in
from tests.web.screens import Screens

FORM: dict[str, Any] = {
    "address_verified": "yes",
    "address_method": "phone",
    "address_detail": "confirmed with his mother",
    "recommendation": "ror",
    "reasons": ["address_verified", "community_ties"],
    "note": "Works full time.",
}


@pytest.fixture
def screens(api: Api) -> Screens:
    return Screens(api.pars)


def _arrest(api: Api, aid: str) -> dict[str, Any]:
    r = api.as_("pretrial").get(f"/api/v1/arrests/{aid}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _page(client: TestClient, aid: str) -> str:
    r = client.get(f"/pretrial/{aid}")
    assert r.status_code == 200, r.text
    return r.text


def _arraigned(api: Api) -> str:
    aid: str = arrest_in(api, "charged")["id"]
    r = api.as_("magistrate").post(f"/api/v1/arrests/{aid}/arraignment", json=arraignment_body())
    assert r.status_code == 200, r.text
    return aid


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_on_the_list_and_the_form(api: Api, screens: Screens, role: str) -> None:
    aid = arrest_in(api, "submitted")["id"]
    b = screens.signed_in(role)
    for path in ("/pretrial", f"/pretrial/{aid}"):
        r = b.get(path)
        assert r.status_code == (200 if role == "pretrial" else 403), (path, r.status_code)
    if role != "pretrial":
        r = screens.post(b, f"/pretrial/{aid}", FORM)
        assert r.status_code == 403
        assert _arrest(api, aid)["pretrial"] is None


def test_the_list_holds_arrests_before_arraignment_oldest_first(api: Api, screens: Screens) -> None:
    newer = arrest_in(api, "submitted")["id"]
    older = arrest_in(api, "charged", arrested_at="2026-11-19T22:00:00-05:00")["id"]
    done = _arraigned(api)
    draft = arrest_in(api, "draft")["id"]
    page = screens.signed_in("pretrial").get("/pretrial").text
    assert older in page and newer in page
    assert done not in page and draft not in page
    assert page.index(older) < page.index(newer)
    assert "Not interviewed yet" in page and "2 arrests before arraignment" in page
    assert "Friday, November 20, 2026, 9:30 AM EST" in page


def test_recording_the_interview_is_the_pretrial_command(api: Api, screens: Screens) -> None:
    aid = arrest_in(api, "submitted")["id"]
    before = _arrest(api, aid)
    b = screens.signed_in("pretrial")
    r = screens.post(b, f"/pretrial/{aid}", FORM, page=_page(b, aid))
    assert r.status_code == 200 and r.url.path == f"/pretrial/{aid}", r.text
    assert "The recommendation is recorded" in r.text
    after = _arrest(api, aid)
    assert after["version"] == before["version"] + 1
    p = after["pretrial"]
    assert p["address"] == {"verified": True, "method": "phone", "detail": FORM["address_detail"]}
    assert (p["recommendation"], p["reasons"], p["note"]) == (
        "ror",
        FORM["reasons"],
        FORM["note"],
    )
    assert p["recorded_by"] == "pretrial1"
    assert [e["type"] for e in rows(api.pars, "outbox")].count("pars.pretrial.recommended") == 1
    assert any(a["action"] == "pretrial:recommended" for a in rows(api.pars, "audit_log"))
    # Shown on the page and on the list, in words.
    assert "Recommendation on record" in r.text
    assert "Release on own recognizance (ROR)" in r.text and "Ties to the community" in r.text
    assert "Verified, by phone (confirmed with his mother)" in r.text
    assert "Recommended: Release on own recognizance (ROR)" in b.get("/pretrial").text


def test_a_second_interview_starts_from_the_first_and_replaces_it(
    api: Api, screens: Screens
) -> None:
    aid = arrest_in(api, "charged")["id"]
    b = screens.signed_in("pretrial")
    screens.post(b, f"/pretrial/{aid}", FORM, page=_page(b, aid))
    page = _page(b, aid)
    assert "replaces the one on record" in page
    assert 'id="recommendation-ror" type="radio" name="recommendation" value="ror" checked' in page
    second = {
        "address_verified": "no",
        "address_method": "phone",  # left chosen from the first answer: not sent with "no"
        "recommendation": "monetary",
        "reasons": ["address_not_verified", "prior_failure_to_appear"],
    }
    r = screens.post(b, f"/pretrial/{aid}", second, page=page)
    assert r.status_code == 200, r.text
    p = _arrest(api, aid)["pretrial"]
    assert p["address"] == {"verified": False, "method": "not_verified", "detail": None}
    assert (p["recommendation"], p["note"]) == ("monetary", None)


def test_csrf_is_required(api: Api, screens: Screens) -> None:
    aid = arrest_in(api, "submitted")["id"]
    b = screens.signed_in("pretrial")
    r = b.post(f"/pretrial/{aid}", data=FORM)
    assert r.status_code == 403
    assert _arrest(api, aid)["pretrial"] is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"address_verified": ""}, "address_verified", "Say whether the address was verified"),
        ({"address_method": ""}, "address_method", "Say how the address was verified"),
        ({"address_method": "telepathy"}, "address_method", "Choose how the address"),
        ({"address_detail": "x" * 301}, "address_detail", "at most 300 characters"),
        ({"recommendation": ""}, "recommendation", "Choose a release recommendation"),
        ({"recommendation": "detain"}, "recommendation", "Choose a release recommendation"),
        ({"reasons": []}, "reasons", "Choose at least one reason"),
        ({"reasons": ["gut_feeling"]}, "reasons", "Choose reasons from the list"),
        ({"reasons": ["other"], "note": ""}, "note", "saying what the other reason is"),
    ],
    ids=[
        "verified_missing",
        "verified_without_method",
        "unknown_method",
        "detail_too_long",
        "no_recommendation_chosen",
        "unknown_recommendation",
        "no_reason",
        "unknown_reason",
        "other_without_note",
    ],
)
def test_bad_input_shows_the_field_error_and_records_nothing(
    api: Api, screens: Screens, change: dict[str, Any], field: str, words: str
) -> None:
    aid = arrest_in(api, "submitted")["id"]
    before = _arrest(api, aid)
    b = screens.signed_in("pretrial")
    r = screens.post(b, f"/pretrial/{aid}", {**FORM, **change}, page=_page(b, aid))
    assert r.status_code == 422, r.text
    assert f'id="{field}-error"' in r.text and words in r.text, r.text
    assert f'href="#{field}"' in r.text  # the summary links to the field
    after = _arrest(api, aid)
    assert (after["version"], after["pretrial"]) == (before["version"], None)
    assert "pars.pretrial.recommended" not in [e["type"] for e in rows(api.pars, "outbox")]
    # What was typed stays on the form.
    if change.get("address_detail"):
        assert "x" * 301 in r.text


def test_after_the_arraignment_the_form_is_gone_and_a_late_post_is_explained(
    api: Api, screens: Screens
) -> None:
    aid = arrest_in(api, "charged")["id"]
    b = screens.signed_in("pretrial")
    page = _page(b, aid)
    r = api.as_("magistrate").post(f"/api/v1/arrests/{aid}/arraignment", json=arraignment_body())
    assert r.status_code == 200, r.text
    assert "No interview can be recorded now" in _page(b, aid)
    r = screens.post(b, f"/pretrial/{aid}", FORM, page=page)
    assert r.status_code == 409 and "The interview was not recorded" in r.text
    assert _arrest(api, aid)["pretrial"] is None
