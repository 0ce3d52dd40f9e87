"""A whole shift in a real browser: one arrest through every job's screen, each step by a
different signed-in user in their role. An officer books it from the keyboard under a
misspelled name and picks the person already on record; pretrial services records its
recommendation; a prosecutor charges it and downloads the complaint; a magistrate places it
on the session that has begun and arraigns it with monetary bail; the clerk releases the
person when bail is posted. A court partner under an agreement then reads its feed over HTTP
and has received the arrest's events holding only what the agreement grants. Every page is
axe-checked and photographed; at the end the JSON API holds what the screens entered."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
import pypdf
from playwright.sync_api import Page, expect

from pars.domain.charging import ChargeAction
from pars.services import agreements as ag
from pars.services import arrests as svc
from pars.services.app import Principal
from pars.services.auth import issue_token
from pars.services.delivery.relay import relay_once
from pars.services.inputs import (
    ArraignmentIn,
    ArrestIn,
    ChargeDecisionIn,
    ChargingDecisionIn,
    CustodyIn,
    IdentificationIn,
    ScheduleIn,
)
from pars.sharing.fields import ARREST_FIELDS, FieldClass, field_paths
from tests.browser.conftest import (
    LiveServer,
    assert_clean,
    axe,
    enrol_directly,
    shot,
    sign_in,
    sign_out,
)
from tests.factories import active_agreement, arraignment_body, arrest_body

STAFF = ("officer1", "pretrial1", "prosecutor1", "magistrate1", "clerk1")
PARTNER = "Philadelphia Court of Common Pleas"
EVENTS = [
    "pars.arrest.submitted",
    "pars.pretrial.recommended",
    "pars.charging.decided",
    "pars.complaint.filed",
    "pars.arraignment.scheduled",
    "pars.arraignment.completed",
    "pars.custody.changed",
]
# The court's agreement: case facts, and of the person only the name and date of birth.
GRANTED_FIELDS = ("person.last_name", "person.first_name", "person.middle_name")
GRANTED = ["case", *GRANTED_FIELDS, "person.date_of_birth"]
# What the officer types that no partner of this agreement may receive.
WITHHELD = {
    "SSN": "123-45-6789",
    "place of birth": "Kingston, Jamaica",
    "home address": "12 Elm St",
    "phone": "215-555-0100",
    "victim": "Jane Roe",
    "narrative": "closed fist",
    "badge": "4512",
    "race": "White",
}


def _known_person(live: LiveServer) -> str:
    """John Q Doe's arrest 40 days ago, booked by another officer and taken through the
    services to his release on bail: a person record with state ID SID777. Returns its id."""
    pars, zone = live.pars, live.pars.settings.zone
    at = datetime.now(UTC) - timedelta(days=40)
    data = ArrestIn.model_validate(arrest_body(arrested_at=at.isoformat()))
    arrest = svc.create_arrest(pars, Principal("officer2", "officer"), data, True)
    linked = svc.identify(
        pars, Principal("supervisor1", "supervisor"), arrest.id, IdentificationIn(state_id="SID777")
    )
    decisions = [
        ChargeDecisionIn(action=ChargeAction.APPROVE, charge_id=c.id) for c in arrest.charges
    ]
    prosecutor = Principal("prosecutor1", "prosecutor")
    svc.decide_charges(pars, prosecutor, arrest.id, ChargingDecisionIn(charges=decisions))
    clerk = Principal("clerk1", "clerk")
    session = at + timedelta(hours=8)
    svc.schedule_arraignment(pars, clerk, arrest.id, ScheduleIn(session_at=session))
    hearing = session.astimezone(zone).date() + timedelta(days=5)
    body = arraignment_body(
        session_at=session.isoformat(), preliminary_hearing_date=hearing.isoformat()
    )
    magistrate = Principal("magistrate1", "magistrate")
    svc.arraign(pars, magistrate, arrest.id, ArraignmentIn.model_validate(body))
    release = CustodyIn.model_validate({"status": "released", "reason": "bail_posted"})
    svc.change_custody(pars, clerk, arrest.id, release)
    person_id: str = linked.document["identification"]["person_id"]
    return person_id


def _court_partner(live: LiveServer) -> str:
    """The court as a partner, with an agreement in force over the shift's events; its key."""
    _, key = ag.add_partner(live.pars, PARTNER, "court")
    now = datetime.now(UTC)
    active_agreement(
        live.pars,
        PARTNER,
        event_types=EVENTS,
        granted=GRANTED,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=365),
    )
    return key


