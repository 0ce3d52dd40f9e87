"""While `pars demo` builds its history, every page shows why changes are refused: the notice is
visible before and after signing in, and the pages still pass axe. (The refusal itself is
tested in tests/web/test_read_only.py.)"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, assert_clean, axe, shot, sign_in

NOTICE = "This demo is still being built: day 12 of 90, 1,416 arrests so far."


def READ_ONLY() -> str:
    return NOTICE


def test_the_notice_shows_on_every_page_and_passes_axe(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/signin")
    expect(page.locator("#site-notice")).to_have_text(NOTICE)
    axe(page)
    sign_in(page, live_server, "admin1")
    page.goto(f"{live_server.url}/home")
    expect(page.locator("#site-notice")).to_have_text(NOTICE)
    axe(page)
    shot(page, "read-only-notice")
    assert_clean(page)
