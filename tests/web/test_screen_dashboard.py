"""The operations dashboard (/dashboard): supervisors only (others get the 403 page, audited);
on a small known data set every figure equals the one computed by hand: arrests per local day,
the median and 90th percentile of arrest-to-arraignment time, the open cases waiting longest,
queue lengths and each partner's delivery lag. The page draws each chart as SVG beside its
table, with no inline style or script."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from pars.domain.clock import FakeClock
from pars.domain.roles import Role
from pars.reports.stats import median, per_day, percentile
from pars.services import agreements as ag
from pars.services import dashboard as svc
from pars.services.app import Principal
from pars.services.delivery.feed import authenticate_partner, feed_page
from pars.services.delivery.relay import relay_once
from pars.web.screens.dashboard import duration_words
from tests.conftest import START, Api, rows
from tests.factories import active_agreement, arraignment_body
from tests.web.helpers import arrest_in
from tests.web.screens import Screens

SUPERVISOR = Principal("supervisor1", "supervisor")
EST = "-05:00"


@pytest.fixture
def screens(api: Api) -> Screens:
    return Screens(api.pars)


def _at(day: int, hour: int, minute: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00{EST}"


def _arraigned(api: Api, arrested: str, hours: int) -> str:
    """An arrest arraigned `hours` after it was made (session then, hearing 5 days later)."""
    aid = arrest_in(api, "charged", arrested_at=arrested)["id"]
    session = datetime.fromisoformat(arrested) + timedelta(hours=hours)
    body = arraignment_body(
        session_at=session.isoformat(),
        preliminary_hearing_date=(session.date() + timedelta(days=5)).isoformat(),
    )
    r = api.as_("magistrate").post(f"/api/v1/arrests/{aid}/arraignment", json=body)
    assert r.status_code == 200, r.text
    return str(aid)


def _known_data(api: Api, clock: FakeClock) -> dict[str, Any]:
    """The data set of this module, all booked at the clock's START (Friday November 20, 2026,
    12:00 PM EST); arrest times in EST."""
    _, psp_key = ag.add_partner(api.pars, "PSP", "state_repository")
    ag.add_partner(api.pars, "Penn Research", "research")
    active_agreement(api.pars, "PSP")
    active_agreement(api.pars, "Penn Research", granted=["case"])
    # Arraigned after 2, 4, 10, 12, 20 and 50 hours. Nov 12 20:00 EST is Nov 13 in UTC.
    for arrested, hours in (
        (_at(10, 8), 2), (_at(12, 8), 4), (_at(12, 20), 10), (_at(15, 9), 12),
        (_at(16, 6), 20), (_at(17, 6), 50),
    ):  # fmt: skip
        _arraigned(api, arrested, hours)
    old = arrest_in(api, "submitted", arrested_at=_at(5, 10))  # before the window, still open
    waiting = arrest_in(api, "submitted", arrested_at=_at(18, 10))
    charged = arrest_in(api, "charged", arrested_at=_at(20, 6))
    recent = arrest_in(api, "submitted", arrested_at=_at(20, 9, 30))
    declined = arrest_in(api, "submitted", arrested_at=_at(19, 8))["id"]
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{declined}/charging-decision",
        json={"outcome": "decline", "reason": "insufficient evidence"},
    )
    assert r.status_code == 200, r.text
    arrest_in(api, "draft", arrested_at=_at(20, 7))  # a draft counts nowhere
    relay_once(api.pars)
    psp = authenticate_partner(api.pars, psp_key)
    clock.advance(timedelta(seconds=90))
    first = feed_page(api.pars, psp, 0, 3)
    clock.advance(timedelta(seconds=210))  # 300 seconds after the events
    feed_page(api.pars, psp, int(first["next_cursor"]), 2)
    return {"open": [old, waiting, charged, recent]}


def test_pure_figures_by_hand() -> None:
    assert median([]) is None and percentile([], 90) is None
    assert median([5]) == 5 and percentile([5], 90) == 5
    assert median([3, 1, 2]) == 2
    assert median([120, 240, 600, 720, 1200, 3000]) == 660  # (600 + 720) / 2
    # Nearest rank: ceil(0.9 * 6) = 6th of six; ceil(0.9 * 10) = 9th of ten; ceil(0.9 * 11) = 10th.
    assert percentile([3000, 120, 600, 240, 1200, 720], 90) == 3000
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 12)), 90) == 10
    assert percentile([1, 2, 3, 4], 50) == 2
    with pytest.raises(ValueError, match="p must be"):
        percentile([1], 0)
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    late = datetime.fromisoformat("2026-11-13T01:00:00+00:00")  # Nov 12, 8 PM in New York
    assert per_day([late], ny, date(2026, 11, 12), date(2026, 11, 13)) == [
        (date(2026, 11, 12), 1),
        (date(2026, 11, 13), 0),
    ]
    assert duration_words(90) == "1 minute 30 seconds"
    assert duration_words(660 * 60) == "11 hours"
    assert duration_words(3000 * 60) == "2 days 2 hours"
    assert duration_words(None) == "—"


def test_figures_on_a_known_data_set(api: Api, clock: FakeClock, backend: str) -> None:
    known = _known_data(api, clock)
    data = svc.overview(api.pars, SUPERVISOR)

    assert (data["first_day"], data["last_day"]) == (date(2026, 11, 7), date(2026, 11, 20))
    per = {d.day: n for d, n in data["arrests_per_day"]}
    assert len(per) == 14
    assert {d: n for d, n in per.items() if n} == {
        10: 1, 12: 2, 15: 1, 16: 1, 17: 1, 18: 1, 19: 1, 20: 2
    }  # fmt: skip

    a = data["arraignment"]
    assert a["count"] == 6
    assert a["median_minutes"] == 660  # 11 hours: the mean of 10 and 12 hours
    assert a["p90_minutes"] == 3000  # 50 hours: the 6th of 6 by nearest rank
    assert a["longest_minutes"] == 3000
    assert a["over_outer_limit"] == 1

    slowest = data["slowest_open"]
    assert [r["otn"] for r in slowest] == [o["otn"] for o in known["open"]]
    assert [r["state"] for r in slowest] == ["submitted", "submitted", "charged", "submitted"]
    now = START + timedelta(seconds=300)
    assert (
        slowest[0]["waiting_seconds"] == (now - datetime.fromisoformat(_at(5, 10))).total_seconds()
    )

    arrests = rows(api.pars, "arrests")
    held = sum(
        r["custody"] == "held" and r["state"] not in ("draft", "sealed", "expunged")
        for r in arrests
    )
    reviews = sum(r["status"] == "open" for r in rows(api.pars, "identity_decisions"))
    assert data["queues"] == {
        "charging": 3,
        "to_schedule": 1,
        "scheduled": 0,
        "held": held,
        "identification": reviews,
        "deliveries": 6 + 11,  # PSP: 11 submitted events, 5 read; Penn Research: none read
        "quarantine": 0,
    }

    lag = {p["partner"]: p for p in data["delivery_lag"]}
    assert list(lag) == ["Penn Research", "PSP"]
    psp = lag["PSP"]
    assert psp["delivered"] == 5
    assert psp["median_seconds"] == 90  # 90, 90, 90, 300, 300
    assert psp["p90_seconds"] == 300  # the 5th of 5
    assert psp["waiting"] == 6 and psp["oldest_waiting_seconds"] == 300
    research = lag["Penn Research"]
    assert (research["delivered"], research["median_seconds"], research["p90_seconds"]) == (
        0, None, None
    )  # fmt: skip
    assert research["waiting"] == 11

    reads = [r for r in rows(api.pars, "audit_log") if r["action"] == "dashboard:read"]
    assert [(r["actor"], r["outcome"]) for r in reads] == [("supervisor1", "success")]


_INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|<[^>]+\son[a-z]+\s*=", re.I)


def test_the_page_shows_the_figures_in_words_with_charts_and_tables(
    api: Api, clock: FakeClock, screens: Screens
) -> None:
    known = _known_data(api, clock)
    r = screens.signed_in("supervisor").get("/dashboard")
    assert r.status_code == 200, r.text
    html = r.text
    assert not _INLINE.search(html)
    assert html.count("<svg") == 4 and html.count('role="img"') == 4
    for words in (
        "Median arrest to arraignment",
        "11 hours",  # the median
        "2 days 2 hours",  # the 90th percentile (50 hours)
        "Arraigned after more than 48 hours",
        "1 of 6",
        "Friday, November 20, 2026",
        "Saturday, November 7, 2026",
        "1 minute 30 seconds",  # PSP's median lag
        "5 minutes",  # PSP's 90th percentile and its oldest waiting item
        "Charging queue",
        "over 48 hours",  # the case open since November 5
    ):
        assert words in html, words
    for o in known["open"]:
        assert o["otn"] in html
    # Each chart's numbers are in its table too: the arrests of November 12.
    assert re.search(r"Thursday, November 12, 2026</time></th><td[^>]*>2</td>", html)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_supervisors_only(api: Api, screens: Screens, role: str) -> None:
    r = screens.signed_in(role).get("/dashboard")
    assert r.status_code == (200 if role == "supervisor" else 403), r.status_code
    if role != "supervisor":
        assert "not for the" in r.text
        denied = [x for x in rows(api.pars, "audit_log") if x["action"] == "page:forbidden"]
        assert denied[-1]["details"]["path"] == "/dashboard"
        assert not [x for x in rows(api.pars, "audit_log") if x["action"] == "dashboard:read"]


def test_the_service_refuses_other_roles(api: Api) -> None:
    from pars.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        svc.overview(api.pars, Principal("clerk1", "clerk"))
    denied = [x for x in rows(api.pars, "audit_log") if x["action"] == "access:denied"]
    assert denied[-1]["actor"] == "clerk1"


def test_an_empty_system_reads_plainly(screens: Screens) -> None:
    html = screens.signed_in("supervisor").get("/dashboard").text
    assert "No open case" in html
    assert "Nothing was delivered to a partner in the period" in html
    assert "0 of 0" in html
