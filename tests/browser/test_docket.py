"""The arraignment docket in a real browser: a magistrate signs in to the docket, opens the
oldest case on the session, records the arraignment with monetary bail mostly from the
keyboard, is told beside each field what to fix, then sees the docket number; a defender's
docket brings in a case placed on the session while the page is open. Every state axe-checked
and photographed at desktop and tablet width."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pars.domain.charging import ChargeAction
from pars.services import arrests as svc
from pars.services.app import Principal
from pars.services.inputs import (
    ArrestIn,
    ChargeDecisionIn,
    ChargingDecisionIn,
    PretrialIn,
    ScheduleIn,
)
from pars.services.views import get_arrest
from tests.browser.conftest import LiveServer, assert_clean, axe, enrol_directly, shot, sign_in
from tests.factories import arrest_body

OFFICER = Principal("officer1", "officer")
PROSECUTOR = Principal("prosecutor1", "prosecutor")
CLERK = Principal("clerk1", "clerk")
PRETRIAL = Principal("pretrial1", "pretrial")


def forget_refusal(page: Page) -> None:
    """Chromium logs a console error for every 4xx page, so also for the form re-rendered
    with its errors (status 422, on purpose); forget those, keep any other."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if "status of 422" not in e]


def charged(live: LiveServer, hours_ago: float, last: str, first: str) -> str:
    """A charged arrest (every charge approved), through the services."""
    at = live.pars.clock.now() - timedelta(hours=hours_ago)
    person: dict[str, Any] = arrest_body()["person"] | {"last_name": last, "first_name": first}
    data = ArrestIn.model_validate(arrest_body(arrested_at=at.isoformat(), person=person))
    arrest = svc.create_arrest(live.pars, OFFICER, data, submit=True)
    decisions = [
        ChargeDecisionIn(action=ChargeAction.APPROVE, charge_id=c.id) for c in arrest.charges
    ]
    svc.decide_charges(live.pars, PROSECUTOR, arrest.id, ChargingDecisionIn(charges=decisions))
    return arrest.id


def place(live: LiveServer, arrest_id: str, session_at: datetime) -> None:
    svc.schedule_arraignment(live.pars, CLERK, arrest_id, ScheduleIn(session_at=session_at))


@pytest.fixture(scope="module")
def court(live_server: LiveServer) -> LiveServer:
    for user in ("magistrate1", "defender1"):
        live_server.totp[user] = enrol_directly(live_server.pars, user)
    return live_server


