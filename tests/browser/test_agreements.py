"""Agreements in a real browser: a privacy officer drafts one from the form, is told beside the
field why a staff field cannot be granted, fixes it, reads the field table, submits; two owners
approve it (the quorum shown as it fills) and it is active; the partner's deliveries page; a
YAML draft with an error. axe on every state, screenshots of each."""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.sync_api import Locator, Page, expect

from pars.services.agreements import add_partner
from tests.browser.conftest import (
    LiveServer,
    assert_clean,
    axe,
    enrol_directly,
    shot,
    sign_in,
    sign_out,
)


def forget_expected_422(page: Page) -> None:
    """A refused form is answered 422, which Chromium logs as a failed load; that one is
    expected, any other console error still fails the test."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if "status of 422" not in e]


def _local(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M")


def _tick(form: Locator, label: str) -> None:
    """USWDS draws its own box and moves the input off screen: the user clicks the label."""
    form.locator("label", has_text=label).click()
    expect(form.get_by_label(label)).to_be_checked()


def test_draft_refuse_fix_submit_approve(page: Page, live_server: LiveServer) -> None:
    live = live_server
    for user in ("privacy_officer1", "owner_district_attorney", "owner_courts"):
        live.totp[user] = enrol_directly(live.pars, user)
    add_partner(live.pars, "Pennsylvania State Police", "state_repository")
    zone = live.pars.settings.zone
    now = datetime.now(zone)

    sign_in(page, live, "privacy_officer1")
    page.wait_for_url("**/agreements")  # the privacy officer's start screen
    expect(page.get_by_role("heading", name="Data-sharing agreements")).to_be_visible()
    axe(page)
    shot(page, "agreements-list-empty")

    page.get_by_role("link", name="Draft an agreement").click()
    expect(page.get_by_role("heading", name="Draft an agreement")).to_be_visible()
    axe(page)
    shot(page, "agreements-new")
    form = page.locator("#agreement-form")
    form.get_by_label("Partner").select_option(label="Pennsylvania State Police (state repository)")
    form.get_by_label("Purpose").fill("statewide criminal history record")
    form.get_by_label("Legal basis").fill("18 Pa.C.S. 9112")
    _tick(form, "Arrest submitted")
    _tick(form, "Arraignment completed")
    _tick(form, "Case facts")
    form.get_by_label("Single fields it grants").fill("person.last_name\ncreated_by")
    form.get_by_label("Starts").fill(_local(now - timedelta(days=1)))
    form.get_by_label("Ends").fill(_local(now + timedelta(days=300)))
    form.get_by_role("button", name="Save the draft").click()

    expect(page.get_by_role("heading", name="The draft was not saved")).to_be_visible()
    expect(page.locator("#classes-error")).to_contain_text(
        "Staff usernames never leave PARS: created_by cannot be granted"
    )
    expect(form.get_by_label("Purpose")).to_have_value("statewide criminal history record")
    forget_expected_422(page)
    axe(page)
    shot(page, "agreements-draft-refused")

    page.get_by_role("link", name="What is granted: Staff usernames").click()  # the summary link
    form.get_by_label("Single fields it grants").fill("person.last_name")
    form.get_by_role("button", name="Save the draft").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The draft is saved")).to_be_visible()
    table = page.locator(".pars-field-table")
    expect(table.get_by_role("rowheader", name="person.last_name")).to_be_visible()
    expect(table.get_by_role("rowheader", name="otn", exact=True)).to_be_visible()
    expect(table.get_by_role("rowheader", name="person.first_name")).to_have_count(0)
    expect(table.get_by_role("rowheader", name="created_by")).to_have_count(0)
    expect(table).to_contain_text("Not sent at all")  # a juvenile's record
    axe(page)
    shot(page, "agreements-draft")
    detail = page.url.split("?")[0]

    page.get_by_role("button", name="Submit for the owners' approval").click()
    expect(page.get_by_text("Submitted for the owners' approval.")).to_be_visible()
    expect(page.locator(".pars-quorum")).to_contain_text("0 of the 2")
    axe(page)
    shot(page, "agreements-pending")
    sign_out(page)

    for n, owner in enumerate(("owner_district_attorney", "owner_courts"), start=1):
        sign_in(page, live, owner)
        page.wait_for_url("**/agreements")
        page.goto(detail)
        page.get_by_role("button", name="Approve for").click()
        expect(page.get_by_text("Your approval is recorded.")).to_be_visible()
        expect(page.locator(".pars-quorum")).to_contain_text(f"{n} of the 2")
        if n == 2:
            expect(page.locator(".pars-state").first).to_have_text("Active")
            expect(page.get_by_text("Data is being sent under this version now.")).to_be_visible()
            axe(page)
            shot(page, "agreements-active")
            page.get_by_role("link", name="Pennsylvania State Police", exact=True).click()
            expect(page.get_by_role("heading", name="Dead letters")).to_be_visible()
            expect(page.get_by_text("Nothing quarantined.")).to_be_visible()
            page.get_by_label("Show").select_option("dead")
            page.get_by_role("button", name="Show", exact=True).click()
            expect(page.get_by_role("combobox", name="Show")).to_have_value("dead")
            axe(page)
            shot(page, "agreements-partner")
            page.goto(f"{live.url}/agreements")
            expect(page.get_by_role("cell", name="Active")).to_be_visible()
            axe(page)
            shot(page, "agreements-list")
        sign_out(page)
    assert_clean(page)


def test_a_yaml_draft_with_a_mistake(page: Page, live_server: LiveServer) -> None:
    live = live_server
    if "privacy_officer1" not in live.totp:
        live.totp["privacy_officer1"] = enrol_directly(live.pars, "privacy_officer1")
    sign_in(page, live, "privacy_officer1")
    page.wait_for_url("**/agreements")
    page.goto(f"{live.url}/agreements/new#yaml")
    document = page.get_by_label("Agreement document (YAML)")
    document.fill(
        "partner: Nobody\npurpose: x\nlegal_basis: y\nevent_types: [pars.arrest.submitted]"
    )
    page.get_by_role("button", name="Save the draft from YAML").click()
    expect(page.locator("#document-error")).to_contain_text("Granted:")
    expect(page.locator("#document-error")).to_contain_text("Starts at: Enter the date and time")
    expect(document).to_have_value(
        "partner: Nobody\npurpose: x\nlegal_basis: y\nevent_types: [pars.arrest.submitted]"
    )
    forget_expected_422(page)
    axe(page)
    shot(page, "agreements-yaml-refused")
    assert_clean(page)
