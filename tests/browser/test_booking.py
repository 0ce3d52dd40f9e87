"""Booking in a real browser: the officer books an arrest of a person already on record under a
misspelled name, picks the identity candidate, picks a charge from the suggestions with the
keyboard, is told of a wrong field beside it as the draft saves itself, reviews and submits,
and sees the OTN; the sent report prints without the menus. axe on every state; screenshots.

The test counts the keys pressed and the clicks it needed for this typical arrest (printed,
for bench/screens.py and docs/performance.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, Page, expect

from pars.services import arrests as svc
from pars.services.app import Principal
from pars.services.inputs import ArrestIn, IdentificationIn
from pars.services.views import list_arrests
from pars.store.arrests import ArrestFilter
from tests.browser.conftest import LiveServer, assert_clean, axe, enrol_directly, shot, sign_in
from tests.factories import arrest_body

OFFICER = Principal("officer1", "officer")
SUPERVISOR = Principal("supervisor1", "supervisor")


class Tally:
    """Keys pressed and clicks made, as an officer would make them."""

    def __init__(self, page: Page) -> None:
        self.page, self.keys, self.clicks = page, 0, 0

    def type(self, label: str, text: str) -> None:
        """Click into the field, then type `text` key by key."""
        self.click(self.page.get_by_label(label, exact=True))
        self.page.keyboard.type(text, delay=5)
        self.keys += len(text)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.keys += 1

    def click(self, locator: object) -> None:
        locator.click()  # type: ignore[attr-defined]
        self.clicks += 1


def _on_record(live: LiveServer) -> str:
    """John Doe's earlier arrest, identified by records staff: a person record with a state
    ID, and officer1's last report (whose badge, name and district the form reuses)."""
    at = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    body = arrest_body(arrested_at=at)
    arrest = svc.create_arrest(live.pars, OFFICER, ArrestIn.model_validate(body), True)
    linked = svc.identify(live.pars, SUPERVISOR, arrest.id, IdentificationIn(state_id="SID777"))
    person_id: str = linked.document["identification"]["person_id"]
    return person_id


