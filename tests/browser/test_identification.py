"""The identification queue in a real browser: the supervisor compares an arrestee with a
person record side by side, is told to choose before deciding, links them; then merges two
records of one woman and undoes the merge. axe on every state, screenshots of each."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from pars.services import arrests as svc
from pars.services.app import Principal
from pars.services.identity_batch import dedupe
from pars.services.inputs import ArrestIn, IdentificationIn
from tests.browser.conftest import LiveServer, assert_clean, axe, enrol_directly, shot, sign_in
from tests.factories import arrest_body

OFFICER = Principal("officer1", "officer")
SUPERVISOR = Principal("supervisor1", "supervisor")


def _book(live: LiveServer, local_id: str | None = None, **person: Any) -> str:
    body = arrest_body()
    # "Doe" is a placeholder name, which the matcher reads as missing: a real surname here.
    body["person"] = {**body["person"], "last_name": "Dowd", "aliases": [], **person}
    arrest = svc.create_arrest(live.pars, OFFICER, ArrestIn.model_validate(body), True)
    if local_id:
        data = IdentificationIn.model_validate({"local_person_id": local_id})
        svc.identify(live.pars, SUPERVISOR, arrest.id, data)
    return arrest.id


def choose(page: Page, label: str) -> None:
    """Click a radio button's label, as a user does (USWDS moves the input off-screen)."""
    page.locator("label.usa-radio__label").filter(has_text=label).first.click()


def forget_expected_4xx(page: Page) -> None:
    """A refused form is answered 422 or 409, which Chromium logs as a failed load; expected."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if "status of 422" not in e and "status of 409" not in e]


def test_link_merge_and_undo(page: Page, live_server: LiveServer) -> None:
    live = live_server
    live.totp["supervisor1"] = enrol_directly(live.pars, "supervisor1")
    _book(live, "L1")
    _book(live, None, first_name="Jon", phone="215-555-0199")  # may be him: on the queue
    _book(live, "L7", last_name="Smith", first_name="Anna", date_of_birth="1985-06-01")
    _book(live, "L8", last_name="Smith", first_name="Ana", date_of_birth="1985-06-01")
    dedupe(live.pars, "test")

    sign_in(page, live, "supervisor1")
    page.get_by_role("link", name="Identification queue").click()
    expect(page.get_by_role("heading", name="Identification queue")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(2)
    axe(page)
    shot(page, "identification-queue")

    page.locator("tbody tr", has_text="Arrestee and a person record").get_by_role("link").click()
    expect(page.get_by_role("heading", name="The arrestee")).to_be_visible()
    expect(page.locator(".pars-id-side").nth(0)).to_contain_text("Dowd, Jon")
    expect(page.locator(".pars-id-side").nth(1)).to_contain_text("Dowd, John")
    expect(page.get_by_role("row", name=re.compile("^Phone"))).to_contain_text("Disagrees")
    expect(page.get_by_role("row", name=re.compile("^Date of birth"))).to_contain_text("Agrees")
    axe(page)
    shot(page, "identification-arrest")

    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("The decision was not recorded")).to_be_visible()
    expect(page.locator("#resolution-error")).to_have_text("Choose link, merge or reject")
    axe(page)
    shot(page, "identification-error")
    forget_expected_4xx(page)

    choose(page, "Link")
    page.get_by_role("button", name="Record the decision").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The arrest is linked to the person record.")).to_be_visible()
    expect(page.get_by_text("Decided: Linked by supervisor1")).to_be_visible()
    expect(page.get_by_role("button", name="Record the decision")).to_have_count(0)
    axe(page)
    shot(page, "identification-linked")

    page.get_by_role("link", name="Back to the identification queue").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Review item").click()
    expect(page.get_by_role("heading", name="Person record A")).to_be_visible()
    choose(page, "Merge")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("The two person records are merged.")).to_be_visible()
    axe(page)
    shot(page, "identification-merged")

    page.get_by_role("button", name="Undo the merge").click()
    expect(page.get_by_text("The merge is undone")).to_be_visible()
    expect(page.get_by_role("button", name="Undo the merge")).to_have_count(0)
    axe(page)
    shot(page, "identification-unmerged")
    page.get_by_role("link", name="Back to the identification queue").click()
    expect(page.get_by_text("The queue is empty")).to_be_visible()
    axe(page)
    assert_clean(page)
