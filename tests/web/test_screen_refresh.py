"""Screens that refresh themselves (the defender's docket every 10 s, the custody board every
minute) against the idle lock and the audit log, on the test's fake clock: a poll is not the
user's activity, so a screen left polling locks after the idle time and the poll is sent to the
sign-in page; the user's own request keeps the session open; and polls that show nothing new
write no audit row, while one that shows a new case (or a new version of one) writes one row
naming it (that one on PostgreSQL too, where what was shown is kept as JSONB)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from pars.services.app import Pars
from tests.conftest import Api, rows
from tests.web.helpers import arrest_in
from tests.web.screens import Screens

POLL = {"HX-Request": "true", "X-PARS-Refresh": "auto", "HX-Current-URL": "http://localhost/docket"}
BOARD_POLL = POLL | {"HX-Current-URL": "http://localhost/custody"}
SESSION = "2026-11-20T11:30:00-05:00"  # begun already: the test clock stands at noon there


@pytest.fixture
def screens(pars: Pars) -> Screens:
    return Screens(pars)


@pytest.fixture
def defender(screens: Screens) -> TestClient:
    client = screens.signed_in("defender")
    assert client.get("/docket").status_code == 200  # the page view the polls come from
    return client


def poll(
    client: TestClient, path: str = "/docket/cases", headers: dict[str, str] = POLL
) -> Response:
    return client.get(path, headers=headers, follow_redirects=False)


def poll_for(
    screens: Screens, client: TestClient, minutes: int, every: int = 10, **kw: Any
) -> list[Response]:
    """Poll every `every` seconds of fake time for `minutes`; the answers."""
    answers = []
    for _ in range(minutes * 60 // every):
        screens.clock.advance(timedelta(seconds=every))
        answers.append(poll(client, **kw))
    return answers


def audit_of(pars: Pars, actor: str) -> list[dict[str, Any]]:
    return [r for r in rows(pars, "audit_log") if r["actor"] == actor]


def place(api: Api, **body: Any) -> dict[str, Any]:
    arrest = arrest_in(api, "charged", **body)
    r = api.as_("clerk").post(
        f"/api/v1/arrests/{arrest['id']}/arraignment-session", json={"session_at": SESSION}
    )
    assert r.status_code == 200, r.text
    placed: dict[str, Any] = r.json()
    return placed


def test_the_page_marks_its_polls_and_only_its_polls(defender: TestClient) -> None:
    page = defender.get("/docket").text
    # The header rides on the polling element alone: nothing inside it inherits it.
    assert (
        'hx-trigger="every 10s" hx-swap="outerHTML" hx-headers=\'{"X-PARS-Refresh": "auto"}\' '
        'hx-disinherit="hx-headers"'
    ) in page
    assert page.count("X-PARS-Refresh") == 1
    assert 'content="30; url=/docket?refresh=auto"' in page  # without JavaScript: a reload


def test_polls_for_31_minutes_lock_the_session(
    pars: Pars, screens: Screens, defender: TestClient
) -> None:
    answers = poll_for(screens, defender, 31)
    codes = [r.status_code for r in answers]
    locked = codes.index(401)
    # Every poll within the idle time (30 minutes after the page view) was answered ...
    assert locked >= 30 * 6 - 1 and set(codes[:locked]) == {200}
    assert '<div id="docket-cases"' in answers[locked - 1].text
    # ... and then the poll is sent to sign in, the whole page with it, and shows no records.
    first = answers[locked]
    assert first.headers["HX-Redirect"] == "/signin?next=/docket&done=locked"
    assert first.text == ""
    assert set(codes[locked:]) == {401}
    assert [r["action"] for r in audit_of(pars, "defender1")].count("session:locked") == 1
    # The session is over for the user's own requests too; the sign-in page says why.
    r = defender.get("/docket", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=/docket")
    signin = defender.get(first.headers["HX-Redirect"])
    assert "Your session has ended (it locks after a time without use)" in signin.text


def test_the_users_own_action_keeps_the_session_open(
    screens: Screens, defender: TestClient
) -> None:
    assert {r.status_code for r in poll_for(screens, defender, 20)} == {200}
    assert defender.get("/docket").status_code == 200  # the user reloads: activity
    # 40 minutes after sign-in, 20 after the user's action: still open ...
    assert {r.status_code for r in poll_for(screens, defender, 20)} == {200}
    # ... and it locks 30 minutes after that action, however often the page polls.
    codes = [r.status_code for r in poll_for(screens, defender, 11)]
    assert 401 in codes and set(codes[: codes.index(401)]) == {200}


def test_an_htmx_request_without_the_mark_is_the_users(
    screens: Screens, defender: TestClient
) -> None:
    """A click that HTMX sends (HX-Request, no X-PARS-Refresh) is activity like a page view."""
    for _ in range(4):
        screens.clock.advance(timedelta(minutes=20))
        r = defender.get("/docket/cases", headers={"HX-Request": "true"})
        assert r.status_code == 200


def test_polls_that_show_nothing_new_write_no_audit_row(
    pars: Pars, api: Api, screens: Screens, defender: TestClient, backend: str
) -> None:
    before = audit_of(pars, "defender1")
    assert {r.status_code for r in poll_for(screens, defender, 5)} == {200}
    assert audit_of(pars, "defender1") == before  # 30 polls, not one row

    case = place(api)  # a new client on the session
    answers = poll_for(screens, defender, 1)
    assert all(case["otn"] in r.text for r in answers)
    new = audit_of(pars, "defender1")[len(before) :]
    # One row, naming the record the refresh showed for the first time, and its version.
    assert [(r["action"], r["subject"], r["outcome"]) for r in new] == [
        ("arrest:listed", case["id"], "success")
    ]
    assert new[0]["details"] == {"version": case["version"], "refresh": "auto", "screen": "docket"}
    assert {r.status_code for r in poll_for(screens, defender, 5)} == {200}
    assert len(audit_of(pars, "defender1")) == len(before) + 1

    # A new version of a case already shown is new to the defender as well.
    body = {
        "address": {"verified": True, "method": "phone", "detail": "spoke to his mother"},
        "recommendation": "monetary",
        "reasons": ["prior_failure_to_appear", "address_verified"],
    }
    r = api.as_("pretrial").post(f"/api/v1/arrests/{case['id']}/pretrial", json=body)
    assert r.status_code == 200, r.text
    poll_for(screens, defender, 1)
    newer = audit_of(pars, "defender1")[len(before) + 1 :]
    assert [(r["subject"], r["details"]["version"]) for r in newer] == [
        (case["id"], r.json()["version"])
    ]


def test_a_page_view_is_still_audited_as_a_listing(
    pars: Pars, api: Api, defender: TestClient
) -> None:
    place(api)
    before = len(audit_of(pars, "defender1"))
    assert defender.get("/docket").status_code == 200
    new = audit_of(pars, "defender1")[before:]
    assert [(r["action"], r["subject"], r["details"]) for r in new] == [
        ("arrest:listed", None, {"count": 1})
    ]


def test_a_page_without_javascript_reloading_itself_is_a_refresh(
    pars: Pars, api: Api, screens: Screens, defender: TestClient
) -> None:
    place(api)
    before = len(audit_of(pars, "defender1"))
    answers = poll_for(screens, defender, 31, every=30, path="/docket?refresh=auto", headers={})
    written = audit_of(pars, "defender1")[before:]
    assert [r["action"] for r in written] == ["arrest:listed", "session:locked"]  # the new case
    codes = [r.status_code for r in answers]
    assert set(codes[: codes.index(303)]) == {200}
    assert answers[codes.index(303)].headers["location"] == "/signin?next=/docket&done=locked"


def test_the_custody_board_polls_the_same_way(pars: Pars, api: Api, screens: Screens) -> None:
    arrest_in(api, "submitted")
    supervisor = screens.signed_in("supervisor")
    page = supervisor.get("/custody").text
    assert page.count('hx-headers=\'{"X-PARS-Refresh": "auto"}\' hx-disinherit="hx-headers"') == 1
    before = audit_of(pars, "supervisor1")
    later = arrest_in(api, "submitted")
    answers = poll_for(screens, supervisor, 31, every=60, path="/custody", headers=BOARD_POLL)
    codes = [r.status_code for r in answers]
    assert set(codes[: codes.index(401)]) == {200} and codes.index(401) >= 29
    assert later["otn"] in answers[0].text
    assert answers[codes.index(401)].headers["HX-Redirect"] == "/signin?next=/custody&done=locked"
    written = audit_of(pars, "supervisor1")[len(before) :]
    assert [(r["action"], r["subject"]) for r in written] == [
        ("arrest:listed", later["id"]),
        ("session:locked", None),
    ]


def test_a_poll_that_changes_state_is_not_automatic(
    screens: Screens, api: Api, defender: TestClient
) -> None:
    """Only GETs can be automatic: a form posted with the mark still counts as the user's."""
    clerk = screens.signed_in("clerk")
    case = arrest_in(api, "charged")
    for _ in range(2):
        screens.clock.advance(timedelta(minutes=20))
        page = clerk.get("/docket").text
    screens.clock.advance(timedelta(minutes=20))
    r = screens.post(
        clerk,
        f"/docket/{case['id']}/session",
        {"session_at": "2026-11-20T18:30"},
        page=page,
        headers={"X-PARS-Refresh": "auto"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    screens.clock.advance(timedelta(minutes=20))
    assert clerk.get("/docket", follow_redirects=False).status_code == 200
