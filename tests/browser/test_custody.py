"""The custody board in a real browser: a supervisor finds the person held longest, sees the
custody indicator, gets a field error in plain words, then releases; a clerk commits another
and finds them on the committed list. axe on every state, screenshots of each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from pars.services import arrests as svc
from pars.services.app import Principal
from pars.services.inputs import ArrestIn
from tests.browser.conftest import LiveServer, assert_clean, axe, enrol_directly, shot, sign_in
from tests.factories import arrest_body

OFFICER = Principal("officer1", "officer")


def _book(live: LiveServer, hours_ago: float, last: str, first: str) -> str:
    at = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    body = arrest_body(arrested_at=at)
    body["person"] = {**body["person"], "last_name": last, "first_name": first, "aliases": []}
    arrest = svc.create_arrest(live.pars, OFFICER, ArrestIn.model_validate(body), True)
    return arrest.id


def forget_expected_422(page: Page) -> None:
    """A refused form is answered 422 (so scripts and tests can tell), which Chromium logs as
    a failed load; that one is expected, any other console error still fails the test."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if "status of 422" not in e]


def test_release_and_commit_from_the_board(page: Page, live_server: LiveServer) -> None:
    for user in ("supervisor1", "clerk1"):
        live_server.totp[user] = enrol_directly(live_server.pars, user)
    _book(live_server, 3, "Newman", "Nora")
    _book(live_server, 30, "Oldfield", "Oscar")
    _book(live_server, 12, "Middleton", "Mia")

    sign_in(page, live_server, "supervisor1")
    page.wait_for_url("**/custody")  # the supervisor's start screen
    expect(page.get_by_role("heading", name="Custody board")).to_be_visible()
    names = page.locator("tbody th a").all_inner_texts()
    assert names == ["Oldfield, Oscar", "Middleton, Mia", "Newman, Nora"]  # longest held first
    expect(page.locator("tbody tr").first).to_contain_text("30 hours")
    expect(page.locator(".pars-indicator").first).to_have_text("HOLD")
    axe(page)
    shot(page, "custody-board")

    page.get_by_role("link", name="Oldfield, Oscar").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Oldfield, Oscar")).to_be_visible()
    expect(page.locator(".pars-authority__word")).to_have_text("HOLD")
    axe(page)
    shot(page, "custody-person")

    release = page.locator("form[action$='/release']")
    release.get_by_label("Reason").select_option(label="Other (say why in the note)")
    release.get_by_label("Note (optional)").fill("x" * 301)
    release.get_by_role("button", name="Release Oldfield, Oscar").click()
    expect(page.get_by_text("Custody was not changed")).to_be_visible()
    expect(release.locator("#release-note-error")).to_contain_text("at most 300 characters")
    axe(page)
    shot(page, "custody-error")
    forget_expected_422(page)

    release = page.locator("form[action$='/release']")
    release.get_by_label("Note (optional)").fill("Released on the DA's authority, ADA Kim")
    release.get_by_label("Note (optional)").press("Enter")
    expect(page.get_by_text("Released from custody.")).to_be_visible()
    expect(page.get_by_text("No custody change is possible now")).to_be_visible()
    axe(page)
    shot(page, "custody-released")
    page.get_by_role("link", name="Back to the custody board").click()
    expect(page.locator("tbody th a")).to_have_count(2)
    page.get_by_role("button", name="Sign out", exact=True).click()

    sign_in(page, live_server, "clerk1")
    page.goto(f"{live_server.url}/custody")
    page.get_by_role("link", name="Middleton, Mia").click()
    commit = page.locator("form[action$='/commit']")
    commit.get_by_label("Reason").select_option(label="Bail not posted")
    commit.get_by_role("button", name="Commit Middleton, Mia").click()
    expect(page.get_by_text("Committed to jail.")).to_be_visible()
    expect(page.locator("form[action$='/commit']")).to_have_count(0)
    axe(page)
    page.get_by_role("link", name="Back to the custody board").click()
    expect(page.locator("tbody th a")).to_have_text(["Middleton, Mia"])
    expect(page.get_by_role("link", name="Committed")).to_have_attribute("aria-current", "page")
    axe(page)
    shot(page, "custody-committed")
    assert_clean(page)