def test_book_an_arrest(page: Page, live_server: LiveServer) -> None:
    live_server.totp["officer1"] = enrol_directly(live_server.pars, "officer1")
    person_id = _on_record(live_server)

    sign_in(page, live_server, "officer1")
    page.wait_for_url("**/booking")  # the officer's start screen
    expect(page.get_by_role("heading", name="Booking", exact=True)).to_be_visible()
    expect(page.get_by_text("You have no drafts.")).to_be_visible()
    axe(page)
    shot(page, "booking-list")

    t = Tally(page)
    t.click(page.get_by_role("link", name="Start a new arrest report"))
    page.wait_for_url("**/booking/new")
    expect(page.get_by_label("Badge number")).to_have_value("4512")
    expect(page.get_by_label("Police district")).to_have_value("6")
    expect(page.get_by_text("Type the last and first name")).to_be_visible()
    axe(page)

    # The person, misspelled: "Do, Jon". The record on file is Doe, John.
    t.type("Last name", "Do")
    t.press("Tab")
    page.keyboard.type("Jon", delay=5)
    t.keys += 3
    for _ in range(3):  # past the middle name and the suffix
        t.press("Tab")
    expect(page.get_by_label("Date of birth")).to_be_focused()
    page.keyboard.type("04021990", delay=5)
    t.keys += 8
    expect(page.get_by_label("Date of birth")).to_have_value("1990-04-02")
    candidate = page.locator(".pars-candidate").first
    expect(candidate).to_contain_text("Doe, John, born Monday, April 2, 1990")
    expect(candidate).to_contain_text("State ID SID777")
    t.click(candidate.get_by_text("Why this record"))
    expect(candidate.locator(".pars-candidate__why li").first).to_be_visible()
    axe(page)
    t.click(candidate.get_by_role("button", name="This is the person"))
    expect(page.get_by_label("State ID", exact=True)).to_have_value("SID777")
    expect(page.locator("#pick-summary")).to_contain_text("Picked: Doe, John")
    expect(candidate.get_by_role("button", name="This is the person")).to_have_attribute(
        "aria-pressed", "true"
    )
    # What the officer left empty comes from the earlier arrest, to be checked with the person.
    expect(page.get_by_label("Phone (optional)")).to_have_value("215-555-0100")
    expect(page.get_by_label("Home address (optional)")).to_have_value(
        "12 Elm St, Philadelphia PA 19107"
    )
    expect(page.get_by_label("Sex")).to_have_value("M")
    expect(page.locator("#prefill-note")).to_contain_text("check each with the arrestee")

    # A wrong value is told beside the field, in words, as the draft saves itself.
    t.type("Height in inches", "tall")
    t.press("Tab")
    expect(page.locator("#err-person-height_inches")).to_have_text(
        "Enter the height in inches, a whole number from 24 to 108"
    )
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    axe(page)
    page.get_by_label("Height in inches").fill("")
    t.click(page.get_by_label("Height in inches"))
    page.keyboard.type("70", delay=5)
    t.keys += 2 + 4  # select all + delete of "tall", as a user would clear it

    # A charge by words, picked from the suggestions with the keyboard: the grade is filled.
    t.type("Citation or words", "simple assault")
    suggestion = page.locator("#suggest-0 .pars-suggestion").first
    expect(suggestion).to_contain_text("2701")
    t.press("ArrowDown")
    expect(suggestion).to_be_focused()
    t.press("Enter")
    expect(page.get_by_label("Citation or words")).to_have_value("18 § 2701 §§ A1")
    expect(page.locator("#f-charges-0-grade")).not_to_have_value("")
    expect(page.get_by_label("Counts")).to_be_focused()

    t.type("Place of arrest", "1500 Market St")
    t.type(
        "Probable cause: what you saw and did (optional in a draft)",
        "Struck the complainant with a closed fist.",
    )
    t.press("Tab")
    expect(page.locator("#save-status")).to_contain_text("saved at")
    expect(page.locator("#err-person-height_inches")).to_have_text("")
    page.wait_for_url("**/booking/*-*")  # the draft's own address, for a reload or a resume
    axe(page)
    shot(page, "booking-form")

    t.click(page.get_by_role("button", name="Review and submit"))
    page.wait_for_url("**/review")
    expect(page.get_by_role("heading", name="Check the report, then submit it")).to_be_visible()
    expect(page.get_by_role("heading", name="Do, Jon")).to_be_visible()
    expect(page.locator(".pars-summary")).to_contain_text("SID777")
    expect(page.locator(".pars-summary__charges")).to_contain_text("18 § 2701 §§ A1")
    axe(page)
    shot(page, "booking-review")

    t.click(page.get_by_role("button", name="Submit: save and send"))
    page.wait_for_url("**/done")
    expect(page.get_by_role("heading", name="Arrest report sent")).to_be_visible()
    otn = page.locator("#otn").inner_text()
    assert otn.startswith("Q") and "-" in otn
    axe(page)
    shot(page, "booking-done")

    # Printed: the report without the menus and buttons.
    page.emulate_media(media="print")
    expect(page.locator(".pars-nav")).to_be_hidden()
    expect(page.locator(".pars-booking-actions")).to_be_hidden()
    expect(page.locator("#otn")).to_be_visible()
    page.emulate_media(media="screen")

    # The record, as the API holds it.
    (view,) = list_arrests(live_server.pars, OFFICER, ArrestFilter(otn=otn), 1, None)["items"]
    assert view["state"] == "submitted"
    assert view["person"]["last_name"] == "Do" and view["person"]["state_id"] == "SID777"
    assert view["person"]["height_inches"] == 70
    assert view["person"]["phone"] == "215-555-0100"  # filled in by the pick, saved
    assert [c["statute"] for c in view["charges"]] == ["18 § 2701 §§ A1"]
    # Records staff link it by that state ID: the same person record.
    linked = svc.identify(
        live_server.pars, SUPERVISOR, view["id"], IdentificationIn(state_id="SID777")
    )
    assert linked.document["identification"]["person_id"] == person_id

    t.click(page.get_by_role("link", name="Back to my reports"))
    expect(page.get_by_role("link", name="Do, Jon")).to_be_visible()
    # The autosaves made one draft, and it is the report sent: no draft is left behind.
    expect(page.get_by_text("You have no drafts.")).to_be_visible()
    drafts = list_arrests(live_server.pars, OFFICER, ArrestFilter(states=("draft",)), 5, None)
    assert drafts["items"] == []
    assert_clean(page)
    print(f"\nbooking: {t.keys} keys and {t.clicks} clicks for a typical arrest")


def test_without_javascript_the_form_saves_and_submits(
    browser: Browser, live_server: LiveServer
) -> None:
    live_server.totp["officer1"] = enrol_directly(live_server.pars, "officer1")
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, live_server, "officer1")
        page.goto(f"{live_server.url}/booking/new")
        # Filled from the officer's last report when there is one; typed when not.
        page.get_by_label("Police district").fill("6")
        page.get_by_label("Badge number").fill("4512")
        page.get_by_label("Officer's name").fill("Pat Officer")
        page.get_by_label("Last name", exact=True).fill("Roe")
        page.get_by_label("First name", exact=True).fill("Richard")
        page.get_by_label("Citation or words").fill("theft by unlawful")
        page.get_by_label("Place of arrest").fill("1 Penn Sq")
        page.get_by_role("button", name="Save draft").click()
        # Words are not a citation: the catalogue's matches are offered as buttons.
        expect(page.locator("#err-charges-0-statute")).to_contain_text("No charge in the catalogue")
        page.locator("#suggest-0 .pars-suggestion").first.click()
        expect(page.get_by_label("Citation or words")).to_have_value(re.compile(r"^18 § 3921"))
        page.get_by_role("button", name="Find matching person records").click()
        expect(page.locator("#candidates")).to_be_visible()
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_text("Draft saved.")).to_be_visible()
        page.get_by_role("button", name="Review and submit").click()
        page.get_by_role("button", name="Submit: save and send").click()
        expect(page.get_by_role("heading", name="Arrest report sent")).to_be_visible()
        expect(page.locator("#otn")).to_have_text(re.compile(r"^Q\d{6}-\d$"))
        # No axe here: with JavaScript off, page.evaluate never returns (the same pages are
        # checked with JavaScript on above).
    finally:
        context.close()
