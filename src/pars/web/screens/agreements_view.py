"""What the agreements screen shows and reads, apart from its routes: the field table (computed
by running the real projection on a record holding every catalogue leaf), the draft form turned
into the API's `AgreementIn`, and the service's or pydantic's errors put next to the form's
fields in plain words."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

import yaml
from pydantic import ValidationError

from pars.domain.events import EVENT_TYPES
from pars.sharing.agreements import LOOKUP_IDENTIFIERS, Agreement, AgreementState
from pars.sharing.canaries import canary_record, leaves_seen
from pars.sharing.fields import ARREST_FIELDS, NEVER_DISCLOSED, SENSITIVE_CLASSES, FieldClass
from pars.sharing.policy import JurisdictionPolicy
from pars.sharing.projection import Event, project

__all__ = [
    "CLASS_WORDS",
    "EVENT_CHOICES",
    "FormErrors",
    "event_words",
    "field_errors",
    "field_table",
    "form_body",
    "local_input",
    "parse_instant",
    "yaml_body",
]

CLASS_WORDS: dict[str, str] = {
    FieldClass.CASE: "Case facts (times, charges, bail, docket)",
    FieldClass.IDENTITY: "Identity (names, date of birth, description, person IDs)",
    FieldClass.CONTACT: "Contact (home address, phone)",
    FieldClass.OFFICER: "Officers and units",
    FieldClass.NARRATIVE: "Free text typed by staff",
    FieldClass.PROTECTED: "Protected (SSN, place of birth, citizenship)",
    FieldClass.VICTIM_WITNESS: "Victims and witnesses",
    FieldClass.JUVENILE: "Juvenile records",
    FieldClass.STAFF: "Staff usernames (never shared)",
}
GRANTABLE_CLASSES = [c.value for c in FieldClass if c not in NEVER_DISCLOSED]
EVENT_CHOICES = sorted(EVENT_TYPES)
IDENTIFIER_WORDS = {
    "otn": "Offense tracking number",
    "docket": "Docket number",
    "state_id": "State ID",
}
assert set(IDENTIFIER_WORDS) == LOOKUP_IDENTIFIERS

FormErrors = dict[str, list[str]]


def event_words(event_type: str) -> str:
    """'pars.arrest.released_for_summons' -> 'Arrest released for summons'."""
    return event_type.removeprefix("pars.").replace(".", " ").replace("_", " ").capitalize()


# -- the field table ---------------------------------------------------------------------------


def field_table(a: Agreement, policy: JurisdictionPolicy, source: str) -> dict[str, Any]:
    """Which catalogue leaves this agreement version's partner receives for each event type it
    covers, as `project()` answers for a record holding a canary in every leaf, at the start of
    the term and as if the version were in force with the approvals it has now. Also whether a
    juvenile's record would be sent at all, and which granted leaves the projection holds back
    (the policy forbids their class, or a sensitive class lacks the owners' quorum)."""
    in_force = a if a.state is AgreementState.ACTIVE else replace(a, state=AgreementState.ACTIVE)
    at = a.starts_at
    adult = canary_record(items=1)
    juvenile = {**adult, "juvenile": True}
    columns = sorted(a.event_types)
    sent: dict[str, set[str]] = {}
    juvenile_sent: dict[str, bool] = {}
    for t in columns:
        event = Event("sample", t, source, "sample", at, 1, adult)
        out = project(in_force, event, at, policy)
        data = out["data"] if out else {}
        seen = leaves_seen(json.dumps(data))
        if "juvenile" in data:  # the one leaf holding a real flag, not a canary
            seen.add("juvenile")
        sent[t] = seen
        juvenile_sent[t] = (
            project(in_force, replace(event, record=juvenile), at, policy) is not None
        )
    every = set().union(*sent.values()) if sent else set()
    granted = a.granted_fields()
    rows = [
        {"path": p, "class": ARREST_FIELDS[p].value, "cells": [p in sent[t] for t in columns]}
        for p in ARREST_FIELDS
        if p in every
    ]
    held = [
        {"path": p, "class": ARREST_FIELDS[p].value} for p in ARREST_FIELDS if p in granted - every
    ]
    rest = [
        {"path": p, "class": ARREST_FIELDS[p].value}
        for p in ARREST_FIELDS
        if p not in granted | every
    ]
    return {
        "columns": [{"type": t, "words": event_words(t), "count": len(sent[t])} for t in columns],
        "rows": rows,
        "juvenile": [juvenile_sent[t] for t in columns],
        "held_back": held,
        "not_granted": rest,
        "total": len(ARREST_FIELDS),
    }


def sensitive_asked(a: Agreement) -> list[str]:
    """The sensitive classes this version asks for (each needs a quorum's explicit approval)."""
    return sorted(c.value for c in a.granted_classes() & SENSITIVE_CLASSES)


# -- the draft form -------------------------------------------------------------------------


def local_input(value: datetime | str | None, zone: tzinfo) -> str:
    """An instant as a `datetime-local` input's value in the city's time zone."""
    if not value:
        return ""
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    return t.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def parse_instant(raw: str, zone: tzinfo, name: str, what: str, errors: FormErrors) -> str | None:
    """A `datetime-local` value (the city's time) as an ISO instant; None, with an error under
    `name`, when it is empty or not a date and time."""
    raw = raw.strip()
    if not raw:
        errors.setdefault(name, []).append(f"Enter the date and time {what}")
        return None
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        errors.setdefault(name, []).append(
            f"Enter the date and time {what} as a date and a time, like 11/20/2026 12:00 AM"
        )
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=zone)
    return t.isoformat()


