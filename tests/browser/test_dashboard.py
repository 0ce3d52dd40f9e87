"""The operations dashboard in a real browser: a supervisor signs in, opens the dashboard from
the menu with the keyboard, and reads arrests per day, arrest-to-arraignment figures, the open
cases waiting longest, the queues and a partner's delivery lag, each chart beside its table;
no sideways scroll at 1366 px; axe-checked and photographed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from pars.services import agreements as ag
from pars.services import arrests as svc
from pars.services.app import Principal
from pars.services.delivery.feed import authenticate_partner, feed_page
from pars.services.delivery.relay import relay_once
from pars.services.inputs import ArraignmentIn, ArrestIn, ChargingDecisionIn
from tests.browser.conftest import (
    DESKTOP,
    LiveServer,
    assert_clean,
    axe,
    enrol_directly,
    shot,
    sign_in,
)
from tests.factories import active_agreement, arraignment_body, arrest_body

OFFICER = Principal("officer1", "officer")
PROSECUTOR = Principal("prosecutor1", "prosecutor")
MAGISTRATE = Principal("magistrate1", "magistrate")


def _book(live: LiveServer, hours_ago: float) -> str:
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    data = ArrestIn.model_validate(arrest_body(arrested_at=at.isoformat()))
    return svc.create_arrest(live.pars, OFFICER, data, submit=True).id


def _charge(live: LiveServer, arrest_id: str) -> None:
    with live.pars.reader() as uow:
        charges = [c.id for c in uow.arrests.get(arrest_id, lock=False).charges]
    decision = {"charges": [{"charge_id": c, "action": "approve"} for c in charges]}
    svc.decide_charges(
        live.pars, PROSECUTOR, arrest_id, ChargingDecisionIn.model_validate(decision)
    )


def _arraign(live: LiveServer, hours_ago: float, hours_to_arraignment: float) -> None:
    arrest_id = _book(live, hours_ago)
    _charge(live, arrest_id)
    session = datetime.now(UTC) - timedelta(hours=hours_ago - hours_to_arraignment)
    day = session.astimezone(live.pars.settings.zone).date()
    body = arraignment_body(
        session_at=session.isoformat(),
        preliminary_hearing_date=(day + timedelta(days=5)).isoformat(),
    )
    svc.arraign(live.pars, MAGISTRATE, arrest_id, ArraignmentIn.model_validate(body))


@pytest.fixture(scope="module")
def busy(live_server: LiveServer) -> LiveServer:
    """A fortnight's work: arrests on several days, eight arraigned after 3 to 40 hours, some
    open (one for three days), a partner that has read part of its feed."""
    live_server.totp["supervisor1"] = enrol_directly(live_server.pars, "supervisor1")
    _, key = ag.add_partner(live_server.pars, "Pennsylvania State Police", "state_repository")
    now = datetime.now(UTC)
    term = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=300)}
    active_agreement(live_server.pars, "Pennsylvania State Police", **term)
    taken = ((300, 6), (250, 14), (200, 9), (160, 22), (120, 3), (90, 40), (60, 12), (30, 18))
    for hours_ago, took in taken:
        _arraign(live_server, hours_ago, took)
    for hours_ago in (72, 20, 5, 1):
        _book(live_server, hours_ago)
    relay_once(live_server.pars)
    feed_page(live_server.pars, authenticate_partner(live_server.pars, key), 0, 6)
    return live_server


def test_a_supervisor_reads_the_dashboard(page: Page, busy: LiveServer) -> None:
    sign_in(page, busy, "supervisor1")
    page.wait_for_url(lambda url: "/signin" not in url)
    nav = page.get_by_role("navigation", name="Jobs")
    link = nav.get_by_role("link", name="Operations dashboard")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    expect(page.get_by_role("heading", name="Operations dashboard", level=1)).to_be_visible()
    expect(link).to_have_attribute("aria-current", "page")

    for name in (
        "Arrests per day",
        "Arrest to arraignment",
        "Queues now",
        "Delivery lag per partner",
    ):
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    assert page.locator("svg[role='img']").count() == 4
    cards = page.get_by_role("list", name="Key figures")
    # Eight arraigned after 3, 6, 9, 12, 14, 18, 22, 40 hours: median 13 hours, p90 40 hours.
    expect(cards).to_contain_text("13 hours")
    expect(cards).to_contain_text("1 day 16 hours")
    expect(cards).to_contain_text("0 of 8")
    slow = page.get_by_role("table", name="Not yet arraigned, longest since arrest first")
    expect(slow.locator("tbody tr")).to_have_count(4)
    expect(slow.locator("tbody tr").first).to_contain_text("over 48 hours")
    queues = page.get_by_role("table", name="Items in each queue")
    expect(queues.locator("tr", has_text="Charging queue")).to_contain_text("4")
    lag = page.get_by_role("table", name="Delivery lag per partner")
    expect(lag).to_contain_text("Pennsylvania State Police")
    expect(lag.locator("td[data-label='Delivered']")).to_have_text("6")

    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= DESKTOP["width"], scroll
    axe(page)
    shot(page, "dashboard")
    assert_clean(page)
