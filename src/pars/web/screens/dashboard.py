"""The operations dashboard (supervisors): arrests per day, arrest-to-arraignment time (median,
90th percentile, the open cases waiting longest), queue lengths and per-partner delivery lag,
as server-drawn SVG charts each beside a table of the same numbers. The figures come from
`services.dashboard.overview`; this module only words and draws them."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.roles import Role
from pars.services import dashboard as svc
from pars.services.app import Pars, Principal
from pars.web.charts import Row, columns, hbars
from pars.web.deps import get_pars
from pars.web.screens.render import page, screen_router
from pars.web.screens.session import role

__all__ = ["duration_words", "router"]

router = screen_router()
PARS = Annotated[Pars, Depends(get_pars)]
Supervisor = Annotated[Principal, Depends(role(Role.SUPERVISOR))]

STATE_WORDS = {
    "submitted": "Submitted, waiting for charging",
    "identified": "Identified, waiting for charging",
    "charging_review": "In charging review",
    "charged": "Charged, not yet on a session",
    "arraignment_scheduled": "On an arraignment session",
}
QUEUE_WORDS = (
    ("charging", "Charging queue", "Submitted arrests waiting for the prosecutor's decision"),
    ("to_schedule", "Charged, not on a session", "Charged arrests not yet placed on a session"),
    ("scheduled", "On an arraignment session", "Waiting for their scheduled session"),
    ("identification", "Identity reviews", "Arrestees whose person record needs a decision"),
    ("held", "Held in custody", "People held now, whatever their stage"),
    ("deliveries", "Partner items waiting", "Items queued for partners, not yet delivered"),
    ("quarantine", "Quarantined items", "Items the relay set aside; the privacy officer sees them"),
)


def _unit(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def duration_words(seconds: float | None) -> str:
    """'2 days 3 hours', '10 hours 30 minutes', '4 minutes 5 seconds', '12 seconds' (the two
    largest units); an em dash for None."""
    if seconds is None:
        return "—"
    if 0 < seconds < 0.5:
        return "under 1 second"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _unit(days, "day") + (f" {_unit(hours, 'hour')}" if hours else "")
    if hours:
        return _unit(hours, "hour") + (f" {_unit(minutes, 'minute')}" if minutes else "")
    if minutes:
        return _unit(minutes, "minute") + (f" {_unit(secs, 'second')}" if secs else "")
    return _unit(secs, "second")


def _when(t: datetime, zone: tzinfo) -> str:
    t = t.astimezone(zone)
    hour = t.hour % 12 or 12
    return f"{t:%A}, {t:%B} {t.day}, {t.year}, {hour}:{t:%M} {t:%p} {t.tzname() or ''}".rstrip()


def _day(d: date) -> str:
    return f"{d:%A}, {d:%B} {d.day}, {d.year}"


def _minutes(m: float | None) -> float | None:
    return None if m is None else m * 60


def _view(data: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    per_day = data["arrests_per_day"]
    days = [
        {"day": _day(d), "iso": d.isoformat(), "count": n, "short": f"{d:%b} {d.day}",
         "weekday": f"{d:%a}"}
        for d, n in per_day
    ]  # fmt: skip
    arrests_chart = columns(
        "arrests-per-day",
        f"Arrests per day, {days[0]['day']} to {days[-1]['day']}" if days else "Arrests per day",
        "Column chart; the table beside it gives the same numbers.",
        [Row(d["short"], d["count"], str(d["count"]), sublabel=d["weekday"]) for d in days],
    )
    a = data["arraignment"]
    figures = [
        ("median", "Median", _minutes(a["median_minutes"])),
        ("p90", "90th percentile", _minutes(a["p90_minutes"])),
        ("none", "Longest", _minutes(a["longest_minutes"])),
    ]
    arraignment_chart = hbars(
        "arraignment-time",
        "Arrest to arraignment, arrests of the period already arraigned",
        "Bar chart of the median, 90th percentile and longest time, in hours; the list beside "
        "it gives the same figures.",
        [Row(label, (v or 0) / 3600, duration_words(v), kind=k) for k, label, v in figures],
        label_width=130,
        bar_width=300,
    )
    queues = [
        {"key": k, "name": name, "means": means, "count": data["queues"][k]}
        for k, name, means in QUEUE_WORDS
    ]
    queue_chart = hbars(
        "queues",
        "Queue lengths now",
        "Bar chart of the number of items in each queue; the table beside it gives the same "
        "numbers.",
        [Row(q["name"], q["count"], str(q["count"])) for q in queues],
        label_width=200,
        bar_width=260,
    )
    lag = [
        {
            **p,
            "median_words": duration_words(p["median_seconds"]),
            "p90_words": duration_words(p["p90_seconds"]),
            "oldest_words": duration_words(p["oldest_waiting_seconds"]),
        }
        for p in data["delivery_lag"]
    ]
    lag_rows = []
    for i, p in enumerate(lag):
        for j, (k, word) in enumerate((("median", "median"), ("p90", "90th percentile"))):
            seconds = p[f"{k}_seconds"]
            lag_rows.append(
                Row(f"{p['partner']}: {word}", seconds or 0, duration_words(seconds), kind=k,
                    new_group=i > 0 and j == 0)
            )  # fmt: skip
    lag_chart = hbars(
        "delivery-lag",
        "Delivery lag per partner: time from the event to its delivery",
        "Bar chart of the median and 90th percentile delivery time of each partner; the table "
        "beside it gives the same figures.",
        lag_rows,
        label_width=260,
        bar_width=240,
    )
    limit = data["outer_limit_hours"] * 3600
    slowest = [
        {
            **r,
            "state_words": STATE_WORDS.get(r["state"], r["state"].replace("_", " ")),
            "arrested_words": _when(r["arrested_at"], zone),
            "waiting_words": duration_words(r["waiting_seconds"]),
            "past_limit": r["waiting_seconds"] > limit,
        }
        for r in data["slowest_open"]
    ]
    return {
        "now_words": _when(data["now"], zone),
        "first_day": _day(data["first_day"]),
        "last_day": _day(data["last_day"]),
        "days": days,
        "total_arrests": sum(d["count"] for d in days),
        "arrests_chart": arrests_chart,
        "arraignment": {
            **a,
            "median_words": duration_words(_minutes(a["median_minutes"])),
            "p90_words": duration_words(_minutes(a["p90_minutes"])),
            "longest_words": duration_words(_minutes(a["longest_minutes"])),
        },
        "arraignment_chart": arraignment_chart,
        "slowest": slowest,
        "queues": queues,
        "queue_chart": queue_chart,
        "lag": lag,
        "lag_chart": lag_chart,
        "outer_limit_hours": data["outer_limit_hours"],
        "period_days": data["days"],
    }


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, who: Supervisor, pars: PARS) -> HTMLResponse:
    data = await run_in_threadpool(svc.overview, pars, who)
    return page(request, "dashboard/index.html", _view(data, pars.settings.zone))