def test_a_magistrate_arraigns_a_case_with_monetary_bail(page: Page, court: LiveServer) -> None:
    live = court
    session = live.pars.clock.now() - timedelta(minutes=30)  # the session has begun
    session_day = session.astimezone(live.pars.settings.zone).date()
    oldest = charged(live, 20, "Okafor", "Ada")
    place(live, oldest, session)
    place(live, charged(live, 3, "Brown", "Li"), session)
    data = PretrialIn.model_validate(
        {
            "address": {"verified": True, "method": "phone", "detail": "spoke to her sister"},
            "recommendation": "monetary",
            "reasons": ["prior_failure_to_appear"],
        }
    )
    svc.record_pretrial(live.pars, PRETRIAL, oldest, data)

    sign_in(page, live, "magistrate1")
    page.wait_for_url("**/docket")  # the magistrate's start screen
    expect(page.get_by_role("heading", name="Arraignment docket")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Next session:"))).to_be_visible()
    rows = page.locator("#docket-cases tbody tr")
    expect(rows.first).to_contain_text("Okafor, Ada")  # oldest arrest first
    expect(rows.first).to_contain_text("Monetary bail")
    expect(rows.first).to_contain_text(re.compile(r"Within the deadline: 1 day [34] hours"))
    expect(rows.nth(1)).to_contain_text("No interview recorded")
    axe(page)
    shot(page, "docket")

    page.get_by_role("link", name="Arraign Okafor, Ada").click()
    page.wait_for_url(f"**/docket/{oldest}")
    expect(page.get_by_role("heading", name="Record the arraignment")).to_be_visible()
    expect(page.get_by_text("Pretrial services recommends: Monetary bail.")).to_be_visible()
    hearing = page.locator("#preliminary_hearing_date")
    first, last = session_day + timedelta(days=3), session_day + timedelta(days=10)
    assert hearing.get_attribute("min") == first.isoformat()
    assert hearing.get_attribute("max") == last.isoformat()
    axe(page)
    shot(page, "docket-case")

    # From the keyboard: the names, probable cause, the bail type; the amount forgotten and a
    # hearing day too soon.
    page.locator("#magistrate").fill("")
    page.locator("#magistrate").focus()
    page.keyboard.type("ACM Lee")
    page.keyboard.press("Tab")
    page.keyboard.type("Defender Association")
    page.keyboard.press("Tab")
    page.keyboard.type("ADA Kim")
    page.keyboard.press("Tab")  # into the probable-cause group: its first radio
    page.keyboard.press("Space")
    expect(page.locator("#pc-yes")).to_be_checked()
    page.keyboard.press("Tab")  # into the bail group
    for _ in range(4):
        page.keyboard.press("ArrowDown")  # ROR, non-monetary, unsecured, nominal, monetary
    expect(page.locator("#bail-monetary")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#bail_amount")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("10")
    hearing.fill((session_day + timedelta(days=2)).isoformat())
    page.locator("#bail_deposit_percent").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile("Nothing was saved: 2 problems"))).to_be_visible()
    expect(page.locator("#bail_amount-error")).to_have_text(
        "Monetary bail needs an amount above $0"
    )
    expect(page.locator("#preliminary_hearing_date-error")).to_contain_text(
        "3 to 10 days after the arraignment"
    )
    expect(page.locator("#magistrate")).to_have_value("ACM Lee")  # what was typed is kept
    assert get_arrest(live.pars, CLERK, oldest)["state"] == "arraignment_scheduled"
    axe(page)
    shot(page, "docket-errors")
    forget_refusal(page)

    # Fix both: follow the summary's link to the amount, type it; pick a day in the window.
    page.get_by_role("link", name="Bail amount").click()
    expect(page.locator("#bail_amount")).to_be_focused()
    page.keyboard.type("$5,000")
    hearing.fill((session_day + timedelta(days=5)).isoformat())
    page.locator("#bail_amount").focus()
    page.keyboard.press("Enter")
    number = page.locator("#docket-number")
    expect(number).to_have_text(re.compile(r"^MC-51-CR-\d{7}-\d{4}$"))
    expect(
        page.get_by_text(re.compile(r"\$5,000\.00; deposit 10%: \$500\.00 to post"))
    ).to_be_visible()
    view = get_arrest(live.pars, CLERK, oldest)
    assert view["state"] == "arraigned"
    assert view["arraignment"]["docket_number"] == number.inner_text()
    bail = view["arraignment"]["bail"]
    assert (bail["type"], bail["amount"], bail["deposit_percent"]) == ("monetary", "5000", "10")
    assert (
        view["arraignment"]["preliminary_hearing_date"]
        == (session_day + timedelta(days=5)).isoformat()
    )
    axe(page)
    shot(page, "docket-arraigned")

    page.get_by_role("link", name="Back to the docket for the next case").click()
    page.wait_for_url("**/docket")
    expect(page.locator("#docket-cases tbody tr")).to_have_count(1)
    expect(page.locator("#docket-cases tbody tr").first).to_contain_text("Brown, Li")
    assert_clean(page)


def test_a_defenders_docket_brings_in_a_new_client(page: Page, court: LiveServer) -> None:
    live = court
    arrest = charged(live, 1, "Novak", "Mira")
    sign_in(page, live, "defender1")
    page.wait_for_url("**/docket")
    expect(page.get_by_role("heading", name="Arraignment docket")).to_be_visible()
    expect(page.get_by_text("Novak, Mira")).to_have_count(0)
    polls: list[dict[str, str]] = []
    page.on("request", lambda r: polls.append(r.headers) if "/docket/cases" in r.url else None)
    expect(page.get_by_role("link", name=re.compile("^Arraign [A-Z]"))).to_have_count(0)
    # The clerk places the case on the next session while the defender's page stays open.
    place(live, arrest, live.pars.clock.now() + timedelta(hours=2))
    row = page.locator("#docket-cases tbody tr", has_text="Novak, Mira")
    # The page asks every 10 seconds: this waits for the next ask (no reload).
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator(".pars-tag-new")).to_have_text("New")
    # htmx sent the poll marked as the page's own request (not the user's activity).
    assert polls and all(h.get("x-pars-refresh") == "auto" for h in polls), polls
    expect(page.get_by_role("heading", name="Arraignment docket")).to_be_visible()
    axe(page)
    shot(page, "docket-defender")
    assert_clean(page)
