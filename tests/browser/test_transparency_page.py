"""The public /transparency page in a real browser, as a journalist would read it: no sign-in,
no script at all, dates in words, the agreements table within a 1366 px screen (no sideways
scroll; stacked on a tablet), an ended and a revoked agreement shown with nothing sent after
their end, axe-checked and photographed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from pars.crypto import KeyRing
from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.audit import checkpoint
from pars.services.delivery.feed import authenticate_partner, feed_page
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.inputs import ArrestIn
from tests.browser.conftest import DESKTOP, TABLET, LiveServer, assert_clean, axe, shot
from tests.conftest import KEYS
from tests.factories import OWNERS, active_agreement, arrest_body

OFFICER = Principal("officer1", "officer")
PSP = "Pennsylvania State Police"
ICE = "U.S. Immigration and Customs Enforcement"
LAB = "Penn Criminology Lab"


def _book(pars: Pars, n: int) -> None:
    at = (pars.clock.now() - timedelta(hours=2)).isoformat()
    for _ in range(n):
        svc.create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body(arrested_at=at)), True)


def _read_all(pars: Pars, key: str, limit: int = 100) -> None:
    feed_page(pars, authenticate_partner(pars, key), 0, limit)


@pytest.fixture(scope="module")
def published(live_server: LiveServer) -> LiveServer:
    """Three weeks of sharing, written on a clock that starts 20 days ago (same database): the
    state police in force throughout, a federal agency whose term ended after five days, a
    research lab revoked after two; arrests before and after those ends; a signed checkpoint."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    clock = FakeClock(start)
    pars = Pars(live_server.pars.settings, clock=clock, keys=KeyRing(KEYS))
    classes = ((PSP, "state_repository"), (ICE, "federal"), (LAB, "research"))
    keys = {name: ag.add_partner(pars, name, cls)[1] for name, cls in classes}
    term = {"starts_at": start - timedelta(days=1)}
    active_agreement(
        pars, PSP, granted=["case", "identity", "officer"],
        purpose="statewide criminal history record", ends_at=start + timedelta(days=300), **term,
    )  # fmt: skip
    active_agreement(
        pars, ICE, granted=["case"], purpose="detainer notifications",
        legal_basis="8 U.S.C. § 1357(g)", ends_at=start + timedelta(days=5), **term,
    )  # fmt: skip
    lab = active_agreement(
        pars, LAB, granted=["case"], purpose="bail outcomes study",
        legal_basis="research data use agreement 2026-7", ends_at=start + timedelta(days=200),
        **term,
    )  # fmt: skip
    _book(pars, 6)
    relay_once(pars)
    _read_all(pars, keys[PSP])
    _read_all(pars, keys[ICE])
    _read_all(pars, keys[LAB], limit=2)
    clock.advance(timedelta(days=2))
    ag.revoke(pars, OWNERS[1], lab)
    clock.advance(timedelta(days=8))
    withhold_ended(pars)
    _book(pars, 5)
    relay_once(pars)
    _read_all(pars, keys[PSP])
    clock.set(datetime.now(UTC))
    checkpoint(pars)
    pars.engine.dispose()
    return live_server


def _no_sideways_scroll(page: Page, width: int) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide at a {width} px window"


def test_a_journalist_reads_the_report(page: Page, published: LiveServer) -> None:
    page.set_viewport_size(DESKTOP)
    response = page.goto(f"{published.url}/transparency")
    assert response is not None and response.status == 200
    assert "script-src" not in response.headers["content-security-policy"]
    assert page.locator("script").count() == 0
    expect(page.get_by_role("heading", level=1)).to_contain_text("Data sharing transparency")
    expect(page.get_by_role("heading", name="In short")).to_be_visible()

    table = page.get_by_role("table", name="Every version of every data-sharing agreement")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    ice = rows.filter(has_text=ICE)
    expect(ice).to_contain_text("Ended")
    expect(ice).to_contain_text("Nothing sent after it ended")
    expect(ice).to_contain_text("its term ended")
    lab = rows.filter(has_text=LAB)
    expect(lab).to_contain_text("Revoked")
    expect(lab).to_contain_text("it was revoked")
    expect(rows.filter(has_text=PSP)).to_contain_text("In force")
    # Dates in words: "From November 12, 2026, 9:40 AM EST", never an ISO timestamp in the prose.
    term = ice.locator("td[data-label='Term']")
    expect(term).to_contain_text(", 20")
    assert not re.search(r"\d{4}-\d\d-\d\dT", term.inner_text())
    expect(page.get_by_text("For every one, the log shows")).to_be_visible()

    counts = page.get_by_role("table", name=f"Disclosures to {LAB} by month and kind of data")
    expect(counts).to_contain_text("fewer than 5")
    expect(
        page.get_by_role("img", name=f"Disclosures to {PSP} by month and kind of data")
    ).to_be_visible()
    expect(
        page.get_by_role("table", name="Items withheld from partners, by month")
    ).to_contain_text(LAB)
    expect(
        page.get_by_text("Items held back, never sent, because the agreement had ended")
    ).to_be_visible()
    expect(page.locator("#log")).to_be_visible()

    _no_sideways_scroll(page, DESKTOP["width"])
    header = table.locator("thead")
    expect(header).to_be_visible()  # a real table at 1366 px
    axe(page)
    page.set_viewport_size(TABLET)
    _no_sideways_scroll(page, TABLET["width"])
    expect(header).to_be_hidden()  # stacked: each agreement a block of labelled lines
    axe(page)
    page.set_viewport_size(DESKTOP)

    # Keyboard: the skip link first, then the section links.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the report")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="In short")).to_be_focused()
    shot(page, "transparency")
    assert_clean(page)
