"""The charging queue in a real browser: a prosecutor signs in, finds the oldest arrest, fixes
a mistyped amendment, charges the case, reads the complaint preview and downloads its PDF;
then declines another case. Every state axe-checked and photographed."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pypdf
import pytest
from playwright.sync_api import Page, expect

from pars.services import arrests as svc
from pars.services.app import Principal
from pars.services.inputs import ArrestIn
from tests.browser.conftest import LiveServer, assert_clean, axe, enrol_directly, shot, sign_in
from tests.factories import arrest_body

OFFICER = Principal("officer1", "officer")


def forget_refusal(page: Page) -> None:
    """Chromium logs a console error for every 4xx page, so also for the form re-rendered
    with its errors (status 422, on purpose); forget those, keep any other."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if "status of 422" not in e]


def _arrest(live: LiveServer, hours_ago: float, **body: Any) -> str:
    at = live.pars.clock.now() - timedelta(hours=hours_ago)
    data = ArrestIn.model_validate(arrest_body(arrested_at=at.isoformat(), **body))
    return svc.create_arrest(live.pars, OFFICER, data, submit=True).id


@pytest.fixture(scope="module")
def prosecutor(live_server: LiveServer) -> LiveServer:
    live_server.totp["prosecutor1"] = enrol_directly(live_server.pars, "prosecutor1")
    return live_server


def test_a_prosecutor_charges_the_oldest_arrest_and_downloads_the_complaint(
    page: Page, prosecutor: LiveServer
) -> None:
    live = prosecutor
    person = arrest_body()["person"] | {"last_name": "Okafor", "first_name": "Ada"}
    oldest = _arrest(live, 30, person=person)
    _arrest(live, 2, person=arrest_body()["person"] | {"last_name": "Brown", "first_name": "Li"})

    sign_in(page, live, "prosecutor1")
    page.wait_for_url("**/charging")  # the prosecutor's start screen
    expect(page.get_by_role("heading", name="Charging queue")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("Okafor, Ada")  # oldest first
    expect(rows.first).to_contain_text(re.compile(r"Deadline approaching: 1[78] hours"))
    expect(rows.nth(1)).to_contain_text(re.compile(r"Within the deadline: 1 day 2[12] hours"))
    axe(page)
    shot(page, "charging-queue")

    page.get_by_role("link", name="Okafor, Ada").click()
    page.wait_for_url(f"**/charging/{oldest}")
    expect(page.get_by_role("heading", name=re.compile("Okafor, Ada"))).to_be_visible()
    axe(page)
    shot(page, "charging-case")

    # Amend charge 2 with a mistyped statute: refused beside the field, nothing saved.
    page.locator("label[for=c2-amend]").click()  # USWDS styles the label, not the input
    expect(page.get_by_label("Amend charge 2")).to_be_checked()
    amend = page.locator("#c2-action details")
    if amend.get_attribute("open") is None:
        amend.locator("summary").click()
    page.locator("#c2-statute").fill("18 § 39211 §§ A")
    page.locator("#c2-counts").fill("1")
    page.get_by_role("button", name="Charge and file the complaint").click()
    expect(page.get_by_text(re.compile("Nothing was saved"))).to_be_visible()
    expect(page.locator("#c2-statute-error")).to_contain_text("unknown statute")
    axe(page)
    shot(page, "charging-error")
    forget_refusal(page)

    # Fix it with the keyboard and send the form from the field with Enter.
    page.get_by_role("link", name=re.compile("Charge 2, statute")).click()
    page.locator("#c2-statute").fill("18 § 3921 §§ A")
    page.get_by_label("Reason for this decision (optional)").nth(1).fill("one count on the video")
    page.locator("#c2-counts").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"^Charged\."))).to_be_visible()
    expect(page.get_by_role("heading", name="Criminal complaint")).to_be_visible()
    expect(page.get_by_text("Commonwealth of Pennsylvania v. Ada Q Okafor")).to_be_visible()
    axe(page)
    shot(page, "charging-complaint")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the complaint (PDF)").click()
    path = download.value.path()
    assert download.value.suggested_filename.startswith("complaint-")
    with open(path, "rb") as f:
        reader = pypdf.PdfReader(io.BytesIO(f.read()))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "CRIMINAL COMPLAINT" in text
    assert "Commonwealth of Pennsylvania v. Ada Q Okafor" in text
    assert "3921" in text and "prosecutor1" in text

    page.get_by_role("link", name="Next arrest in the queue").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr").first).to_contain_text("Brown, Li")
    assert_clean(page)


def test_a_prosecutor_declines_a_case_with_a_reason(page: Page, prosecutor: LiveServer) -> None:
    live = prosecutor
    person = arrest_body()["person"] | {"last_name": "Zimmer", "first_name": "Kai"}
    arrest = _arrest(live, 1, person=person)
    sign_in(page, live, "prosecutor1")
    page.goto(f"{live.url}/charging/{arrest}")
    page.get_by_role("button", name="Mark as in review by me").click()
    expect(page.get_by_text("In review by prosecutor1")).to_be_visible()
    page.get_by_role("button", name="Record the decision").click()  # no reason yet
    expect(page.locator("#close-reason-error")).to_contain_text("a reason is required")
    axe(page)
    forget_refusal(page)
    page.locator("label[for=close-divert]").click()
    page.get_by_label("Reason (required)").fill("first offence; diversion programme")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text(re.compile(r"^Diverted\."))).to_be_visible()
    expect(page.get_by_text("Reason: first offence; diversion programme")).to_be_visible()
    axe(page)
    shot(page, "charging-diverted")
    assert_clean(page)