def key_in(page: Page, field: str, text: str) -> None:
    """Go to a field (by its label, or `#id`) and type `text` into it key by key, as an
    officer does: date and time fields take their digits, a list takes the option's words."""
    target = page.locator(field) if field.startswith("#") else page.get_by_label(field, exact=True)
    target.focus()
    page.keyboard.type(text)


def press_on(page: Page, target: Any, key: str = "Enter") -> None:
    """Move to a button or a radio and press a key on it."""
    target.focus()
    page.keyboard.press(key)


def _us_date(d: date) -> str:
    return f"{d:%m%d%Y}"


def _book(page: Page, live: LiveServer, arrested: datetime) -> str:
    """The officer's report from the keyboard; returns the OTN the screen shows."""
    sign_in(page, live, "officer1")
    page.wait_for_url("**/booking")
    expect(page.get_by_role("heading", name="Booking", exact=True)).to_be_visible()
    axe(page)
    press_on(page, page.get_by_role("link", name="Start a new arrest report"))
    page.wait_for_url("**/booking/new")
    expect(page.get_by_role("heading", name="Arrest report")).to_be_visible()

    # The person, misspelled: "Do, Jon". The record on file is Doe, John Q.
    key_in(page, "Last name", "Do")
    key_in(page, "First name", "Jon")
    key_in(page, "Middle name (optional)", "Q")
    key_in(page, "Date of birth", "04021990")
    key_in(page, "Sex", "Male")
    key_in(page, "Race", "White")
    key_in(page, "Ethnicity", "Not Hispanic")
    key_in(page, "Home address (optional)", "12 Elm St, Philadelphia PA 19107")
    candidate = page.locator(".pars-candidate").first
    expect(candidate).to_contain_text("Doe, John")
    expect(candidate).to_contain_text("State ID SID777")
    press_on(page, candidate.locator("summary"))  # "Why this record"
    expect(candidate.locator(".pars-candidate__why li").first).to_be_visible()
    axe(page)
    press_on(page, candidate.get_by_role("button", name="This is the person"))
    expect(page.locator("#pick-summary")).to_contain_text("Picked: Doe, John")
    expect(page.get_by_label("State ID", exact=True)).to_have_value("SID777")

    # The phone left empty comes from the earlier arrest: the officer checks it, types nothing.
    expect(page.get_by_label("Phone (optional)")).to_have_value("215-555-0100")
    expect(page.locator("#prefill-note")).to_contain_text("check each with the arrestee")
    key_in(page, "Height in inches", "70")
    key_in(page, "Weight in pounds", "180")
    key_in(page, "Eye colour", "Brown")
    key_in(page, "Hair colour", "Black")
    key_in(page, "Scars, marks and tattoos (optional)", "Tattoo of an anchor, left forearm")
    key_in(page, "Social security number (optional, protected)", WITHHELD["SSN"])
    key_in(page, "Place of birth (optional, protected)", WITHHELD["place of birth"])

    # The charge by words, picked from the suggestions with the arrow keys: grade filled in.
    key_in(page, "Citation or words", "simple assault")
    suggestion = page.locator("#suggest-0 .pars-suggestion").first
    expect(suggestion).to_contain_text("2701")
    page.keyboard.press("ArrowDown")
    expect(suggestion).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Citation or words")).to_have_value("18 § 2701 §§ A1")
    expect(page.locator("#f-charges-0-grade")).to_have_value("M2")
    expect(page.get_by_label("Counts")).to_be_focused()

    local = arrested.astimezone(live.pars.settings.zone)
    key_in(page, "Date of arrest", _us_date(local.date()))
    key_in(page, "Time of arrest", f"{local:%I%M%p}")
    key_in(page, "Place of arrest", "1500 Market St")
    key_in(page, "Police district", "6")
    key_in(page, "Report number (optional)", "2026-06-054321")
    key_in(
        page,
        "Probable cause: what you saw and did (optional in a draft)",
        "Saw the defendant strike the complainant with a closed fist outside 1500 Market St.",
    )
    key_in(page, "#f-victims-0-name", WITHHELD["victim"])
    key_in(page, "#f-victims-0-phone", "215-555-0101")
    key_in(page, "Badge number", WITHHELD["badge"])
    key_in(page, "Officer's name", "P/O Rivera")
    key_in(page, "Arresting unit (optional)", "6th District")
    key_in(page, "Detaining unit (optional)", "PAB Central")
    page.keyboard.press("Tab")
    page.wait_for_url("**/booking/*-*")  # saved as a draft, at its own address
    expect(page.locator("#save-status")).to_contain_text("saved at")
    axe(page)
    shot(page, "shift-1-booking-form")

    press_on(page, page.get_by_role("button", name="Review and submit"))
    page.wait_for_url("**/review")
    expect(page.get_by_role("heading", name="Check the report, then submit it")).to_be_visible()
    summary = page.locator(".pars-summary")
    expect(summary.get_by_role("heading", name="Do, Jon")).to_be_visible()
    expect(summary).to_contain_text("Born")
    expect(summary).to_contain_text("Male, White, Not Hispanic or Latino")
    expect(summary).to_contain_text("5 ft 10 in, 180 lb")
    expect(summary).to_contain_text("SID777")
    expect(summary).to_contain_text("SSN (protected)")
    expect(summary).not_to_contain_text(WITHHELD["SSN"])  # recorded, not shown back
    expect(page.locator(".pars-summary__charges")).to_have_text(
        re.compile(r"18 § 2701 §§ A1 Simple Assault.*, grade M2")
    )
    expect(summary).to_contain_text("1500 Market St, district 6")
    expect(summary).to_contain_text("P/O Rivera, badge 4512")
    expect(summary).to_contain_text(f"Victim: {WITHHELD['victim']}")
    axe(page)
    shot(page, "shift-1-booking-review")

    press_on(page, page.get_by_role("button", name="Submit: save and send"))
    page.wait_for_url("**/done")
    expect(page.get_by_role("heading", name="Arrest report sent")).to_be_visible()
    otn = page.locator("#otn").inner_text()
    assert re.fullmatch(r"Q\d{6}-\d", otn), otn
    axe(page)
    shot(page, "shift-1-booking-done")
    press_on(page, page.get_by_role("link", name="Back to my reports"))
    row = page.locator("tbody tr", has_text=otn)
    expect(row).to_contain_text("Do, Jon")
    expect(row).to_contain_text("Submitted")
    sign_out(page)
    return otn


