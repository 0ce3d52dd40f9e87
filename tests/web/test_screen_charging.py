"""The charging queue screen (prosecutor): the queue against the arraignment deadline, the
decision per charge, decline and divert, the complaint preview and PDF; roles, CSRF, and bad
input that changes nothing."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdf
import pytest
from fastapi.testclient import TestClient

from pars.domain.roles import Role
from pars.services.app import Pars, Principal
from pars.services.views import get_arrest
from pars.web.screens.words import deadline, duration, when
from tests.conftest import Api, rows
from tests.web.helpers import arrest_in
from tests.web.screens import Screens, csrf

PROSECUTOR = Principal("prosecutor1", "prosecutor")
THREE = [
    {"statute": "18 § 2701 §§ A1", "grade": "M2"},
    {"statute": "18 § 3921 §§ A", "counts": 2},
    {"statute": "18 § 5503 §§ A1"},
]


@pytest.fixture
def screens(pars: Pars) -> Screens:
    return Screens(pars)


@pytest.fixture
def prosecutor(screens: Screens) -> TestClient:
    return screens.signed_in("prosecutor")


def record(pars: Pars, arrest_id: str) -> dict[str, Any]:
    return get_arrest(pars, PROSECUTOR, arrest_id)


def post_decision(
    screens: Screens, client: TestClient, arrest_id: str, data: dict[str, Any]
) -> Any:
    page = client.get(f"/charging/{arrest_id}")
    assert page.status_code == 200, page.text
    return screens.post(client, f"/charging/{arrest_id}/decision", data, page=page.text)


def test_deadline_levels_and_words() -> None:
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert deadline(at, at + timedelta(hours=2), 48).level == "ok"
    assert deadline(at, at + timedelta(hours=24), 48).level == "soon"
    near = deadline(at, at + timedelta(hours=40), 48)
    assert near.level == "near" and near.label == "Deadline near: 8 hours left"
    past = deadline(at, at + timedelta(hours=49, minutes=5), 48)
    assert past.level == "past" and past.label == "Past the deadline by 1 hour 5 minutes"
    assert duration(timedelta(days=2, hours=3, minutes=4)) == "2 days 3 hours"
    assert duration(timedelta(minutes=1)) == "1 minute"
    from zoneinfo import ZoneInfo

    assert when(at, ZoneInfo("America/New_York")) == "Friday, November 20, 2026, 7:00 AM EST"


def test_the_queue_lists_waiting_arrests_oldest_first_against_the_deadline(
    api: Api, screens: Screens, prosecutor: TestClient
) -> None:
    # The test clock stands at 2026-11-20 17:00 UTC (noon in Philadelphia).
    recent = arrest_in(api, "submitted", arrested_at="2026-11-20T09:30:00-05:00")
    near = arrest_in(api, "submitted", arrested_at="2026-11-19T00:00:00-05:00")
    past = arrest_in(api, "submitted", arrested_at="2026-11-18T06:00:00-05:00")
    charged = arrest_in(api, "charged")
    draft = arrest_in(api, "draft")
    r = prosecutor.get("/charging")
    assert r.status_code == 200, r.text
    html = r.text
    positions = [html.index(f"/charging/{a['id']}") for a in (past, near, recent)]
    assert positions == sorted(positions)  # oldest arrest first
    assert f"/charging/{charged['id']}" not in html and f"/charging/{draft['id']}" not in html
    assert "within 48 hours of the arrest" in html
    # Signing in moved the clock on by a few seconds, hence the minutes in the labels.
    assert re.search(r'pars-deadline--past">Past the deadline by 6 hours<', html)
    assert re.search(r'pars-deadline--near">Deadline near: 11 hours 59 minutes left<', html)
    assert re.search(r'pars-deadline--ok">Within the deadline: 1 day 21 hours left<', html)
    assert "Wednesday, November 18, 2026, 6:00 AM EST" in html
    assert "2 days 6 hours ago" in html


@pytest.mark.parametrize("settings_overrides", [{"arraignment_deadline_hours": 4}])
def test_the_deadline_is_the_jurisdictions_setting(
    api: Api, prosecutor: TestClient, settings_overrides: dict[str, Any]
) -> None:
    arrest_in(api, "submitted", arrested_at="2026-11-20T09:30:00-05:00")
    html = prosecutor.get("/charging").text
    assert "within 4 hours of the arrest" in html
    assert 'pars-deadline--soon">Deadline approaching: 1 hour 29 minutes left' in html


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_charging_page_against_every_role(api: Api, screens: Screens, role: str) -> None:
    waiting = arrest_in(api, "submitted")
    charged = arrest_in(api, "charged")
    b = screens.signed_in(role)
    allowed = role == "prosecutor"
    for path in (
        "/charging",
        f"/charging/{waiting['id']}",
        f"/charging/{charged['id']}",
        f"/charging/{charged['id']}/complaint.pdf",
    ):
        r = b.get(path)
        assert r.status_code == (200 if allowed else 403), (path, r.status_code)
        if not allowed:
            assert "not for the" in r.text
    if not allowed:  # the prosecutor's posts are the tests below
        for path in (f"/charging/{waiting['id']}/decision", f"/charging/{waiting['id']}/review"):
            r = screens.post(b, path, {"outcome": "decline", "reason": "x"})
            assert r.status_code == 403, (path, r.status_code)
        assert record(screens.pars, waiting["id"])["version"] == waiting["version"]
    start = b.get("/", follow_redirects=False).headers["location"]
    assert (start == "/charging") == allowed


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
    api: Api, screens: Screens, prosecutor: TestClient
) -> None:
    arrest = arrest_in(api, "submitted")
    ids = [c["id"] for c in arrest["charges"]]
    form = {"outcome": "charge", "charge_id": [str(i) for i in ids]}
    form |= {f"c{i}-action": "approve" for i in ids}
    for path, data in (
        (f"/charging/{arrest['id']}/decision", form),
        (f"/charging/{arrest['id']}/review", {}),
    ):
        r = prosecutor.post(path, data=data)
        assert r.status_code == 403 and "did not come from PARS" in r.text
        r = prosecutor.post(path, data={**data, "csrf_token": "forged"})
        assert r.status_code == 403
    assert record(screens.pars, arrest["id"])["version"] == arrest["version"]


def test_charge_each_charge_then_preview_and_download_the_complaint(
    api: Api, screens: Screens, prosecutor: TestClient
) -> None:
    arrest = arrest_in(api, "submitted", charges=THREE)
    aid = arrest["id"]
    c1, c2, c3 = (c["id"] for c in arrest["charges"])
    page = prosecutor.get(f"/charging/{aid}")
    assert "Charge and file the complaint" in page.text
    assert 'name="c1-action" value="approve" checked' in page.text
    r = screens.post(
        prosecutor,
        f"/charging/{aid}/decision",
        {
            "outcome": "charge",
            "charge_id": [str(c1), str(c2), str(c3)],
            f"c{c1}-action": "approve",
            f"c{c2}-action": "amend",
            f"c{c2}-statute": "18 § 3921 §§ A",
            f"c{c2}-grade": "M2",
            f"c{c2}-counts": "1",
            f"c{c2}-description": "",
            f"c{c3}-action": "withdraw",
            # Amendment fields of a charge not amended are ignored, as the API needs.
            f"c{c3}-statute": "18 § 5503 §§ A1",
            f"c{c3}-reason": "no independent witness",
            "add0-statute": "18 § 907 §§ A",
            "add1-statute": "",
            "notes": "Reviewed with the arresting officer.",
        },
        page=page.text,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/charging/{aid}?done=charge"
    after = record(screens.pars, aid)
    assert after["state"] == "charged"
    assert after["charging"]["decided_by"] == "prosecutor1"
    assert after["charging"]["notes"] == "Reviewed with the arresting officer."
    by_id = {c["id"]: c for c in after["charges"]}
    assert by_id[c1]["decision"] == "approve"
    assert by_id[c2]["decision"] == "amend" and by_id[c2]["grade"] == "M2"
    assert by_id[c2]["counts"] == 1 and by_id[c2]["recommended"]["counts"] == 2
    assert by_id[c3]["decision"] == "withdraw"
    assert by_id[c3]["decision_reason"] == "no independent witness"
    added = [c for c in after["charges"] if c["origin"] == "prosecutor"]
    assert len(added) == 1 and added[0]["decision"] == "add" and "907" in added[0]["statute"]
    audit = [x for x in rows(screens.pars, "audit_log") if x["action"] == "charging:decided"]
    assert audit[-1]["actor"] == "prosecutor1" and audit[-1]["outcome"] == "success"

    done = prosecutor.get(r.headers["location"])
    assert done.status_code == 200
    assert "Charged." in done.text and "Criminal complaint" in done.text
    assert "Commonwealth of Pennsylvania v. John Q Doe" in done.text
    assert f'href="/charging/{aid}/complaint.pdf"' in done.text
    assert "Charge and file the complaint" not in done.text  # decided: no form
    assert any(x["action"] == "complaint:previewed" for x in rows(screens.pars, "audit_log"))

    pdf = prosecutor.get(f"/charging/{aid}/complaint.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store"
    assert pdf.headers["content-disposition"] == (
        f'attachment; filename="complaint-{arrest["otn"]}.pdf"'
    )
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Commonwealth of Pennsylvania v. John Q Doe" in text
    assert "prosecutor1" in text
    api_pdf = api.as_("prosecutor").get(f"/api/v1/arrests/{aid}/complaint.pdf")
    api_text = "\n".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(api_pdf.content)).pages
    )
    assert api_text == text  # the same document as the API's
    downloads = [
        x for x in rows(screens.pars, "audit_log") if x["action"] == "complaint:downloaded"
    ]
    assert downloads[0]["actor"] == "prosecutor1"


@pytest.mark.parametrize("outcome", ["decline", "divert"])
def test_decline_or_divert_with_a_reason(
    api: Api, screens: Screens, prosecutor: TestClient, outcome: str
) -> None:
    arrest = arrest_in(api, "submitted")
    r = post_decision(
        screens, prosecutor, arrest["id"], {"outcome": outcome, "reason": "insufficient evidence"}
    )
    assert r.status_code == 200 and r.url.path == f"/charging/{arrest['id']}", r.text
    after = record(screens.pars, arrest["id"])
    assert after["state"] == {"decline": "declined", "divert": "diverted"}[outcome]
    assert after["charging"]["reason"] == "insufficient evidence"
    assert after["custody_indicator"] == "release"
    assert "Reason: insufficient evidence" in r.text and "Criminal complaint" not in r.text


def test_open_the_review_marks_the_arrest_as_taken(
    api: Api, screens: Screens, prosecutor: TestClient
) -> None:
    arrest = arrest_in(api, "submitted")
    page = prosecutor.get(f"/charging/{arrest['id']}").text
    assert "Mark as in review by me" in page
    r = screens.post(prosecutor, f"/charging/{arrest['id']}/review", page=page)
    assert r.status_code == 200 and "In review by prosecutor1" in r.text
    assert record(screens.pars, arrest["id"])["state"] == "charging_review"
    assert "In review by prosecutor1" in prosecutor.get("/charging").text


def _field_error(html: str, field: str) -> str:
    m = re.search(rf'<span class="usa-error-message" id="{re.escape(field)}-error">([^<]*)<', html)
    assert m, f"no error beside {field}"
    return m.group(1)


def test_bad_input_shows_the_error_beside_its_field_and_changes_nothing(
    api: Api, screens: Screens, prosecutor: TestClient
) -> None:
    arrest = arrest_in(api, "submitted")
    aid = arrest["id"]
    c1, c2 = (c["id"] for c in arrest["charges"])
    before = record(screens.pars, aid)
    ids = [str(c1), str(c2)]
    cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {
                "charge_id": ids,
                f"c{c1}-action": "amend",
                f"c{c1}-statute": "99 § 1 §§ A",
                f"c{c2}-action": "approve",
            },
            f"c{c1}-statute",
            "unknown statute",
        ),
        (
            {
                "charge_id": ids,
                f"c{c1}-action": "approve",
                f"c{c2}-action": "amend",
                f"c{c2}-statute": "18 § 3921 §§ A",
                f"c{c2}-counts": "two",
            },
            f"c{c2}-counts",
            "enter the counts as a number",
        ),
        (
            {"charge_id": ids, f"c{c1}-action": "withdraw", f"c{c2}-action": "withdraw"},
            "charges",
            "every charge is withdrawn",
        ),
        (
            {"charge_id": ids, f"c{c1}-action": "approve", f"c{c2}-action": "sideways"},
            f"c{c2}-action",
            "Input should be",
        ),
        (
            {"charge_id": ids, f"c{c1}-action": "approve"},
            f"c{c2}-action",
            "choose approve, amend or withdraw",
        ),
        (
            {"charge_id": [str(c1)], f"c{c1}-action": "approve"},  # a charge the page lacked
            "charges",
            f"no decision for charge(s) {c2}",
        ),
        (
            {
                "charge_id": ids,
                f"c{c1}-action": "approve",
                f"c{c2}-action": "approve",
                "add0-statute": "not a statute",
            },
            "add0-statute",
            "unknown statute",
        ),
        ({"outcome": "decline", "reason": ""}, "close-reason", "a reason is required"),
        ({"outcome": "divert", "reason": "x" * 501}, "close-reason", "at most 500"),
    ]
    for data, field, words in cases:
        r = post_decision(screens, prosecutor, aid, {"outcome": "charge", **data})
        assert r.status_code == 422, (field, r.text)
        assert words in _field_error(r.text, field), (field, r.text)
        assert "Nothing was saved" in r.text and f'href="#{field}"' in r.text
        if field != "charges" and not field.endswith("-action"):  # inputs, not groups
            assert f'id="{field}-error"' in r.text and 'aria-invalid="true"' in r.text
        assert record(screens.pars, aid)["version"] == before["version"], field
    # What was typed is kept.
    r = post_decision(
        screens,
        prosecutor,
        aid,
        {
            "outcome": "charge",
            "charge_id": ids,
            f"c{c1}-action": "amend",
            f"c{c1}-statute": "99 § 1 §§ A",
            f"c{c2}-action": "withdraw",
        },
    )
    assert 'value="99 § 1 §§ A"' in r.text
    assert f'name="c{c2}-action" value="withdraw" checked' in r.text
    assert record(screens.pars, aid)["state"] == "submitted"


def test_a_decided_arrest_leaves_the_queue_and_cannot_be_decided_again(
    api: Api, screens: Screens, prosecutor: TestClient
) -> None:
    arrest = arrest_in(api, "charged")
    assert f"/charging/{arrest['id']}" not in prosecutor.get("/charging").text
    page = prosecutor.get(f"/charging/{arrest['id']}")
    assert "Charge and file the complaint" not in page.text
    r = screens.post(
        prosecutor,
        f"/charging/{arrest['id']}/decision",
        {"outcome": "decline", "reason": "late"},
        page=page.text,
    )
    assert r.status_code == 409 and "cannot decide charges" in r.text
    assert record(screens.pars, arrest["id"])["state"] == "charged"


def test_unknown_or_malformed_arrest_ids(prosecutor: TestClient) -> None:
    assert prosecutor.get("/charging/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12).status_code == 404
    assert prosecutor.get("/charging/not-an-id").status_code in (404, 422)


def test_the_queue_as_an_htmx_fragment(api: Api, prosecutor: TestClient) -> None:
    arrest_in(api, "submitted")
    r = prosecutor.get("/charging", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text and "Charging queue" in r.text
    assert csrf(prosecutor.get("/charging").text)