def _lines(raw: str) -> list[str]:
    return [x.strip() for chunk in raw.splitlines() for x in chunk.split(",") if x.strip()]


def form_body(form: dict[str, Any], zone: tzinfo) -> tuple[dict[str, Any], FormErrors]:
    """The draft form as the JSON body `POST /api/v1/agreements` takes, and the errors found
    before the API's own checks (a date that is not one)."""
    errors: FormErrors = {}
    body: dict[str, Any] = {
        "partner": form["partner"].strip(),
        "purpose": form["purpose"].strip(),
        "legal_basis": form["legal_basis"].strip(),
        "event_types": list(form["event_types"]),
        "granted": list(form["classes"]) + _lines(form["fields"]),
        "transport": form["transport"] or "feed",
        "lookup": {"identifiers": list(form["identifiers"])},
    }
    if form["webhook_url"].strip():
        body["webhook_url"] = form["webhook_url"].strip()
    per_minute = form["per_minute"].strip() or "0"
    if per_minute.isdigit():
        body["lookup"]["per_minute"] = int(per_minute)
    else:
        errors["per_minute"] = ["Enter the look-ups allowed per minute as a whole number, 0 to 600"]
    for name, what in (("starts_at", "it starts"), ("ends_at", "it ends")):
        value = parse_instant(form[name], zone, name, what, errors)
        if value:
            body[name] = value
    return body, errors


def yaml_body(text: str) -> tuple[dict[str, Any] | None, FormErrors]:
    """A YAML agreement document (as `pars agreements import` reads it) as the JSON body."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return None, {"document": [f"This is not YAML{where}: check the indentation and colons"]}
    if not isinstance(data, dict):
        return None, {"document": ["Paste a YAML mapping: one 'key: value' per line"]}
    # The same route into the model as the CLI: dates YAML parsed become ISO strings again.
    body: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return body, {}


# -- errors next to fields ------------------------------------------------------------------

_FIELD = {
    "partner": "partner",
    "purpose": "purpose",
    "legal_basis": "legal_basis",
    "event_types": "event_types",
    "granted": "granted",
    "starts_at": "starts_at",
    "ends_at": "ends_at",
    "transport": "transport",
    "webhook_url": "webhook_url",
    "lookup": "identifiers",
    "sensitive": "sensitive",
}
_PLAIN = {
    "partner": "Choose the partner agency",
    "purpose": "Say what the partner will use the data for, in one line of at most 500 characters",
    "legal_basis": "Name the law or rule that allows the sharing, in one line (500 characters)",
    "event_types": "Tick at least one event type",
    "granted": "Grant at least one class or field; put each field name on its own line",
    "starts_at": "Enter the date and time it starts",
    "ends_at": "Enter the date and time it ends",
    "transport": "Choose how the partner receives events",
    "webhook_url": "Enter the webhook address, starting with https://",
    "identifiers": "Look-ups are only by offense tracking number, docket number or state ID",
    "per_minute": "Enter the look-ups allowed per minute as a whole number, 0 to 600",
    "sensitive": "Approve only sensitive classes the agreement asks for",
}


# The service's few terse details, in the screen's words.
_SERVICE_WORDS = {
    "must be after starts_at": "The end must be after the start",
    "required for webhook transport": "Enter the webhook address the partner gave you",
    "from 1 to 600": "Allow from 1 to 600 look-ups a minute when look-ups are allowed",
}


def _form_field(parts: list[str]) -> str:
    if not parts:
        return "general"
    if parts[0] == "lookup" and parts[1:2] == ["per_minute"]:
        return "per_minute"
    return _FIELD.get(parts[0], "general")


def field_errors(
    exc: ValidationError | None = None, service: list[tuple[str, str]] | None = None
) -> FormErrors:
    """pydantic's errors in the screen's plain words, and the service's own (already worded)
    as they are, each under the form field it concerns (`general` for the rest)."""
    out: FormErrors = {}
    for e in exc.errors(include_input=False, include_url=False) if exc else ():
        parts = [str(p) for p in e["loc"] if not str(p).startswith("function-")]
        name = _form_field(parts)
        if e["type"] == "extra_forbidden":
            text = f"'{'.'.join(parts)}' is not part of an agreement draft: remove it"
        elif name == "general":
            text = "Fill in the agreement: " + e["msg"]
        else:
            text = _PLAIN[name]
        if text not in out.get(name, []):
            out.setdefault(name, []).append(text)
    for pointer, detail in service or ():
        name = _form_field([p for p in pointer.split("/") if p])
        text = _SERVICE_WORDS.get(detail, detail[:1].upper() + detail[1:])
        if text not in out.get(name, []):
            out.setdefault(name, []).append(text)
    return out