def _pretrial(page: Page, live: LiveServer, otn: str) -> None:
    sign_in(page, live, "pretrial1")
    page.wait_for_url("**/pretrial")
    expect(page.get_by_role("heading", name="Pretrial interviews")).to_be_visible()
    expect(page.get_by_text("1 defendant is still to be interviewed")).to_be_visible()
    axe(page)
    page.get_by_role("link", name="Do, Jon").click()
    expect(page.get_by_role("heading", name=f"Do, Jon OTN {otn}")).to_be_visible()
    facts = page.locator(".pars-pretrial-facts").first
    expect(facts).to_contain_text("Waiting for charging")
    expect(facts).to_contain_text("12 Elm St, Philadelphia PA 19107")
    expect(facts).to_contain_text("18 § 2701 §§ A1")
    axe(page)
    press_on(page, page.locator("#address_verified-yes"), "Space")
    press_on(page, page.locator("#address_method-phone"), "Space")
    key_in(page, "Whom you spoke to, or which record (optional)", "his sister")
    press_on(page, page.locator("#recommendation-monetary"), "Space")
    press_on(page, page.get_by_label("Address verified", exact=True), "Space")
    press_on(page, page.get_by_label("Failed to appear before"), "Space")
    press_on(page, page.get_by_role("button", name="Record the recommendation"))
    expect(page.get_by_text("The recommendation is recorded")).to_be_visible()
    current = page.locator(".pars-pretrial-current")
    expect(current).to_contain_text("Monetary bail")
    expect(current).to_contain_text("Verified, by phone (his sister)")
    expect(current).to_contain_text("Address verified; Failed to appear before")
    axe(page)
    shot(page, "shift-2-pretrial")
    sign_out(page)


