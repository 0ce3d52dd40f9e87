"""The arraignment docket screen (magistrate, clerk, defender): the sessions' cases with the
charges as decided, the deadline, the complaint and the pretrial recommendation; placing cases
on a session; the arraignment through the API's own handler (bail of the five types, the
hearing window, probable cause), its docket number; roles, CSRF, bad input that changes
nothing; and the defender's docket bringing in a newly scheduled case by itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pars.domain.roles import Role
from pars.services.app import Pars, Principal
from pars.services.views import get_arrest
from tests.conftest import Api, rows
from tests.factories import arrest_body
from tests.web.helpers import arrest_in
from tests.web.screens import Screens, csrf

CLERK = Principal("clerk1", "clerk")
# The test clock stands at 2026-11-20 17:00 UTC, noon in Philadelphia: this session has begun.
SESSION = "2026-11-20T11:30:00-05:00"
READERS = {"magistrate", "clerk", "defender"}
# A monetary-bail arraignment, as the form is filled and as the API's JSON says it.
MONETARY_FORM = {
    "magistrate": "Arraignment Court Magistrate Lee",
    "defense_counsel": "Defender Association",
    "prosecutor": "ADA Kim",
    "probable_cause_found": "yes",
    "bail_type": "monetary",
    "bail_amount": "$5,000",
    "bail_deposit_percent": "10",
    "bail_conditions": "stay away from the complainant\n\nsurrender passport\n",
    "preliminary_hearing_date": "2026-11-27",
}
MONETARY_JSON = {
    "magistrate": "Arraignment Court Magistrate Lee",
    "defense_counsel": "Defender Association",
    "prosecutor": "ADA Kim",
    "probable_cause_found": True,
    "bail": {
        "type": "monetary",
        "amount": "5000",
        "deposit_percent": "10",
        "conditions": ["stay away from the complainant", "surrender passport"],
    },
    "preliminary_hearing_date": "2026-11-27",
}


@pytest.fixture
def screens(pars: Pars) -> Screens:
    return Screens(pars)


@pytest.fixture
def magistrate(screens: Screens) -> TestClient:
    return screens.signed_in("magistrate")


def record(pars: Pars, arrest_id: str) -> dict[str, Any]:
    return get_arrest(pars, CLERK, arrest_id)


def scheduled(api: Api, session_at: str = SESSION, **body: Any) -> dict[str, Any]:
    """A charged arrest placed on a session through the API (as the clerk)."""
    arrest = arrest_in(api, "charged", **body)
    r = api.as_("clerk").post(
        f"/api/v1/arrests/{arrest['id']}/arraignment-session", json={"session_at": session_at}
    )
    assert r.status_code == 200, r.text
    placed: dict[str, Any] = r.json()
    return placed


def interviewed(api: Api, arrest_id: str, recommendation: str = "monetary") -> None:
    body = {
        "address": {"verified": True, "method": "phone", "detail": "spoke to his mother"},
        "recommendation": recommendation,
        "reasons": ["prior_failure_to_appear", "address_verified"],
    }
    r = api.as_("pretrial").post(f"/api/v1/arrests/{arrest_id}/pretrial", json=body)
    assert r.status_code == 200, r.text


def person(last: str, first: str) -> dict[str, Any]:
    p: dict[str, Any] = arrest_body()["person"] | {"last_name": last, "first_name": first}
    return p


def post_arraignment(
    screens: Screens, client: TestClient, arrest_id: str, form: dict[str, Any]
) -> Any:
    page = client.get(f"/docket/{arrest_id}")
    assert page.status_code == 200, page.text
    return screens.post(client, f"/docket/{arrest_id}/arraignment", form, page=page.text)


def completed(pars: Pars) -> list[dict[str, Any]]:
    return [
        r
        for r in rows(pars, "audit_log")
        if r["action"] == "arraignment:completed" and r["outcome"] == "success"
    ]


# -- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_docket_page_against_every_role(api: Api, screens: Screens, role: str) -> None:
    on_session = scheduled(api)
    charged = arrest_in(api, "charged")
    b = screens.signed_in(role)
    reader = role in READERS
    for path in (
        "/docket",
        "/docket/cases",
        f"/docket/{on_session['id']}",
        f"/docket/{charged['id']}",
        f"/docket/{on_session['id']}/complaint.pdf",
    ):
        r = b.get(path)
        assert r.status_code == (200 if reader else 403), (path, r.status_code)
        if not reader:
            assert "not for the" in r.text
    # Only the magistrate arraigns; the clerk and the magistrate place cases on a session.
    r = screens.post(b, f"/docket/{on_session['id']}/arraignment", MONETARY_FORM)
    if role != "magistrate":
        assert r.status_code == 403, r.status_code
    r = screens.post(b, f"/docket/{charged['id']}/session", {"session_at": "2026-11-20T16:30"})
    assert r.status_code == (200 if role in ("clerk", "magistrate") else 403), r.status_code
    if role not in ("clerk", "magistrate"):
        assert record(screens.pars, charged["id"])["version"] == charged["version"]
    start = b.get("/", follow_redirects=False).headers["location"]
    assert (start == "/docket") == reader


def test_each_role_sees_only_the_actions_it_may_take(api: Api, screens: Screens) -> None:
    on_session = scheduled(api)
    arrest_in(api, "charged")
    pages = {
        role: (screens.signed_in(role).get("/docket").text, role)
        for role in ("magistrate", "clerk", "defender")
    }
    m, c, d = (pages[r][0] for r in ("magistrate", "clerk", "defender"))
    arraign_link = re.compile(r'class="usa-button[^"]*" href="/docket/[0-9a-f-]+">Arraign<')
    assert arraign_link.search(m) and not arraign_link.search(c) and not arraign_link.search(d)
    assert "Charged, waiting for a session" in m and "Charged, waiting for a session" in c
    assert "Charged, waiting for a session" not in d and "/session" not in d
    # Only the reader's docket refreshes itself (nothing on it to type into and lose).
    assert 'hx-trigger="every 10s"' in d
    assert "hx-trigger" not in m and "hx-trigger" not in c
    case = {r: screens.signed_in(r).get(f"/docket/{on_session['id']}").text for r in pages}
    assert 'action="/docket/' + on_session["id"] + '/arraignment"' in case["magistrate"]
    for r in ("clerk", "defender"):
        assert "/arraignment" not in case[r] and "Record the arraignment" not in case[r]
    assert "Move to another session" in case["clerk"]
    assert "Move to another session" not in case["defender"]


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
    api: Api, screens: Screens, magistrate: TestClient
) -> None:
    on_session = scheduled(api)
    charged = arrest_in(api, "charged")
    for path, data in (
        (f"/docket/{on_session['id']}/arraignment", MONETARY_FORM),
        (f"/docket/{charged['id']}/session", {"session_at": "2026-11-20T16:30"}),
    ):
        r = magistrate.post(path, data=data)
        assert r.status_code == 403 and "did not come from PARS" in r.text
        r = magistrate.post(path, data={**data, "csrf_token": "forged"})
        assert r.status_code == 403
    assert record(screens.pars, on_session["id"])["version"] == on_session["version"]
    assert record(screens.pars, charged["id"])["version"] == charged["version"]


# -- the list -------------------------------------------------------------------------------


def test_the_docket_lists_the_next_session_first_with_what_the_magistrate_needs(
    api: Api, screens: Screens, magistrate: TestClient
) -> None:
    later = scheduled(api, "2026-11-20T16:30:00-05:00", person=person("Later", "Lou"))
    old = scheduled(api, arrested_at="2026-11-19T01:00:00-05:00", person=person("Early", "Eve"))
    newer = scheduled(api, person=person("Next", "Ned"))
    interviewed(api, old["id"])
    amended = arrest_in(api, "submitted", person=person("Waits", "Wes"))
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{amended['id']}/charging-decision",
        json={
            "charges": [
                {"charge_id": 1, "action": "approve"},
                {"charge_id": 2, "action": "withdraw"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    html = magistrate.get("/docket").text
    # Sessions in order, the next first; in a session the oldest arrest first.
    assert html.index("Next session: <time") < html.index("Session: <time")
    assert "Friday, November 20, 2026, 11:30 AM EST" in html
    assert "(began 30 minutes ago)" in html and "(in 4 hours 29 minutes)" in html
    order = [html.index(f'/docket/{a["id"]}"') for a in (old, newer, later)]
    assert order == sorted(order)
    assert re.search(
        r'pars-deadline--soon">Deadline approaching: 1[23] hours( \d+ minutes?)? left<', html
    )
    assert "Wednesday" not in html and "Thursday, November 19, 2026, 1:00 AM EST" in html
    assert "1 day 11 hours ago" in html  # time since the arrest
    # The pretrial recommendation, the complaint, the charges as decided.
    assert 'Monetary bail<br><span class="pars-muted">Address verified (by phone)' in html
    assert html.count("No interview recorded") == 2
    assert f'href="/docket/{old["id"]}/complaint.pdf" download' in html
    assert "18 § 3921 §§ A Theft by Unlawful Taking - Movable Property (M1, 2 counts)" in html
    waiting = html[html.index("Charged, waiting for a session") :]
    assert "Waits, Wes" in waiting and "1 charge withdrawn" in waiting
    assert "18 § 3921" not in waiting  # the withdrawn charge is not among those decided
    assert "New</span>" in html  # placed on the session just now


def test_the_complaint_on_the_docket_is_the_charging_screens(
    api: Api, screens: Screens, magistrate: TestClient
) -> None:
    on_session = scheduled(api)
    r = magistrate.get(f"/docket/{on_session['id']}/complaint.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and r.headers["cache-control"] == "no-store"
    html = magistrate.get(f"/docket/{on_session['id']}").text
    assert "Criminal complaint" in html and "Commonwealth of Pennsylvania v. John Q Doe" in html
    actions = [r["action"] for r in rows(screens.pars, "audit_log") if r["actor"] == "magistrate1"]
    assert "complaint:downloaded" in actions and "complaint:previewed" in actions


# -- the arraignment ------------------------------------------------------------------------


def test_monetary_bail_is_recorded_as_the_api_records_it_and_the_docket_number_shown(
    api: Api, screens: Screens, magistrate: TestClient
) -> None:
    by_screen = scheduled(api)
    by_api = scheduled(api)
    interviewed(api, by_screen["id"])
    page = magistrate.get(f"/docket/{by_screen['id']}").text
    assert "Pretrial services recommends: Monetary bail." in page
    assert 'min="2026-11-23" max="2026-11-30"' in page  # 3 to 10 days after the session
    r = screens.post(magistrate, f"/docket/{by_screen['id']}/arraignment", MONETARY_FORM, page)
    assert r.status_code == 200, r.text
    assert r.url.path == f"/docket/{by_screen['id']}" and r.url.query == b"done=arraigned"
    screen_view = record(screens.pars, by_screen["id"])
    docket = screen_view["arraignment"]["docket_number"]
    assert re.fullmatch(r"MC-51-CR-\d{7}-2026", docket)
    assert f'id="docket-number">{docket}</p>' in r.text
    assert "$5,000.00; deposit 10%: $500.00 to post" in r.text
    assert "Friday, November 27, 2026" in r.text

    a = api.as_("magistrate").post(
        f"/api/v1/arrests/{by_api['id']}/arraignment", json=MONETARY_JSON
    )
    assert a.status_code == 200, a.text
    api_view = a.json()

    def same(view: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v
            for k, v in view["arraignment"].items()
            if k not in ("docket_number", "recorded_at")
        }

    assert same(screen_view) == same(api_view)
    assert same(screen_view)["bail"] == {
        "type": "monetary",
        "amount": "5000",
        "deposit_percent": "10",
        "deposit_due": "500.00",
        "conditions": ["stay away from the complainant", "surrender passport"],
    }
    assert screen_view["state"] == api_view["state"] == "arraigned"
    assert screen_view["custody_indicator"] == api_view["custody_indicator"] == "hold"
    done = completed(screens.pars)
    assert [(x["actor"], x["subject"]) for x in done] == [
        ("magistrate1", by_screen["id"]),
        ("magistrate1", by_api["id"]),
    ]
    events = [e["type"] for e in rows(screens.pars, "outbox")]
    assert events.count("pars.arraignment.completed") == 2
    # The case has left the docket's sessions.
    assert f'/docket/{by_screen["id"]}"' not in magistrate.get("/docket").text


@pytest.mark.parametrize(
    ("kind", "extra", "bail"),
    [
        ("ror", {}, {"type": "ror"}),
        (
            "non_monetary",
            {"bail_conditions": "report weekly"},
            {"type": "non_monetary", "conditions": ["report weekly"]},
        ),
        ("unsecured", {"bail_amount": "2500.50"}, {"type": "unsecured", "amount": "2500.50"}),
        ("nominal", {"bail_amount": "1"}, {"type": "nominal", "amount": "1"}),
    ],
)
def test_the_other_bail_types(
    api: Api,
    screens: Screens,
    magistrate: TestClient,
    kind: str,
    extra: dict[str, str],
    bail: dict[str, Any],
) -> None:
    arrest = scheduled(api)
    form = {
        "magistrate": "ACM Lee",
        "probable_cause_found": "yes",
        "bail_type": kind,
        "preliminary_hearing_date": "2026-11-30",
        **extra,
    }
    r = post_arraignment(screens, magistrate, arrest["id"], form)
    assert r.status_code == 200, r.text
    got = record(screens.pars, arrest["id"])["arraignment"]["bail"]
    assert {k: v for k, v in got.items() if v not in (None, [])} == bail


def test_no_probable_cause_dismisses_the_case_without_a_docket_number(
    api: Api, screens: Screens, magistrate: TestClient
) -> None:
    arrest = scheduled(api)
    form = {"magistrate": "ACM Lee", "probable_cause_found": "no", "bail_type": "none"}
    r = post_arraignment(screens, magistrate, arrest["id"], form)
    assert r.status_code == 200, r.text
    view = record(screens.pars, arrest["id"])
    assert view["state"] == "dismissed" and view["arraignment"]["docket_number"] is None
    assert view["arraignment"]["bail"] is None
    assert "Dismissed: probable cause was not found" in r.text
    assert "No docket number is assigned" in r.text


# Each: the form's changes, the field the error stands beside, and words in the error.
H = "preliminary_hearing_date"
NO_MONEY = dict.fromkeys(("bail_amount", "bail_deposit_percent", "bail_conditions"), "")
WINDOW = "Choose a day from Monday, November 23, 2026 to Monday, November 30, 2026: 3 to 10 "
BAD = [
    ({"probable_cause_found": ""}, "probable_cause_found", "Say whether probable cause was found"),
    ({"magistrate": ""}, "magistrate", "Write the magistrate's name"),
    ({"bail_type": ""}, "bail_type", "Choose the bail: probable cause was found"),
    ({"bail_type": "cash"}, "bail_type", "Choose one of the five bail types"),
    ({"bail_amount": ""}, "bail_amount", "Monetary bail needs an amount above $0"),
    ({"bail_amount": "0"}, "bail_amount", "Monetary bail needs an amount above $0"),
    ({"bail_amount": "five thousand"}, "bail_amount", "Write the amount in dollars"),
    ({"bail_amount": "10.005"}, "bail_amount", "Write the amount in dollars"),
    ({"bail_deposit_percent": "150"}, "bail_deposit_percent", "above 0 and at most 100"),
    ({"bail_type": "ror", "bail_deposit_percent": ""}, "bail_amount", "(ROR) has no amount"),
    ({"bail_type": "unsecured"}, "bail_deposit_percent", "Only monetary bail has a deposit"),
    ({"bail_type": "non_monetary"} | NO_MONEY, "bail_conditions", "at least one condition"),
    ({H: ""}, H, "Choose the preliminary hearing date, from Monday, November 23"),
    ({H: "2026-11-22"}, H, WINDOW + "days after the arraignment on Friday, November 20, 2026"),
    ({H: "2026-12-01"}, H, WINDOW),
    ({H: "27/11/2026"}, H, "Enter the date as a day"),
    ({"probable_cause_found": "no"}, "bail_type", "Bail is not set when probable cause is not"),
    ({"probable_cause_found": "no", "bail_type": "none"}, H, "No hearing is set when probable"),
    ({"defense_counsel": "x" * 101}, "defense_counsel", "at most 100 characters"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD)
def test_bad_input_stands_beside_its_field_and_nothing_is_written(
    api: Api,
    screens: Screens,
    magistrate: TestClient,
    change: dict[str, str],
    field: str,
    words: str,
) -> None:
    arrest = scheduled(api)
    r = post_arraignment(screens, magistrate, arrest["id"], MONETARY_FORM | change)
    assert r.status_code == 422, r.text
    m = re.search(rf'<span class="usa-error-message" id="{field}-error">([^<]*)</span>', r.text)
    assert m, r.text
    assert words.replace("'", "&#39;") in m.group(1), m.group(1)
    assert "Nothing was saved" in r.text and f'href="#{field}"' in r.text
    assert "usa-form-group--error" in r.text or field in ("probable_cause_found", "bail_type")
    # What was typed is kept, and nothing was written.
    assert 'value="Arraignment Court Magistrate Lee"' in r.text or field == "magistrate"
    view = record(screens.pars, arrest["id"])
    assert view["version"] == arrest["version"] and view["state"] == "arraignment_scheduled"
    assert completed(screens.pars) == []
    assert "pars.arraignment.completed" not in [e["type"] for e in rows(screens.pars, "outbox")]


def test_a_session_not_yet_held_cannot_be_recorded(
    api: Api, screens: Screens, magistrate: TestClient
) -> None:
    arrest = scheduled(api, "2026-11-20T16:30:00-05:00")
    page = magistrate.get(f"/docket/{arrest['id']}").text
    assert "This session has not begun yet" in page
    r = screens.post(magistrate, f"/docket/{arrest['id']}/arraignment", MONETARY_FORM, page)
    assert r.status_code == 422
    assert "The session has not begun yet: the arraignment is recorded once it is held" in r.text
    assert record(screens.pars, arrest["id"])["version"] == arrest["version"]


def test_an_arraigned_case_cannot_be_arraigned_again(
    api: Api, screens: Screens, magistrate: TestClient
) -> None:
    arrest = scheduled(api)
    page = magistrate.get(f"/docket/{arrest['id']}").text  # the form, before someone else
    r = api.as_("magistrate").post(
        f"/api/v1/arrests/{arrest['id']}/arraignment", json=MONETARY_JSON
    )
    assert r.status_code == 200
    version = r.json()["version"]
    r = screens.post(magistrate, f"/docket/{arrest['id']}/arraignment", MONETARY_FORM, page)
    assert r.status_code == 409 and "The arraignment was not recorded" in r.text
    assert "Record the arraignment" not in r.text  # the page now shows the record
    assert record(screens.pars, arrest["id"])["version"] == version


# -- placing cases on a session -------------------------------------------------------------


def test_the_clerk_places_a_charged_case_on_a_session(api: Api, screens: Screens) -> None:
    clerk = screens.signed_in("clerk")
    charged = arrest_in(api, "charged", person=person("Placed", "Pat"))
    page = clerk.get("/docket").text
    assert f'id="session-{charged["id"]}"' in page and 'value="2026-11-20T13:00"' in page
    r = screens.post(clerk, f"/docket/{charged['id']}/session", {"session_at": "2026-11-20T16:30"})
    assert r.status_code == 200
    assert "Placed, Pat is on the session of Friday, November 20, 2026, 4:30 PM EST." in r.text
    view = record(screens.pars, charged["id"])
    assert view["state"] == "arraignment_scheduled"
    assert view["arraignment_session"]["session_at"] == "2026-11-20T21:30:00+00:00"
    assert view["arraignment_session"]["scheduled_by"] == "clerk1"
    # Moved to another session from the case page.
    page = clerk.get(f"/docket/{charged['id']}").text
    assert 'value="2026-11-20T16:30"' in page
    data = {"session_at": "2026-11-20T20:30", "from": "case"}
    r = screens.post(clerk, f"/docket/{charged['id']}/session", data, page)
    assert (
        r.status_code == 200
        and "On the session of Friday, November 20, 2026, 8:30 PM EST" in r.text
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "Enter the session&#39;s date and time"),
        ("tomorrow", "like 11/20/2026 04:30 PM"),
        ("2026-11-19T08:00", "The session cannot be before the arrest"),
    ],
)
def test_a_bad_session_time_stands_beside_its_field(
    api: Api, screens: Screens, value: str, words: str
) -> None:
    clerk = screens.signed_in("clerk")
    charged = arrest_in(api, "charged")
    r = screens.post(clerk, f"/docket/{charged['id']}/session", {"session_at": value})
    assert r.status_code == 422
    assert f'<span class="usa-error-message" id="session-{charged["id"]}-error">' in r.text
    assert words in r.text and f'value="{value}"' in r.text
    assert record(screens.pars, charged["id"])["version"] == charged["version"]


# -- the defender ---------------------------------------------------------------------------


def test_the_defender_sees_a_newly_scheduled_client_on_the_next_refresh(
    api: Api, screens: Screens
) -> None:
    defender = screens.signed_in("defender")
    clerk = screens.signed_in("clerk")
    charged = arrest_in(api, "charged", person=person("Client", "Cleo"))
    page = defender.get("/docket").text
    assert "Client, Cleo" not in page and "No case is on an arraignment session" in page
    assert 'hx-get="/docket/cases" hx-trigger="every 10s" hx-swap="outerHTML"' in page
    assert '<noscript><meta http-equiv="refresh"' in page  # without JavaScript: a reload
    r = screens.post(clerk, f"/docket/{charged['id']}/session", {"session_at": "2026-11-20T16:30"})
    assert r.status_code == 200
    fragment = defender.get("/docket/cases", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    text = fragment.text
    assert text.startswith('<div id="docket-cases" hx-get="/docket/cases"')  # polls on
    assert "Client, Cleo" in text and 'pars-tag-new">New</span>' in text
    assert "Placed on the session less than a minute ago" in text
    assert "1 case, 1 placed on it in the last hour (marked New)." in text
    assert csrf(defender.get("/home").text)  # still signed in, and the fragment has no form
    assert "<form" not in text
