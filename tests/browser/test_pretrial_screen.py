"""Pretrial interviews in a real browser: the pretrial officer opens the defendant not yet
interviewed, leaves a reason out and is told so beside the field, records the recommendation
with the keyboard, sees it on record and on the list. axe on every state, screenshots."""

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
    return svc.create_arrest(live.pars, OFFICER, ArrestIn.model_validate(body), True).id


def forget_expected_422(page: Page) -> None:
    """The refused form is answered 422, which Chromium logs as a failed load; expected."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if "status of 422" not in e]


def choose(page: Page, label: str) -> None:
    """Click a radio button's or checkbox's label, as a user does (USWDS draws the control on
    the label and moves the input itself off-screen)."""
    page.locator("label.usa-radio__label, label.usa-checkbox__label").filter(
        has_text=label
    ).first.click()


def test_record_a_recommendation(page: Page, live_server: LiveServer) -> None:
    live_server.totp["pretrial1"] = enrol_directly(live_server.pars, "pretrial1")
    _book(live_server, 2, "Parker", "Paula")
    _book(live_server, 9, "Quinn", "Quentin")

    sign_in(page, live_server, "pretrial1")
    page.wait_for_url("**/pretrial")  # pretrial's start screen
    expect(page.get_by_role("heading", name="Pretrial interviews")).to_be_visible()
    assert page.locator("tbody th a").all_inner_texts() == ["Quinn, Quentin", "Parker, Paula"]
    expect(page.get_by_text("2 defendants are still to be interviewed")).to_be_visible()
    axe(page)
    shot(page, "pretrial-list")

    page.get_by_role("link", name="Quinn, Quentin").click()
    expect(page.get_by_role("heading", name="Record the interview")).to_be_visible()
    expect(page.get_by_text("12 Elm St, Philadelphia PA 19107")).to_be_visible()
    axe(page)
    shot(page, "pretrial-form")

    choose(page, "Yes")
    choose(page, "By phone")
    page.get_by_label("Whom you spoke to, or which record (optional)").fill("his sister, Ann")
    choose(page, "Release on non-monetary conditions")
    page.get_by_role("button", name="Record the recommendation").click()
    expect(page.get_by_text("The interview was not recorded")).to_be_visible()
    expect(page.locator("#reasons-error")).to_have_text("Choose at least one reason")
    # What was entered is still there.
    expect(page.get_by_label("By phone")).to_be_checked()
    expect(page.get_by_label("Whom you spoke to, or which record (optional)")).to_have_value(
        "his sister, Ann"
    )
    axe(page)
    shot(page, "pretrial-error")
    forget_expected_422(page)

    page.get_by_role("link", name="Reasons: Choose at least one reason").click()
    page.get_by_label("Address verified", exact=True).focus()
    page.keyboard.press("Space")
    page.get_by_label("Employed or in school").focus()
    page.keyboard.press("Space")
    page.get_by_label("Note (required with the reason Other)").fill("Works nights at the port.")
    page.get_by_role("button", name="Record the recommendation").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The recommendation is recorded")).to_be_visible()
    current = page.locator(".pars-pretrial-current")
    expect(current).to_contain_text("Release on non-monetary conditions")
    expect(current).to_contain_text("Verified, by phone (his sister, Ann)")
    expect(current).to_contain_text("Address verified; Employed or in school")
    expect(
        page.get_by_role("heading", name="A new interview (replaces the one on record)")
    ).to_be_visible()
    axe(page)
    shot(page, "pretrial-recorded")

    page.get_by_role("link", name="Back to the pretrial list").click()
    expect(page.locator("tbody tr").first).to_contain_text(
        "Recommended: Release on non-monetary conditions"
    )
    expect(page.get_by_text("1 defendant is still to be interviewed")).to_be_visible()
    axe(page)
    shot(page, "pretrial-list-after")
    assert_clean(page)