def _charge(page: Page, live: LiveServer, otn: str) -> None:
    sign_in(page, live, "prosecutor1")
    page.wait_for_url("**/charging")
    expect(page.get_by_role("heading", name="Charging queue")).to_be_visible()
    row = page.locator("tbody tr", has_text=otn)
    expect(row).to_contain_text("Do, Jon")
    expect(row).to_contain_text("Submitted")
    axe(page)
    row.get_by_role("link", name="Do, Jon").click()
    expect(page.get_by_role("heading", name=f"Do, Jon OTN {otn}")).to_be_visible()
    expect(page.locator(".pars-facts")).to_contain_text("P/O Rivera, badge 4512")
    expect(page.get_by_text("closed fist outside 1500 Market St")).to_be_visible()
    expect(page.get_by_label("Approve charge 1")).to_be_checked()
    axe(page)
    key_in(page, "Reason for this decision (optional)", "injury photographed")
    press_on(page, page.get_by_role("button", name="Charge and file the complaint"))
    expect(page.get_by_text(re.compile(r"^Charged\."))).to_be_visible()
    expect(page.get_by_role("heading", name="Criminal complaint")).to_be_visible()
    expect(page.get_by_text("Commonwealth of Pennsylvania v. Jon Q Do")).to_be_visible()
    axe(page)
    shot(page, "shift-3-charging")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the complaint (PDF)").click()
    with open(download.value.path(), "rb") as f:
        reader = pypdf.PdfReader(io.BytesIO(f.read()))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert "CRIMINAL COMPLAINT" in text
    assert otn in text
    assert "Commonwealth of Pennsylvania v. Jon Q Do" in text
    assert "2701" in text and "Simple Assault" in text and "M2" in text
    sign_out(page)


def _arraign(page: Page, live: LiveServer, otn: str, session: datetime) -> date:
    """Place the case on the session that began at `session` and arraign it; returns the
    preliminary hearing day."""
    zone = live.pars.settings.zone
    local = session.astimezone(zone)
    sign_in(page, live, "magistrate1")
    page.wait_for_url("**/docket")
    expect(page.get_by_role("heading", name="Arraignment docket")).to_be_visible()
    waiting = page.locator("section[aria-labelledby=waiting-heading] tbody tr", has_text=otn)
    expect(waiting).to_contain_text("Do, Jon")
    axe(page)
    waiting.get_by_label("Session for Do, Jon").fill(f"{local:%Y-%m-%dT%H:%M}")
    waiting.get_by_role("button", name="Place on the session").click()
    expect(page.get_by_text(re.compile(r"^Do, Jon is on the session of"))).to_be_visible()
    row = page.locator("#docket-cases tbody tr", has_text=otn)
    expect(row).to_contain_text("Monetary bail")  # pretrial's recommendation
    axe(page)
    shot(page, "shift-4-docket")

    row.get_by_role("link", name="Arraign Do, Jon").click()
    expect(page.get_by_role("heading", name=f"Do, Jon OTN {otn}")).to_be_visible()
    expect(page.locator(".pars-facts").first).to_contain_text("On an arraignment session")
    expect(page.get_by_text("Pretrial services recommends: Monetary bail.")).to_be_visible()
    axe(page)
    hearing = local.date() + timedelta(days=5)
    page.locator("#magistrate").fill("ACM Lee")
    key_in(page, "Defence counsel (optional)", "Defender Association")
    key_in(page, "Prosecutor (optional)", "ADA Kim")
    press_on(page, page.locator("#pc-yes"), "Space")
    press_on(page, page.locator("#bail-monetary"), "Space")
    key_in(page, "Amount in dollars", "$2,500")
    page.locator("#preliminary_hearing_date").fill(hearing.isoformat())
    press_on(page, page.get_by_role("button", name="Record the arraignment"))
    expect(page.locator("#docket-number")).to_have_text(re.compile(r"^MC-51-CR-\d{7}-\d{4}$"))
    expect(page.locator(".pars-facts").first).to_contain_text("Arraigned")
    record = page.locator("section[aria-labelledby=record-heading]")
    expect(record).to_contain_text("Monetary bail, $2,500.00; deposit 10%: $250.00 to post")
    axe(page)
    shot(page, "shift-4-arraigned")
    sign_out(page)
    return hearing


