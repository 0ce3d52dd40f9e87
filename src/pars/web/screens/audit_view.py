"""The audit screen's words: the search form read from the query string (times entered in the
courts' zone), the kinds of entry an auditor can narrow to, each log entry and each disclosure
in words, and the result of "verify now"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from pars.web.screens.agreements_view import CLASS_WORDS as AGREEMENT_CLASS_WORDS
from pars.web.screens.words import when

__all__ = [
    "FIELDS",
    "KINDS",
    "SearchForm",
    "entry_view",
    "history_view",
    "read_form",
    "verify_view",
]

FIELDS = ("actor", "record", "agreement", "kind", "since", "until")

_RECORD_ACTIONS: tuple[str, ...] = ("arrest", "record", "person", "charging", "arraignment")
_RECORD_ACTIONS += ("custody", "pretrial", "complaint")
# value -> (words, action prefixes)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "disclosures": ("Disclosures to partners (sent, looked up, withheld)", ("disclosure:",)),
    "lookups": ("Partner look-ups", ("lookup:",)),
    "records": ("Arrest records and their handling", tuple(f"{p}:" for p in _RECORD_ACTIONS)),
    "agreements": ("Agreements, partners and deliveries", ("agreement:", "partner:", "delivery:")),
    "accounts": ("Sign-ins, sessions and accounts", ("account:", "session:", "token:")),
    "refusals": ("Refused access", ("access:denied", "page:forbidden", "lookup:refused")),
    "log": (
        "Reads and checks of the log and reports",
        ("audit:", "audit_log:", "disclosure_history:", "dashboard:"),
    ),
}

ACTION_WORDS = {
    "disclosure:delivered": "Sent to a partner",
    "disclosure:redelivered": "Sent to a partner again",
    "disclosure:lookup": "Answered a partner's look-up",
    "disclosure:withheld": "Held back from a partner",
    "disclosure:acknowledged": "The partner confirmed receipt",
    "access:denied": "Refused",
    "page:forbidden": "Page refused",
    "audit_log:read": "Searched the log",
    "audit:verified": "Verified the log",
    "audit:exported": "Exported the log",
    "audit:checkpoint_requested": "Asked for a checkpoint",
    "disclosure_history:read": "Read a disclosure history",
    "account:login:success": "Signed in (password)",
    "account:login:failure": "Wrong password",
    "account:mfa:success": "Second factor accepted",
    "account:mfa:failure": "Wrong second-factor code",
    "account:locked": "Account locked",
    "account:logout": "Signed out",
    "session:started": "Session started",
    "session:locked": "Session locked when idle",
    "arrest:created": "Arrest report created",
    "arrest:submitted": "Arrest report submitted",
    "arrest:read": "Arrest read",
    "arrest:identified": "Arrestee identified",
    "agreement:created": "Agreement drafted",
    "agreement:submitted": "Agreement submitted",
    "agreement:approved": "Agreement approved",
    "agreement:suspended": "Agreement suspended",
    "agreement:revoked": "Agreement revoked",
    "record:sealed": "Record sealed",
    "record:expunged": "Record expunged",
    "record:corrected": "Record corrected",
}
OUTCOME_WORDS = {"success": "Done", "failure": "Failed", "denied": "Refused"}
TRANSPORT_WORDS = {
    "feed": "Feed (the partner read it)",
    "webhook": "Webhook (sent to the partner)",
    "nats": "Message bus",
    "lookup": "Look-up by identifier",
}
# "Case facts", "Identity", ...: the agreements screen's words without their examples.
CLASS_WORDS = {c: words.split(" (")[0] for c, words in AGREEMENT_CLASS_WORDS.items()}
TIME_FORMAT = "Enter a date, or a date and time, like 2026-11-20 or 2026-11-20 13:30"
_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


@dataclass
class SearchForm:
    """The search form as typed (`values`, re-shown) and as read (`since`, `until` are aware
    instants; a date alone covers the whole day). `errors` are per field, in words."""

    values: dict[str, str]
    actor: str | None = None
    record: str | None = None
    agreement: str | None = None
    actions: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None

    @property
    def filtered(self) -> bool:
        return any(self.values.get(k) for k in FIELDS)


def _instant(text: str, zone: tzinfo, end: bool) -> datetime | None:
    """The instant a local date or date-and-time names; for an end, a date alone means the
    start of the next day (so the whole day is in). None if it is not one."""
    text = text.strip()
    try:
        d = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None
    if d is not None:
        local = datetime.combine(d + timedelta(days=1) if end else d, time(0))
        return local.replace(tzinfo=zone)
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    return None


def read_form(params: dict[str, str], zone: tzinfo) -> SearchForm:
    """The search form from the query string: every value trimmed and kept to a sane length."""
    values = {k: str(params.get(k, "")).strip()[:200] for k in FIELDS}
    form = SearchForm(values)
    form.actor = values["actor"] or None
    form.record = values["record"] or None
    form.agreement = values["agreement"].lower() or None
    if values["kind"]:
        if values["kind"] in KINDS:
            form.actions = KINDS[values["kind"]][1]
        else:
            form.errors["kind"] = ["Choose one of the kinds listed"]
    for name, end in (("since", False), ("until", True)):
        if values[name]:
            at = _instant(values[name], zone, end)
            if at is None:
                form.errors[name] = [TIME_FORMAT]
            else:  # as a datetime-local input holds it
                form.values[name] = at.strftime("%Y-%m-%dT%H:%M" + (":%S" if at.second else ""))
            setattr(form, name, at)
    before = str(params.get("before", "")).strip()
    if before:
        if before.isdigit() and len(before) < 19:
            form.before = int(before)
        else:
            form.message = "The page link was not understood, so the newest entries are shown."
    return form


def query(form: SearchForm, **change: Any) -> dict[str, str]:
    """The form's filters as query parameters (for the paging links), with `change` applied."""
    params = {k: v for k, v in form.values.items() if v}
    params |= {k: str(v) for k, v in change.items() if v is not None}
    return params


