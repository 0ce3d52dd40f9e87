"""Sign-in in a real browser: password and TOTP, enrolment, the pages axe-checked and
photographed."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, assert_clean, axe, shot, sign_in
from tests.conftest import PASSWORD


def test_sign_in_with_a_totp_code_lands_on_the_start_screen(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/signin")
    expect(page.get_by_text("System use notice").first).to_be_visible()
    axe(page)
    shot(page, "signin")
    sign_in(page, live_server, "admin1")
    page.wait_for_url("**/admin/users")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    axe(page)
    shot(page, "admin-users")
    page.get_by_role("link", name="All my jobs").click()
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()
    axe(page)
    shot(page, "home")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert_clean(page)


def test_first_sign_in_enrols_the_second_factor(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/signin")
    page.get_by_label("Username").fill("clerk1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/signin/enrol**")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    axe(page)
    shot(page, "enrol")
    key = page.locator(".pars-key").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is set up")).to_be_visible()
    assert page.locator(".pars-codes li").count() == 10
    axe(page)
    shot(page, "recovery-codes")
    page.get_by_role("link", name="Continue to PARS").click()
    page.wait_for_url("**/docket")  # the clerk's start screen
    assert_clean(page)


def test_api_docs_are_self_hosted_and_run_under_the_csp(
    page: Page, live_server: LiveServer
) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url) if not r.url.startswith((live_server.url, "data:")) else None
        ),
    )
    page.goto(f"{live_server.url}/docs")
    expect(page.get_by_text("Preliminary Arraignment Reporting System").first).to_be_visible()
    shot(page, "api-docs")
    assert outside == []
    assert_clean(page)