def _release(page: Page, live: LiveServer, otn: str) -> None:
    sign_in(page, live, "clerk1")
    page.wait_for_url("**/docket")
    page.get_by_role("navigation", name="Jobs").get_by_role("link", name="Custody board").click()
    expect(page.get_by_role("heading", name="Custody board")).to_be_visible()
    row = page.locator("tbody tr", has_text=otn)
    expect(row.locator(".pars-indicator")).to_have_text("HOLD")
    axe(page)
    row.get_by_role("link", name="Do, Jon").click()
    expect(page.get_by_role("heading", name=f"Do, Jon OTN {otn}")).to_be_visible()
    expect(page.locator(".pars-authority__word")).to_have_text("HOLD")
    expect(page.locator(".pars-authority__basis")).to_have_text(
        "Arraigned: monetary bail $2,500.00 (10% deposit), not posted"
    )
    axe(page)
    release = page.locator("form[action$='/release']")
    release.get_by_label("Reason").select_option(label="Bail posted")
    key_in(page, "#release-note", "Deposit $250.00 posted, receipt 88412")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Released from custody.")).to_be_visible()
    expect(page.locator(".pars-custody-facts")).to_contain_text("Released")
    expect(
        page.get_by_text("No custody change is possible now: Do, Jon is released.")
    ).to_be_visible()
    expect(page.locator("main li").last).to_contain_text("held to released, Bail posted")
    axe(page)
    shot(page, "shift-5-released")
    page.get_by_role("link", name="Back to the custody board").click()
    expect(page.locator("tbody tr", has_text=otn)).to_have_count(0)
    sign_out(page)


def _granted(path: str) -> bool:
    return ARREST_FIELDS[path] is FieldClass.CASE or path in GRANTED


def test_a_whole_shift(page: Page, live_server: LiveServer) -> None:
    live = live_server
    for user in STAFF:
        live.totp[user] = enrol_directly(live.pars, user)
    _known_person(live)
    key = _court_partner(live)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    arrested, session = now - timedelta(minutes=90), now - timedelta(minutes=30)

    otn = _book(page, live, arrested)
    _pretrial(page, live, otn)
    _charge(page, live, otn)
    hearing = _arraign(page, live, otn, session)
    _release(page, live, otn)
    assert_clean(page)

    # The record, through the JSON API, holds what the screens entered.
    token = issue_token(live.pars, "clerk1")
    with httpx2.Client(base_url=live.url) as http:
        found = http.get(
            "/api/v1/arrests", params={"otn": otn}, headers={"Authorization": f"Bearer {token}"}
        )
        assert found.status_code == 200, found.text
        (view,) = found.json()["items"]
        r = http.get(f"/api/v1/arrests/{view['id']}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        record: dict[str, Any] = r.json()
        # The partner reads its feed with its key, after the relay has run.
        relay_once(live.pars)
        feed = http.get(
            "/api/v1/feed", params={"limit": 500}, headers={"Authorization": f"Bearer {key}"}
        )
        assert feed.status_code == 200, feed.text
    assert (record["state"], record["custody"]) == ("arraigned", "released")
    person = record["person"]
    assert (person["last_name"], person["first_name"], person["middle_name"]) == ("Do", "Jon", "Q")
    assert (person["date_of_birth"], person["state_id"]) == ("1990-04-02", "SID777")
    assert datetime.fromisoformat(record["arrested_at"]) == arrested
    assert [(c["statute"], c["grade"], c["decision"]) for c in record["charges"]] == [
        ("18 § 2701 §§ A1", "M2", "approve")
    ]
    assert record["pretrial"]["recommendation"] == "monetary"
    assert record["pretrial"]["address"] == {
        "verified": True,
        "method": "phone",
        "detail": "his sister",
    }
    arraignment = record["arraignment"]
    assert datetime.fromisoformat(arraignment["session_at"]) == session
    assert arraignment["bail"]["type"] == "monetary"
    assert (arraignment["bail"]["amount"], arraignment["bail"]["deposit_due"]) == ("2500", "250.00")
    assert arraignment["preliminary_hearing_date"] == hearing.isoformat()
    last = record["custody_changes"][-1]
    assert (last["from"], last["to"], last["reason"]) == ("held", "released", "bail_posted")
    assert last["note"] == "Deposit $250.00 posted, receipt 88412" and last["by"] == "clerk1"

    # The partner received the shift's events, in order, each with only what it is granted.
    items = [e for e in feed.json()["items"] if e["subject"] == record["id"]]
    assert [e["type"] for e in items] == EVENTS
    for event in items:
        paths = set(field_paths(event["data"]))
        assert all(_granted(p) for p in paths), sorted(p for p in paths if not _granted(p))
    expected = {p for p in field_paths(record) if p in ARREST_FIELDS and _granted(p)}
    assert set(field_paths(items[-1]["data"])) == expected
    assert items[-1]["data"]["otn"] == otn
    assert items[-1]["data"]["arraignment"]["bail"]["amount"] == "2500"
    sent = feed.text
    for what, value in WITHHELD.items():
        assert value not in sent, what
    for user in STAFF:
        assert user not in sent, user
