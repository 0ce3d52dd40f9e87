"""While a reason holds (`pars demo` building its history), PARS answers reads, shows the reason
on every page, signs staff in and out, and refuses every other change with 503 and nothing
written; once the reason is gone, it takes changes again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pars.services.app import Pars
from pars.web.app import create_app
from tests.conftest import PASSWORD, Api, rows
from tests.factories import arrest_body

REASON = "This demo is still being built: day 3 of 90."


class Switch:
    def __init__(self) -> None:
        self.reason: str | None = REASON

    def __call__(self) -> str | None:
        return self.reason


@pytest.fixture
def switch() -> Switch:
    return Switch()


@pytest.fixture
def ro(pars: Pars, switch: Switch) -> Iterator[Api]:
    app = create_app(pars, read_only=switch)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, pars)


def test_changes_are_refused_with_the_reason_and_nothing_is_written(
    ro: Api, pars: Pars, switch: Switch
) -> None:
    before = len(rows(pars, "arrests")), len(rows(pars, "outbox"))
    r = ro.as_("officer").post("/api/v1/arrests", json=arrest_body())
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "30"
    assert r.json()["type"] == "/problems/read-only"
    assert r.json()["detail"] == REASON
    assert (len(rows(pars, "arrests")), len(rows(pars, "outbox"))) == before

    switch.reason = None  # the build is done
    r = ro.as_("officer").post("/api/v1/arrests", json=arrest_body())
    assert r.status_code == 201, r.text
    assert len(rows(pars, "arrests")) == before[0] + 1


def test_reads_and_signing_in_work_and_pages_show_the_reason(ro: Api, switch: Switch) -> None:
    token = ro.client.post(
        "/api/v1/auth/token", json={"username": "officer1", "password": PASSWORD}
    )
    assert token.status_code == 200, token.text
    listed = ro.as_("officer").get("/api/v1/arrests")
    assert listed.status_code == 200
    page = ro.client.get("/signin", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert REASON in page.text
    assert 'id="site-notice"' in page.text

    switch.reason = None
    page = ro.client.get("/signin", headers={"accept": "text/html"})
    assert 'id="site-notice"' not in page.text


def test_a_screen_form_gets_an_error_page_not_json(ro: Api) -> None:
    r = ro.client.post(
        "/booking", data={"x": "1"}, headers={"accept": "text/html"}, follow_redirects=False
    )
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    assert REASON in r.text


def test_without_a_reason_nothing_changes(api: Api) -> None:
    page = api.client.get("/signin", headers={"accept": "text/html"})
    assert 'id="site-notice"' not in page.text
