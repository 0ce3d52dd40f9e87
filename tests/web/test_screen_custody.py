"""The custody board (/custody): roles, the board longest held first with the custody indicator,
release and commit through the custody command (as the API does), CSRF, and bad input that
re-renders with the field's error and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pars.domain.roles import Role
from tests.conftest import Api, rows
from tests.web.helpers import arrest_in
from tests.web.screens import Screens

ALLOWED = {"supervisor", "clerk"}


@pytest.fixture
def screens(api: Api) -> Screens:
    return Screens(api.pars)


def _arrest(api: Api, aid: str) -> dict[str, Any]:
    r = api.as_("supervisor").get(f"/api/v1/arrests/{aid}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _form(screens: Screens, client: TestClient, aid: str) -> str:
    r = client.get(f"/custody/{aid}")
    assert r.status_code == 200, r.text
    return r.text


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_on_the_board_and_a_person(api: Api, screens: Screens, role: str) -> None:
    aid = arrest_in(api, "submitted")["id"]
    b = screens.signed_in(role)
    for path in ("/custody", "/custody?status=committed", f"/custody/{aid}"):
        r = b.get(path)
        assert r.status_code == (200 if role in ALLOWED else 403), (path, r.status_code)
        if role not in ALLOWED:
            assert "not for the" in r.text
    if role not in ALLOWED:
        denied = [x for x in rows(api.pars, "audit_log") if x["action"] == "page:forbidden"]
        # the route, never the path typed; the record named apart
        assert denied[-1]["details"]["path"] == "/custody/{arrest_id}"
        assert denied[-1]["subject"] == aid


def test_the_board_shows_who_is_held_where_longest_first(api: Api, screens: Screens) -> None:
    recent = arrest_in(api, "submitted")["id"]  # 09:30 EST, 2.5 hours before the clock
    older = arrest_in(api, "submitted", arrested_at="2026-11-19T20:00:00-05:00")["id"]
    declined = arrest_in(api, "submitted", arrested_at="2026-11-20T08:00:00-05:00")["id"]
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{declined}/charging-decision",
        json={"outcome": "decline", "reason": "insufficient evidence"},
    )
    assert r.status_code == 200, r.text
    gone = arrest_in(api, "submitted", arrested_at="2026-11-18T20:00:00-05:00")["id"]
    r = api.as_("supervisor").post(
        f"/api/v1/arrests/{gone}/custody", json={"status": "released", "reason": "other"}
    )
    assert r.status_code == 200, r.text

    page = screens.signed_in("clerk").get("/custody").text
    assert "3 people held" in page
    assert gone not in page
    assert page.index(older) < page.index(declined) < page.index(recent)
    assert "16 hours" in page and "4 hours" in page and "2 hours" in page
    assert "PAB Central" in page and "Doe, John" in page
    assert page.count('indicator--hold">HOLD<') == 2
    assert page.count('indicator--release">RELEASE<') == 1
    assert "Charges declined" in page
    assert "Friday, November 20, 2026, 9:30 AM EST" in page  # in the courts' time zone


def test_htmx_refresh_gets_the_fragment(api: Api, screens: Screens) -> None:
    arrest_in(api, "submitted")
    r = screens.signed_in("supervisor").get("/custody", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text and 'id="board"' in r.text


def test_release_is_the_custody_command(api: Api, screens: Screens) -> None:
    aid = arrest_in(api, "submitted")["id"]
    before = _arrest(api, aid)
    b = screens.signed_in("supervisor")
    page = _form(screens, b, aid)
    assert "Custody indicator" in page and ">HOLD<" in page
    r = screens.post(
        b, f"/custody/{aid}/release", {"reason": "other", "note": "DA authorised"}, page=page
    )
    assert r.status_code == 200 and r.url.path == f"/custody/{aid}", r.text
    assert "Released from custody." in r.text
    after = _arrest(api, aid)
    assert after["custody"] == "released" and after["version"] == before["version"] + 1
    change = after["custody_changes"][-1]
    assert (change["from"], change["to"], change["reason"], change["note"], change["by"]) == (
        "held",
        "released",
        "other",
        "DA authorised",
        "supervisor1",
    )
    events = [e["type"] for e in rows(api.pars, "outbox")]
    assert events.count("pars.custody.changed") == 1
    assert any(
        a["action"] == "custody:changed" and a["actor"] == "supervisor1"
        for a in rows(api.pars, "audit_log")
    )
    assert aid not in b.get("/custody").text  # off the board


def test_commit_then_release_when_bail_is_posted(api: Api, screens: Screens) -> None:
    aid = arrest_in(api, "submitted")["id"]
    sup = screens.signed_in("supervisor")
    r = screens.post(
        sup, f"/custody/{aid}/commit", {"reason": "bail_not_posted"}, page=_form(screens, sup, aid)
    )
    assert r.status_code == 200 and "Committed to jail." in r.text
    assert _arrest(api, aid)["custody"] == "committed"
    assert aid not in sup.get("/custody").text and aid in sup.get("/custody?status=committed").text
    clerk = screens.signed_in("clerk")
    page = _form(screens, clerk, aid)
    assert f"/custody/{aid}/commit" not in page  # committed: only release remains
    r = screens.post(clerk, f"/custody/{aid}/release", {"reason": "bail_posted"}, page=page)
    assert r.status_code == 200, r.text
    after = _arrest(api, aid)
    assert after["custody"] == "released"
    assert [c["reason"] for c in after["custody_changes"]] == ["bail_not_posted", "bail_posted"]
    assert "No custody change is possible now" in clerk.get(f"/custody/{aid}").text


def test_csrf_is_required(api: Api, screens: Screens) -> None:
    aid = arrest_in(api, "submitted")["id"]
    b = screens.signed_in("supervisor")
    for action in ("release", "commit"):
        r = b.post(f"/custody/{aid}/{action}", data={"reason": "other"})
        assert r.status_code == 403, (action, r.text)
    assert _arrest(api, aid)["custody"] == "held"


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"reason": ""}, "release-reason", "Choose a reason from the list"),
        ({"reason": "felt_like_it"}, "release-reason", "Choose a reason from the list"),
        ({"reason": "other", "note": "x" * 301}, "release-note", "at most 300 characters"),
    ],
    ids=["no_reason", "unknown_reason", "long_note"],
)
def test_bad_input_shows_the_field_error_and_changes_nothing(
    api: Api, screens: Screens, form: dict[str, str], field: str, words: str
) -> None:
    aid = arrest_in(api, "submitted")["id"]
    before = _arrest(api, aid)
    b = screens.signed_in("supervisor")
    r = screens.post(b, f"/custody/{aid}/release", form, page=_form(screens, b, aid))
    assert r.status_code == 422, r.text
    assert f'id="{field}-error"' in r.text and words in r.text
    assert 'aria-invalid="true"' in r.text
    assert _arrest(api, aid)["version"] == before["version"]
    assert "pars.custody.changed" not in [e["type"] for e in rows(api.pars, "outbox")]


def test_a_move_the_custody_does_not_allow_is_explained(api: Api, screens: Screens) -> None:
    aid = arrest_in(api, "submitted")["id"]
    b = screens.signed_in("supervisor")
    page = _form(screens, b, aid)
    assert (
        screens.post(b, f"/custody/{aid}/release", {"reason": "ror"}, page=page).status_code == 200
    )
    version = _arrest(api, aid)["version"]
    r = screens.post(b, f"/custody/{aid}/commit", {"reason": "bail_not_posted"}, page=page)
    assert r.status_code == 409 and "Custody was not changed" in r.text
    assert _arrest(api, aid)["version"] == version


def test_unknown_arrest_is_a_404_page(screens: Screens) -> None:
    r = screens.signed_in("clerk").get("/custody/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12)
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