def classes_words(classes: list[str]) -> str:
    """'Case facts, Identity'."""
    return ", ".join(CLASS_WORDS.get(c, c.replace("_", " ")) for c in classes if c)


def _details(details: Any) -> str:
    if not isinstance(details, dict) or not details:
        return ""
    parts = []
    for key, value in details.items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def entry_view(row: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """One log entry for the results table."""
    action = row["action"]
    return {
        **row,
        "at_iso": row["at"].isoformat(),
        "at_words": when(row["at"], zone),
        "action_words": ACTION_WORDS.get(action, ""),
        "outcome_words": OUTCOME_WORDS.get(row["outcome"], row["outcome"]),
        "role_words": (row["role"] or "").replace("_", " "),
        "classes_words": classes_words((row["classes"] or "").split(",")),
        "details_words": _details(row["details"]),
    }


def history_view(result: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """A record's disclosure history (the transparency service's answer) in words."""
    items = []
    for item in result["items"]:
        items.append(
            {
                **item,
                "at_words": when(item["at"], zone),
                "action_words": ACTION_WORDS.get(item["action"], item["action"]),
                "transport_words": TRANSPORT_WORDS.get(
                    item["transport"] or "", item["transport"] or "—"
                ),
                "classes_words": classes_words(item["classes"]),
            }
        )
    partners = sorted({i["partner"] for i in items})
    return {**result, "items": items, "partners": partners}


def verify_view(result: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """The result of "verify now" in words."""

    def checkpoint(cp: dict[str, Any] | None) -> dict[str, Any] | None:
        if cp is None:
            return None
        return {**cp, "at_iso": cp["at"].isoformat(), "at_words": when(cp["at"], zone)}

    checked = checkpoint(result["checked"])
    after = result["size"] - checked["size"] if checked else result["size"]
    return {
        **result,
        "checked": checked,
        "previous": checkpoint(result["previous"]),
        "at_iso": result["at"].isoformat(),
        "at_words": when(result["at"], zone),
        "uncovered": max(after, 0),
    }
