"""Times, days and durations in words, in the courts' time zone, for every screen ('Friday,
November 20, 2026, 9:30 AM EST'; '1 day 6 hours'); and how near an arrest is to the
arraignment deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

__all__ = ["STATE_WORDS", "Deadline", "day", "deadline", "duration", "when"]


def when(value: datetime | str | None, zone: tzinfo, weekday: bool = True) -> str:
    """'Friday, November 20, 2026, 9:30 AM EST' in `zone`; '' for None."""
    if value is None or value == "":
        return ""
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    t = t.astimezone(zone)
    hour = t.hour % 12 or 12
    head = f"{t:%A}, " if weekday else ""
    return f"{head}{t:%B} {t.day}, {t.year}, {hour}:{t:%M} {t:%p} {t.tzname() or ''}".rstrip()


def day(value: date | str) -> str:
    """'Friday, November 27, 2026'."""
    d = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{d:%A}, {d:%B} {d.day}, {d.year}"


def _unit(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def duration(span: timedelta) -> str:
    """'3 days 4 hours', '14 hours 5 minutes', '7 minutes' (the two largest units; a negative
    span reads as its size)."""
    minutes = int(abs(span).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _unit(days, "day") + (f" {_unit(hours, 'hour')}" if hours else "")
    if hours:
        return _unit(hours, "hour") + (f" {_unit(mins, 'minute')}" if mins else "")
    return _unit(mins, "minute")


@dataclass(frozen=True)
class Deadline:
    """Where an arrest stands against the arraignment deadline. `level` is 'ok', 'soon' (half
    the time gone), 'near' (three quarters gone) or 'past'; `label` says it in words, so the
    colour is never the only sign."""

    due: datetime
    level: str
    label: str


def deadline(arrested_at: datetime, now: datetime, hours: int) -> Deadline:
    """The arraignment deadline `hours` after the arrest, as seen at `now`."""
    limit = timedelta(hours=hours)
    due = arrested_at + limit
    elapsed = now - arrested_at
    left = due - now
    if left <= timedelta(0):
        return Deadline(due, "past", f"Past the deadline by {duration(left)}")
    if elapsed >= limit * 3 / 4:
        return Deadline(due, "near", f"Deadline near: {duration(left)} left")
    if elapsed >= limit / 2:
        return Deadline(due, "soon", f"Deadline approaching: {duration(left)} left")
    return Deadline(due, "ok", f"Within the deadline: {duration(left)} left")


# An arrest's state in words, as every screen shows it.
STATE_WORDS = {
    "submitted": "Submitted, waiting for charging",
    "identified": "Identified, waiting for charging",
    "charging_review": "In charging review",
    "charged": "Charged, waiting for arraignment",
    "declined": "Charges declined",
    "diverted": "Diverted",
    "released_for_summons": "Released for summons",
    "arraignment_scheduled": "On an arraignment session",
    "arraigned": "Arraigned",
    "dismissed": "Dismissed at arraignment",
}
