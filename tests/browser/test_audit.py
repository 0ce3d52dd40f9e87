"""The audit screen in a real browser: an auditor signs in and lands on /audit, searches the log
for one arrest by its OTN with the keyboard, opens the arrest's disclosure history from a result,
comes back and verifies the log against the latest checkpoint (HTMX swaps the result in), and
gets a plain error beside the field for a record that is not one. axe on every state, no
sideways scroll at 1366 or 768 px, screenshots at desktop and tablet width."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pars.services import agreements as ag
from pars.services import arrests as svc
from pars.services.app import Principal
from pars.services.audit import checkpoint
from pars.services.delivery.feed import authenticate_partner, feed_page
from pars.services.delivery.relay import relay_once
from pars.services.inputs import ArrestIn
from tests.browser.conftest import (
    DESKTOP,
    TABLET,
    LiveServer,
    assert_clean,
    axe,
    enrol_directly,
    shot,
    sign_in,
)
from tests.factories import active_agreement, arrest_body

OFFICER = Principal("officer1", "officer")


def _book(live: LiveServer, hours_ago: float) -> Any:
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    data = ArrestIn.model_validate(arrest_body(arrested_at=at.isoformat()))
    return svc.create_arrest(live.pars, OFFICER, data, submit=True)


@pytest.fixture(scope="module")
def logged(live_server: LiveServer) -> dict[str, Any]:
    """A partner under an agreement has read two arrests from its feed; two checkpoints are
    signed, the latest after a third arrest."""
    live = live_server
    live.totp["auditor1"] = enrol_directly(live.pars, "auditor1")
    _, key = ag.add_partner(live.pars, "Pennsylvania State Police", "state_repository")
    now = datetime.now(UTC)
    term = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=300)}
    agreement = active_agreement(live.pars, "Pennsylvania State Police", **term)
    first, _ = _book(live, 5), _book(live, 3)
    relay_once(live.pars)
    feed_page(live.pars, authenticate_partner(live.pars, key), 0, 10)
    checkpoint(live.pars)
    _book(live, 1)
    latest = checkpoint(live.pars)
    return {"arrest": first, "agreement": agreement, "checkpoint": latest}


def _no_sideways_scroll(page: Page) -> None:
    for size in (DESKTOP, TABLET):
        page.set_viewport_size(size)
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll <= size["width"], (size, scroll)
    page.set_viewport_size(DESKTOP)


def forget_expected_4xx(page: Page) -> None:
    """A refused search is answered 422, which Chromium logs as a failed load; that one is
    expected, any other console error still fails the test."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if "status of 422" not in e]


def test_search_history_and_verify(
    page: Page, logged: dict[str, Any], live_server: LiveServer
) -> None:
    live = live_server
    arrest = logged["arrest"]
    sign_in(page, live, "auditor1")
    page.wait_for_url("**/audit")  # the auditor's start screen
    expect(page.get_by_role("heading", name="Audit", level=1)).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Jobs").get_by_role("link", name="Audit")
    ).to_have_attribute("aria-current", "page")
    expect(page.locator("table.audit-table tbody tr").first).to_be_visible()
    axe(page)
    _no_sideways_scroll(page)
    shot(page, "audit-log")

    # Search for one arrest by its OTN, with the keyboard.
    search = page.get_by_role("search")
    search.get_by_label("Record").fill(arrest.otn)
    search.get_by_label("Record").press("Enter")
    page.wait_for_url(f"**/audit?*record={arrest.otn}*")
    expect(page.get_by_text(f"Entries about arrest {arrest.otn}")).to_be_visible()
    results = page.locator("table.audit-table")
    expect(results).to_contain_text("disclosure:delivered")
    expect(results).to_contain_text("arrest:submitted")
    expect(results).not_to_contain_text("account:created")
    axe(page)
    _no_sideways_scroll(page)
    shot(page, "audit-search")

    # The delivery's row links to the arrest's disclosure history.
    delivered = results.locator("tr", has_text="disclosure:delivered")
    delivered.get_by_role("link", name="disclosures").click()
    page.wait_for_url("**/audit/history?record=*")
    expect(page.get_by_role("heading", name="Disclosure history of an arrest")).to_be_visible()
    history = page.get_by_role("table", name="Disclosures, oldest first")
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history).to_contain_text("Pennsylvania State Police")
    expect(history).to_contain_text(f"{logged['agreement'][:8]}…")
    expect(history).to_contain_text("Feed (the partner read it)")
    axe(page)
    _no_sideways_scroll(page)
    shot(page, "audit-history")

    # Back to the search; verify now.
    page.get_by_role("link", name="Back to the audit search").click()
    page.wait_for_url("**/audit")
    page.get_by_role("button", name="Verify now").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("Verified: the log is intact")
    cp = logged["checkpoint"]
    expect(result).to_contain_text(f"number {cp['id']}, the latest signed")
    expect(result).to_contain_text(cp["root_hash"])
    expect(result).to_contain_text(cp["key_id"])
    expect(result).to_contain_text("the latest extends it")
    assert page.url.endswith("/audit")  # swapped in place, no new page
    axe(page)
    _no_sideways_scroll(page)
    shot(page, "audit-verify")

    # A record that is not one: the reason beside the field.
    search = page.get_by_role("search")
    search.get_by_label("Record").fill("nonsense")
    search.get_by_role("button", name="Search").click()
    error = page.locator("#record-error")
    expect(error).to_contain_text("Enter an arrest or person id")
    expect(search.get_by_label("Record")).to_have_attribute("aria-invalid", "true")
    forget_expected_4xx(page)
    axe(page)
    shot(page, "audit-bad-record")
    assert_clean(page)
