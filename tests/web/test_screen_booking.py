"""Booking (/booking): roles, CSRF, the report created and submitted exactly as the API creates
and submits it, a draft corrected with only what changed, bad input re-rendered with the
field's error in words and nothing written, autosave fragments, charge suggestions and
identity candidates (and a pick: identifiers filled in; a supervisor's pick links)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pars.domain.roles import Role
from tests.conftest import Api, rows
from tests.factories import arrest_body
from tests.web.helpers import arrest_in, identify
from tests.web.screens import Screens

FORM: dict[str, str] = {
    "arrested_date": "2026-11-20",
    "arrested_time": "09:30",
    "arrest_type": "on_view",
    "location.address": "1500 Market St",
    "location.district": "6",
    "arresting_officer.badge": "4512",
    "arresting_officer.name": "P/O Rivera",
    "units.arresting": "6th District",
    "units.detaining": "PAB Central",
    "report_number": "2026-06-012345",
    "person.last_name": "Doe",
    "person.first_name": "John",
    "person.middle_name": "Q",
    "person.date_of_birth": "1990-04-02",
    "person.sex": "M",
    "person.race": "W",
    "person.ethnicity": "N",
    "person.aliases": "Dough, Johnny",
    "person.address": "12 Elm St, Philadelphia PA 19107",
    "person.phone": "215-555-0100",
    "person.ssn": "123-45-6789",
    "person.place_of_birth": "Kingston, Jamaica",
    "person.citizenship": "JM",
    "charges.0.statute": "18 § 2701 §§ A1",
    "charges.0.grade": "M2",
    "charges.0.counts": "1",
    "charges.1.statute": "18 § 3921 §§ A",
    "charges.1.counts": "2",
    "narrative": "Officer observed the defendant strike the complainant.",
    "victims.0.name": "Jane Roe",
    "victims.0.address": "14 Elm St",
    "victims.0.phone": "215-555-0101",
    "witnesses.0.name": "Sam Poe",
}
HX = {"HX-Request": "true"}
_SAME = (
    "state",
    "custody",
    "arrested_at",
    "arrest_type",
    "location",
    "arresting_officer",
    "units",
    "report_number",
    "incident_number",
    "person",
    "charges",
    "narrative",
    "victims",
    "witnesses",
    "co_defendants",
    "juvenile",
    "version",
)


@pytest.fixture
def screens(api: Api) -> Screens:
    return Screens(api.pars)


def _view(api: Api, aid: str, who: str = "officer") -> dict[str, Any]:
    r = api.as_(who).get(f"/api/v1/arrests/{aid}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _history(api: Api, aid: str) -> list[str]:
    """The record's history lines (a draft has no versions yet)."""
    with api.pars.reader() as uow:
        return [h["action"] for h in uow.arrests.get(aid, lock=False).history]


def _form_page(client: TestClient) -> str:
    r = client.get("/booking/new")
    assert r.status_code == 200, r.text
    return r.text


def _save(
    screens: Screens, client: TestClient, form: dict[str, str], action: str = "save", **kw: Any
) -> Any:
    return screens.post(
        client,
        "/booking/save",
        {**form, "action": action},
        page=_form_page(client),
        follow_redirects=False,
        **kw,
    )


def _id_of(location: str) -> str:
    m = re.search(r"/booking/([0-9a-f-]{36})", location)
    assert m, location
    return m.group(1)


def _error(html: str, name: str) -> str:
    m = re.search(rf'id="err-{re.escape(name)}"[^>]*>([^<]*)<', html)
    assert m, f"no error slot for {name}"
    return m.group(1)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_on_every_page(api: Api, screens: Screens, role: str) -> None:
    draft = arrest_in(api, "draft")["id"]
    b = screens.signed_in(role)
    allowed = role in ("officer", "supervisor")
    for path in ("/booking", "/booking/new", f"/booking/{draft}/review", "/booking/charges/0"):
        r = b.get(path)
        assert r.status_code == (200 if allowed else 403), (path, r.status_code)
    if not allowed:
        before = len(rows(api.pars, "arrests"))
        home = b.get("/home").text
        for path in ("/booking/save", "/booking/candidates", f"/booking/{draft}/submit"):
            r = screens.post(b, path, FORM, page=home)
            assert r.status_code == 403, path
        assert len(rows(api.pars, "arrests")) == before
        assert _view(api, draft)["state"] == "draft"


