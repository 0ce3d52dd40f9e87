"""The arraignment docket's forms (screens/docket.py): the form fields as the body the API takes
(`ArraignmentIn`, `ScheduleIn`), and the API's refusals (pydantic's and the domain's, the same
rules `POST /api/v1/arrests/{id}/arraignment` enforces) in plain words beside their field. No
rule is checked here that the service does not check itself; the form only turns text into the
API's values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from pars.domain.arraignment import HEARING_WINDOW_DAYS, BailType
from pars.web.screens.words import day

__all__ = [
    "BAIL_WORDS",
    "LABELS",
    "NO_BAIL",
    "HearingWindow",
    "arraignment_body",
    "arraignment_errors",
    "hearing_window",
    "schedule_body",
    "schedule_error",
]

BAIL_WORDS = {
    BailType.ROR.value: "Release on own recognizance (ROR)",
    BailType.NON_MONETARY.value: "Release on non-monetary conditions",
    BailType.UNSECURED.value: "Unsecured bail",
    BailType.NOMINAL.value: "Nominal bail",
    BailType.MONETARY.value: "Monetary bail",
}
# The sixth choice of the bail radio group: a radio button cannot be unchosen, so the magistrate
# who finds no probable cause needs a way to say "no bail".
NO_BAIL = "none"

# The form field of each pointer into the API's body.
_FIELDS = {
    "magistrate": "magistrate",
    "defense_counsel": "defense_counsel",
    "prosecutor": "prosecutor",
    "probable_cause_found": "probable_cause_found",
    "bail": "bail_type",
    "bail/type": "bail_type",
    "bail/amount": "bail_amount",
    "bail/deposit_percent": "bail_deposit_percent",
    "bail/conditions": "bail_conditions",
    "preliminary_hearing_date": "preliminary_hearing_date",
    "notes": "notes",
}
LABELS = {
    "magistrate": "Magistrate",
    "defense_counsel": "Defence counsel",
    "prosecutor": "Prosecutor",
    "probable_cause_found": "Probable cause",
    "bail_type": "Bail",
    "bail_amount": "Bail amount",
    "bail_deposit_percent": "Deposit percentage",
    "bail_conditions": "Conditions",
    "preliminary_hearing_date": "Preliminary hearing date",
    "notes": "Notes",
    "session": "Session",
}


@dataclass(frozen=True)
class HearingWindow:
    """The days the preliminary hearing may be set on, counted from the session's day in the
    court's time zone (domain.arraignment.HEARING_WINDOW_DAYS): the date input's min and max."""

    session_day: date
    first: date
    last: date

    @property
    def words(self) -> str:
        lo, hi = HEARING_WINDOW_DAYS
        return (
            f"from {day(self.first)} to {day(self.last)}: {lo} to {hi} days after the "
            f"arraignment on {day(self.session_day)}"
        )


def hearing_window(session_at: datetime, zone: tzinfo) -> HearingWindow:
    session_day = session_at.astimezone(zone).date()
    lo, hi = HEARING_WINDOW_DAYS
    return HearingWindow(
        session_day, session_day + timedelta(days=lo), session_day + timedelta(days=hi)
    )


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(raw: str, *strip: str) -> str:
    """A number as typed ('$5,000.00', '10 %') in the form the API reads ('5000.00')."""
    for s in (",", " ", *strip):
        raw = raw.replace(s, "")
    return raw


def arraignment_body(form: Mapping[str, Any]) -> dict[str, Any]:
    """The request body of `POST /api/v1/arrests/{id}/arraignment` from the form. An empty
    field is left out (the API then says what is missing); the session is the scheduled one
    (the API's default)."""
    body: dict[str, Any] = {}
    for name in ("magistrate", "defense_counsel", "prosecutor", "notes"):
        value = _text(form, name)
        if value:
            body[name] = value
    found = _text(form, "probable_cause_found")
    if found in ("yes", "no"):
        body["probable_cause_found"] = found == "yes"
    elif found:
        body["probable_cause_found"] = found  # neither: the model refuses it, naming the field
    kind = _text(form, "bail_type")
    if kind and kind != NO_BAIL:
        bail: dict[str, Any] = {"type": kind}
        amount = _number(_text(form, "bail_amount"), "$")
        if amount:
            bail["amount"] = amount
        percent = _number(_text(form, "bail_deposit_percent"), "%")
        if percent:
            bail["deposit_percent"] = percent
        conditions = [line.strip() for line in _text(form, "bail_conditions").splitlines()]
        bail["conditions"] = [c for c in conditions if c]
        body["bail"] = bail
    hearing = _text(form, "preliminary_hearing_date")
    if hearing:
        body["preliminary_hearing_date"] = hearing
    return body


def _field(pointer: str) -> str:
    parts = [p for p in pointer.strip("/").split("/") if p and not p.isdigit()]
    for n in (2, 1):
        key = "/".join(parts[:n])
        if key in _FIELDS:
            return _FIELDS[key]
    return "session" if parts[:1] == ["session_at"] else ""


def _plain(field: str, detail: str, body: dict[str, Any], window: HearingWindow) -> str:
    """The error in the form's words (the API's pointers and messages name its fields)."""
    kind = (body.get("bail") or {}).get("type")
    words = BAIL_WORDS.get(str(kind), "This bail")
    if field == "magistrate":
        if "required" in detail.lower() or "at least 1" in detail:
            return "Write the magistrate's name"
        return "Keep the name to one line of at most 100 characters"
    if field in ("defense_counsel", "prosecutor"):
        return "Keep it to one line of at most 100 characters"
    if field == "probable_cause_found":
        return "Say whether probable cause was found: yes or no"
    if field == "bail_type":
        if detail.startswith("required"):
            return "Choose the bail: probable cause was found, so bail must be set"
        if detail.startswith("no bail"):
            return (
                "Bail is not set when probable cause is not found: choose No bail, "
                "or answer yes to probable cause"
            )
        return "Choose one of the five bail types"
    if field == "bail_amount":
        if "has no amount" in detail:
            return f"{words} has no amount: leave the amount empty"
        if "needs an amount" in detail:
            return f"{words} needs an amount above $0"
        return "Write the amount in dollars, like 5000 or 5000.00, at most $100,000,000"
    if field == "bail_deposit_percent":
        if "deposit" in detail:
            return f"Only monetary bail has a deposit: leave the percentage empty for {words}"
        return "Write the deposit as a percentage above 0 and at most 100, like 10"
    if field == "bail_conditions":
        if "needs conditions" in detail:
            return "Release on non-monetary conditions needs at least one condition"
        return "Write each condition on a line of its own (at most 30, of 300 characters each)"
    if field == "preliminary_hearing_date":
        if detail.startswith("required"):
            return f"Choose the preliminary hearing date, {window.words}"
        if detail.startswith("must be"):
            return f"Choose a day {window.words}"
        if detail.startswith("no hearing"):
            return "No hearing is set when probable cause is not found: clear the date"
        return "Enter the date as a day, like 11/27/2026"
    if field == "notes":
        return "Keep the notes under 20,000 characters"
    if field == "session":
        if "once it is held" in detail:
            return "The session has not begun yet: the arraignment is recorded once it is held"
        if "before the arrest" in detail:
            return "The session is before the arrest: move the case to a later session"
    return detail


def arraignment_errors(
    errors: list[dict[str, str]], body: dict[str, Any], window: HearingWindow
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The API's errors as {form field: words} (the first per field) and the summary list."""
    field_errors: dict[str, str] = {}
    summary: list[dict[str, str]] = []
    for err in errors:
        field = _field(err["pointer"])
        words = _plain(field, err["detail"], body, window)
        if field in field_errors:
            continue
        field_errors[field] = words
        link = field if field and field != "session" else ""
        summary.append({"field": link, "label": LABELS.get(field, ""), "detail": words})
    return field_errors, summary


# -- placing a case on a session ------------------------------------------------------------


def schedule_body(raw: str, zone: tzinfo) -> tuple[dict[str, Any], str | None]:
    """A `datetime-local` value (the court's time) as the body of
    `POST /api/v1/arrests/{id}/arraignment-session`, or an error in words."""
    raw = raw.strip()
    if not raw:
        return {}, "Enter the session's date and time"
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        return {}, "Enter the session's date and time, like 11/20/2026 04:30 PM"
    if t.tzinfo is None:
        t = t.replace(tzinfo=zone)
    return {"session_at": t.isoformat()}, None


def schedule_error(detail: str) -> str:
    if "before the arrest" in detail:
        return "The session cannot be before the arrest: choose a later time"
    return "Enter the session's date and time, like 11/20/2026 04:30 PM"