def test_state_changing_posts_need_the_csrf_token(api: Api, screens: Screens) -> None:
    draft = arrest_in(api, "draft")["id"]
    b = screens.signed_in("officer")
    for path in ("/booking/save", "/booking/candidates", f"/booking/{draft}/submit"):
        r = b.post(path, data={**FORM, "action": "review"})
        assert r.status_code == 403, path
        r = b.post(path, data={**FORM, "csrf_token": "wrong"}, headers=HX)
        assert r.status_code == 403, path
    assert len(rows(api.pars, "arrests")) == 1
    assert _view(api, draft)["state"] == "draft"


def test_the_booked_report_is_the_one_the_api_would_make(api: Api, screens: Screens) -> None:
    b = screens.signed_in("officer")
    r = _save(screens, b, FORM, "review")
    assert r.status_code == 303, r.text
    aid = _id_of(r.headers["location"])
    assert r.headers["location"] == f"/booking/{aid}/review"
    review = b.get(r.headers["location"])
    assert review.status_code == 200
    otn = _view(api, aid)["otn"]
    assert otn in review.text and "Submit: save and send" in review.text
    assert "Friday, November 20, 2026, 9:30 AM EST" in review.text
    assert "Simple assault" in review.text or "2701" in review.text
    assert _view(api, aid)["state"] == "draft"

    r = screens.post(b, f"/booking/{aid}/submit", page=review.text, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/booking/{aid}/done"
    done = b.get(r.headers["location"]).text
    assert otn in done and "Arrest report sent" in done

    # The same report through the API: create a draft, then submit it.
    made = api.as_("officer").post("/api/v1/arrests", json=arrest_body())
    assert made.status_code == 201, made.text
    sent = api.as_("officer").post(f"/api/v1/arrests/{made.json()['id']}/submit")
    assert sent.status_code == 200, sent.text
    ours, theirs = _view(api, aid), _view(api, made.json()["id"])
    for key in _SAME:
        assert ours[key] == theirs[key], key
    assert _history(api, aid) == _history(api, made.json()["id"]) == ["create", "submit"]
    versions = [
        api.as_("officer").get(f"/api/v1/arrests/{a}/versions").json()
        for a in (aid, made.json()["id"])
    ]
    assert [[v["action"] for v in vs["items"]] for vs in versions] == [["submit"], ["submit"]]
    audit = [r["action"] for r in rows(api.pars, "audit_log") if r["subject"] == aid]
    assert "arrest:created" in audit and "arrest:submitted" in audit


def test_a_draft_is_corrected_with_what_changed_only(api: Api, screens: Screens) -> None:
    b = screens.signed_in("officer")
    r = _save(screens, b, FORM)
    assert r.status_code == 303
    aid = _id_of(r.headers["location"])
    assert r.headers["location"] == f"/booking/{aid}?saved=1"
    page = b.get(r.headers["location"]).text
    assert "Draft saved" in page and 'value="P/O Rivera"' in page
    assert _view(api, aid)["state"] == "draft"
    history = lambda: _history(api, aid)  # noqa: E731
    assert history() == ["create"]

    # Saving it unchanged changes nothing; a change is a correction of that field.
    again = {**FORM, "arrest_id": aid}
    assert _save(screens, b, again).status_code == 303
    assert history() == ["create"]
    changed = {**again, "narrative": "Struck the complainant twice.", "person.middle_name": ""}
    changed |= {"charges.1.statute": "", "charges.0.statute": "18 2701 A1"}
    assert _save(screens, b, changed).status_code == 303
    view = _view(api, aid)
    assert history() == ["create", "correct"]
    assert view["narrative"] == "Struck the complainant twice."
    assert "middle_name" not in view["person"]
    assert [c["statute"] for c in view["charges"]] == ["18 § 2701 §§ A1"]
    assert view["victims"] == [
        {"name": "Jane Roe", "address": "14 Elm St", "phone": "215-555-0101"}
    ]

    # The draft opens with what was saved, and the list offers it.
    page = b.get(f"/booking/{aid}").text
    assert "Struck the complainant twice." in page and 'name="charges.1.statute"' not in page
    listing = b.get("/booking").text
    assert f"/booking/{aid}" in listing and "Doe, John" in listing


def test_bad_input_is_told_beside_the_field_and_nothing_is_written(
    api: Api, screens: Screens
) -> None:
    b = screens.signed_in("officer")
    before = {t: len(rows(api.pars, t)) for t in ("arrests", "outbox")}
    bad = {**FORM, "location.district": "6 north", "person.date_of_birth": "2027-01-01"}
    bad |= {"person.height_inches": "tall"}
    bad |= {"person.last_name": ""}
    r = _save(screens, b, bad, "review")
    assert r.status_code == 422
    html = r.text
    assert "Not saved" in html
    assert _error(html, "location-district").startswith("Enter the district as 1 to 10")
    assert "whole number" in _error(html, "person-height_inches")
    assert _error(html, "person-last_name") == "Enter the last name"
    # What was typed stays in the form.
    assert 'value="tall"' in html and 'value="6 north"' in html
    # Only the model's errors so far; the service's checks come once the form validates.
    assert {t: len(rows(api.pars, t)) for t in before} == before

    # With the form valid, the service's own checks (the catalogue, a birth in the future) are
    # told in words too, and the catalogue's nearest charges are offered.
    later = {**FORM, "person.date_of_birth": "2027-01-01", "charges.1.statute": "theft of a"}
    r = _save(screens, b, later, "review")
    assert r.status_code == 422
    assert _error(r.text, "person-date_of_birth") == "The date of birth is in the future"
    assert "No charge in the catalogue matches" in _error(r.text, "charges-1-statute")
    assert _error(r.text, "charges-0-statute") == ""
    assert 'value="theft of a"' in r.text and 'value="charge:1:' in r.text
    assert {t: len(rows(api.pars, t)) for t in before} == before


def test_autosave_answers_fragments_and_creates_the_draft_once_it_can(
    api: Api, screens: Screens
) -> None:
    b = screens.signed_in("officer")
    partial = {k: v for k, v in FORM.items() if not k.startswith("person.")}
    partial["person.height_inches"] = "tall"
    r = _save(screens, b, partial, headers=HX)
    assert r.status_code == 200
    assert 'id="save-status"' in r.text and 'hx-swap-oob="true"' in r.text
    assert "Not saved" in r.text
    # A field left empty is not an error while typing; a wrong one is.
    assert _error(r.text, "person-last_name") == ""
    assert "whole number" in _error(r.text, "person-height_inches")
    assert rows(api.pars, "arrests") == []

    r = _save(screens, b, FORM, headers=HX)
    assert r.status_code == 200
    (arrest,) = rows(api.pars, "arrests")
    assert f'name="arrest_id" value="{arrest["id"]}"' in r.text
    assert r.headers["HX-Replace-Url"] == f"/booking/{arrest['id']}"
    assert "saved at" in r.text
    r = _save(screens, b, {**FORM, "arrest_id": arrest["id"], "narrative": "x"}, headers=HX)
    assert len(rows(api.pars, "arrests")) == 1
    assert _view(api, arrest["id"])["narrative"] == "x"


def test_charge_suggestions_come_from_the_catalogue(api: Api, screens: Screens) -> None:
    b = screens.signed_in("officer")
    r = b.get("/booking/charges/2", params={"charges.2.statute": "simple assault"}, headers=HX)
    assert r.status_code == 200
    assert 'id="suggest-2"' in r.text and "<html" not in r.text
    api_items = api.as_("officer").get("/api/v1/charges", params={"q": "simple assault"}).json()
    first = api_items["items"][0]
    assert first["statute"] in r.text
    assert f'data-grade="{first["default_grade"]}"' in r.text
    assert f'value="charge:2:{first["key"]}"' in r.text
    r = b.get("/booking/charges/0", params={"charges.0.statute": "zzzz"}, headers=HX)
    assert "No charge in the catalogue matches" in r.text
    # Without JavaScript, the suggestion's button fills the citation and the grade.
    form = {**FORM, "charges.1.statute": "", "charges.1.counts": "1"}
    r = _save(screens, b, form, f"charge:1:{first['key']}")
    assert r.status_code == 200
    assert f'value="{first["statute"]}"' in r.text
    new_row = b.get("/booking/row/charges/3", headers=HX)
    assert 'name="charges.3.statute"' in new_row.text and 'hx-get="/booking/row/charges/4"' in (
        new_row.text
    )


def _known_person(api: Api) -> str:
    """An arrest of John Doe, identified by the supervisor with a state ID: a person record."""
    aid = arrest_in(api, "submitted")["id"]
    return identify(api, aid, state_id="SID777")


def test_candidates_with_their_explanation_and_a_pick(api: Api, screens: Screens) -> None:
    person_id = _known_person(api)
    b = screens.signed_in("officer")
    typed = {"person.last_name": "Do", "person.first_name": "Jon"}
    typed |= {"person.date_of_birth": "1990-04-02", "person.sex": "M"}
    page = _form_page(b)
    r = screens.post(b, "/booking/candidates", typed, page=page, headers=HX)
    assert r.status_code == 200, r.text
    assert 'id="candidates"' in r.text and "<html" not in r.text
    assert "Doe, John, born Monday, April 2, 1990" in r.text
    assert "State ID SID777" in r.text and "Why this record" in r.text
    assert f'value="pick:{person_id}"' in r.text
    audit = [x for x in rows(api.pars, "audit_log") if x["action"] == "person:match"]
    assert audit and audit[-1]["actor"] == "officer1"
    # No name yet: no look-up.
    r = screens.post(b, "/booking/candidates", {"person.last_name": "Do"}, page=page, headers=HX)
    assert "Type the last and first name" in r.text

    # The pick without JavaScript: the identifiers are filled in from the person record.
    form = {**FORM, "person.last_name": "Do", "person.first_name": "Jon"}
    r = _save(screens, b, form, f"pick:{person_id}")
    assert r.status_code == 200
    assert 'id="f-person-state_id" name="person.state_id" type="text" value="SID777"' in r.text
    assert f'name="person_id" value="{person_id}"' in r.text
    # No-JS "find matching person records" shows the candidates in the page.
    r = _save(screens, b, form, "match")
    assert "State ID SID777" in r.text


def test_a_pick_fills_the_description_the_officer_left_empty(api: Api, screens: Screens) -> None:
    person_id = _known_person(api)
    b = screens.signed_in("officer")
    found = b.get(f"/booking/prefill/{person_id}")
    assert found.status_code == 200 and found.headers["cache-control"] == "no-store"
    fields = found.json()["fields"]
    assert fields == {
        "person.middle_name": "Q", "person.sex": "M", "person.race": "W",
        "person.ethnicity": "N", "person.address": "12 Elm St, Philadelphia PA 19107",
        "person.phone": "215-555-0100",
    }  # fmt: skip
    assert found.json()["from"]  # the arrest's day, in words
    reads = [x for x in rows(api.pars, "audit_log") if x["action"] == "arrest:read"]
    assert reads and reads[-1]["actor"] == "officer1"
    # Never the names, the date of birth or the protected identifiers.
    for never in ("ssn", "place_of_birth", "citizenship", "last_name", "date_of_birth"):
        assert f"person.{never}" not in fields
    # No such person, or a role that does not book: nothing, or the 403.
    assert b.get("/booking/prefill/" + "0" * 36).json() == {"fields": {}, "from": None}
    assert screens.signed_in("prosecutor").get(f"/booking/prefill/{person_id}").status_code == 403

    # The pick without JavaScript fills the same fields, never over what the officer typed.
    typed = {
        k: v
        for k, v in FORM.items()
        if k not in ("person.address", "person.phone", "person.race", "person.middle_name")
    }
    typed["person.sex"] = "X"
    r = _save(screens, b, typed | {"person.first_name": "Jon"}, f"pick:{person_id}")
    assert r.status_code == 200
    assert 'name="person.address" type="text" value="12 Elm St, Philadelphia PA 19107"' in r.text
    assert 'name="person.phone" type="tel" value="215-555-0100"' in r.text
    assert 'name="person.middle_name" type="text" value="Q"' in r.text
    assert re.search(r'<option value="X" selected', r.text), "the typed sex stays"


def test_a_supervisors_pick_links_the_draft(api: Api, screens: Screens) -> None:
    person_id = _known_person(api)
    b = screens.signed_in("supervisor")
    form = {**FORM, "person.first_name": "Jon", "person_id": person_id}
    r = _save(screens, b, form)
    assert r.status_code == 303, r.text
    aid = _id_of(r.headers["location"])
    view = _view(api, aid, "supervisor")
    assert view["identification"]["person_id"] == person_id
    assert view["state"] == "draft"
    page = b.get(f"/booking/{aid}/review").text
    assert "Linked to Doe, John" in page


def test_a_report_without_charges_is_not_sent(api: Api, screens: Screens) -> None:
    b = screens.signed_in("officer")
    form = {k: v for k, v in FORM.items() if not k.startswith("charges.")}
    r = _save(screens, b, form, "review")
    assert r.status_code == 303
    aid = _id_of(r.headers["location"])
    review = b.get(f"/booking/{aid}/review").text
    r = screens.post(b, f"/booking/{aid}/submit", page=review)
    assert r.status_code == 422
    assert "The report was not sent" in r.text and "at least one charge" in r.text
    assert _view(api, aid)["state"] == "draft"


def test_the_list_holds_my_drafts_and_my_sent_reports_only(api: Api, screens: Screens) -> None:
    mine = arrest_in(api, "draft")["id"]
    sent = arrest_in(api, "submitted")["id"]
    b = screens.signed_in("officer")
    page = b.get("/booking").text
    assert f"/booking/{mine}" in page and f"/booking/{sent}/done" in page
    other = screens.signed_in("supervisor").get("/booking").text
    assert mine not in other and sent not in other
    assert "You have no drafts" in other
    # A sent report opens as sent, not as a form.
    r = b.get(f"/booking/{sent}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/booking/{sent}/done"
