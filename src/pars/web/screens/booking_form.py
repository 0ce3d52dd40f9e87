"""The booking form, both ways: the posted fields read into the API's `ArrestIn` body (the same
model `POST /api/v1/arrests` validates), a draft's view written back into fields, and the
API's error pointers (pydantic's and the services' `InvalidInput`) turned into a sentence
beside the field they are about."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any

from pydantic import ValidationError

from pars.domain.catalogue import ChargeCatalogue
from pars.domain.errors import FieldError
from pars.services.inputs import ArrestIn
from pars.web.problems import pointer

__all__ = [
    "CHARGE_FIELDS",
    "PARTY_FIELDS",
    "PERSON_FIELDS",
    "Parsed",
    "field_of",
    "form_of_view",
    "new_form",
    "parse",
    "plain",
    "rows",
    "slot_names",
]

PERSON_FIELDS = (
    "last_name",
    "first_name",
    "middle_name",
    "suffix",
    "date_of_birth",
    "sex",
    "race",
    "ethnicity",
    "height_inches",
    "weight_pounds",
    "eye_color",
    "hair_color",
    "address",
    "phone",
    "local_person_id",
    "state_id",
    "fbi_number",
    "ssn",
    "place_of_birth",
    "citizenship",
)
CHARGE_FIELDS = ("statute", "grade", "counts", "modifier")
PARTY_FIELDS = ("name", "address", "phone")
_INTS = {"person.height_inches", "person.weight_pounds"}
_LINES = {"person.aliases", "person.scars_marks_tattoos"}
_SIMPLE = (
    "arrest_type",
    "location.address",
    "location.district",
    "report_number",
    "incident_number",
    "arresting_officer.badge",
    "arresting_officer.name",
    "arresting_officer.payroll",
    "units.arresting",
    "units.detaining",
    "narrative",
)

LABELS: dict[str, str] = {
    "arrested_date": "Date of arrest",
    "arrested_time": "Time of arrest",
    "arrest_type": "Type of arrest",
    "location.address": "Place of arrest",
    "location.district": "Police district",
    "report_number": "Report number",
    "incident_number": "Incident number",
    "arresting_officer.badge": "Badge number",
    "arresting_officer.name": "Officer's name",
    "arresting_officer.payroll": "Payroll number",
    "units.arresting": "Arresting unit",
    "units.detaining": "Detaining unit",
    "person.last_name": "Last name",
    "person.first_name": "First name",
    "person.middle_name": "Middle name",
    "person.suffix": "Suffix",
    "person.date_of_birth": "Date of birth",
    "person.sex": "Sex",
    "person.race": "Race",
    "person.ethnicity": "Ethnicity",
    "person.height_inches": "Height in inches",
    "person.weight_pounds": "Weight in pounds",
    "person.eye_color": "Eye colour",
    "person.hair_color": "Hair colour",
    "person.address": "Home address",
    "person.phone": "Phone",
    "person.local_person_id": "Local person ID",
    "person.state_id": "State ID",
    "person.fbi_number": "FBI number",
    "person.ssn": "Social security number",
    "person.place_of_birth": "Place of birth",
    "person.citizenship": "Citizenship",
    "person.aliases": "Other names used",
    "person.scars_marks_tattoos": "Scars, marks and tattoos",
    "charges": "Charges",
    "narrative": "What happened (probable cause)",
    "victims": "Victims",
    "witnesses": "Witnesses",
}
_CODE_HINT = "Use letters, digits and hyphens only, at most 20"
_HINTS: dict[str, str] = {
    "arrested_date": "Enter the date of arrest, as month/day/year",
    "arrested_time": "Enter the time of arrest, as hours and minutes",
    "arrest_type": "Choose on view, warrant or summons",
    "location.district": "Enter the district as 1 to 10 letters or digits, such as 6 or SW",
    "report_number": _CODE_HINT,
    "incident_number": _CODE_HINT,
    "arresting_officer.badge": _CODE_HINT,
    "arresting_officer.payroll": _CODE_HINT,
    "person.local_person_id": _CODE_HINT,
    "person.state_id": _CODE_HINT,
    "person.fbi_number": _CODE_HINT,
    "person.suffix": "Choose JR, SR, II, III, IV or V from the list",
    "person.date_of_birth": "Enter the date of birth, as month/day/year",
    "person.sex": "Choose the sex from the list",
    "person.race": "Choose the race from the list",
    "person.ethnicity": "Choose the ethnicity from the list",
    "person.height_inches": "Enter the height in inches, a whole number from 24 to 108",
    "person.weight_pounds": "Enter the weight in pounds, a whole number from 20 to 1000",
    "person.phone": "Enter the phone number with its area code, such as 215-555-0100",
    "person.ssn": "Enter the nine digits of the social security number, as 123-45-6789",
    "person.aliases": "Write each other name on its own line, as Last, First",
    "person.scars_marks_tattoos": "Write each mark on its own line, at most 100 characters",
    "charges.statute": "Type a citation (18 2701 A1) or words (assault) and pick a suggestion",
    "charges.grade": "Choose the grade from the list",
    "charges.counts": "Enter the number of counts, a whole number from 1 to 999",
    "charges.modifier": "Choose attempt, conspiracy or solicitation, or leave it empty",
    "victims.phone": "Enter the phone number with its area code, such as 215-555-0100",
    "witnesses.phone": "Enter the phone number with its area code, such as 215-555-0100",
}


@dataclass
class Parsed:
    """The form read as the API's body: `data` when it validates, else the errors, keyed by
    form field name, in plain words. `missing` lists the fields only left empty."""

    data: ArrestIn | None
    errors: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    # The form row of each body item of a repeated group (blank rows are skipped).
    origin: dict[str, list[int]] = field(default_factory=dict)


def rows(form: dict[str, str], group: str, least: int = 1) -> int:
    """How many rows of a repeated group (charges, victims, witnesses) the form holds."""
    found = [int(m.group(1)) for k in form if (m := re.match(rf"^{group}\.(\d+)\.", k))]
    return max(least, max(found) + 1 if found else 0)


def slot_names(form: dict[str, str], hidden: tuple[str, ...] = ()) -> list[str]:
    """Every field with an error slot on the form as it stands (for an autosave to refresh),
    but the `hidden` ones (fields the jurisdiction does not collect)."""
    names = [n for n in LABELS if n not in hidden]
    for group, fields in (
        ("charges", CHARGE_FIELDS),
        ("victims", PARTY_FIELDS),
        ("witnesses", PARTY_FIELDS),
    ):
        names += [f"{group}.{i}.{f}" for i in range(rows(form, group)) for f in fields]
    return names


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _alias(line: str) -> dict[str, str]:
    """'Last, First Middle' as an alias (an empty part is left for the model to refuse)."""
    last, _, rest = line.partition(",")
    names = rest.split()
    out = {"last_name": last.strip(), "first_name": names[0] if names else ""}
    if len(names) > 1:
        out["middle_name"] = " ".join(names[1:])
    return out


def _value(name: str, raw: str) -> Any:
    if name in _INTS or name.endswith(".counts"):
        return int(raw) if raw.isdigit() and len(raw) < 7 else raw
    return raw


def _set(body: dict[str, Any], name: str, value: Any) -> None:
    parts = name.split(".")
    for p in parts[:-1]:
        body = body.setdefault(p, {})
    body[parts[-1]] = value


def _arrested_at(form: dict[str, str], zone: tzinfo, errors: dict[str, str]) -> str | None:
    d, t = form.get("arrested_date", ""), form.get("arrested_time", "")
    day = clock = None
    try:
        day = date.fromisoformat(d)
    except ValueError:
        errors["arrested_date"] = _HINTS["arrested_date"]
    try:
        clock = time.fromisoformat(t) if re.fullmatch(r"\d\d:\d\d(:\d\d)?", t) else None
    except ValueError:
        clock = None
    if clock is None:
        errors["arrested_time"] = _HINTS["arrested_time"]
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, zone).isoformat()


def parse(form: dict[str, str], zone: tzinfo) -> Parsed:
    """The API's body from the form; blank rows and blank fields are left out."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"location": {}, "arresting_officer": {}, "person": {}}
    at = _arrested_at(form, zone, errors)
    if at:
        body["arrested_at"] = at
    for name in _SIMPLE:
        if form.get(name, ""):
            _set(body, name, form[name])
    for f in PERSON_FIELDS:
        name = f"person.{f}"
        if form.get(name, ""):
            body["person"][f] = _value(name, form[name])
    if aliases := _lines(form.get("person.aliases", "")):
        body["person"]["aliases"] = [_alias(line) for line in aliases]
    if marks := _lines(form.get("person.scars_marks_tattoos", "")):
        body["person"]["scars_marks_tattoos"] = marks
    # Which form row each body item came from: blank rows are skipped, so indexes shift.
    origin: dict[str, list[int]] = {}
    for group, names in (
        ("charges", CHARGE_FIELDS),
        ("victims", PARTY_FIELDS),
        ("witnesses", PARTY_FIELDS),
    ):
        items, origin[group] = [], []
        for i in range(rows(form, group)):
            item = {f: form.get(f"{group}.{i}.{f}", "") for f in names}
            if group == "charges":
                if not item["statute"]:
                    continue
                item = {f: _value(f"charges.{i}.{f}", v) for f, v in item.items() if v}
            elif not any(item.values()):
                continue
            items.append({f: v for f, v in item.items() if v != ""})
            origin[group].append(i)
        if items:
            body[group] = items
    try:
        data = ArrestIn.model_validate(body)
    except ValidationError as e:
        return _refused(e, errors, origin)
    if errors:
        return Parsed(None, errors, origin=origin)
    return Parsed(data, origin=origin)


def _refused(e: ValidationError, errors: dict[str, str], origin: dict[str, list[int]]) -> Parsed:
    missing: list[str] = []
    for err in e.errors(include_input=False, include_url=False):
        loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
        name = field_of(pointer(loc), origin)
        if name == "arrested_date" and ("arrested_date" in errors or "arrested_time" in errors):
            continue
        if err["type"] == "missing":
            missing.append(name)
        errors.setdefault(name, plain(name, str(err.get("msg", "")), err["type"]))
    return Parsed(None, errors, missing, origin)


def field_of(ptr: str, origin: dict[str, list[int]] | None = None) -> str:
    """The form field an API pointer (`/person/last_name`, `/charges/0/statute`) is about."""
    parts = [p for p in ptr.strip("/").split("/") if p]
    if parts and parts[0] == "changes":
        parts = parts[1:]
    if not parts:
        return ""
    if parts[0] == "arrested_at":
        return "arrested_date"
    if parts[0] in ("charges", "victims", "witnesses"):
        if len(parts) >= 2 and parts[1].isdigit():
            i = int(parts[1])
            order = (origin or {}).get(parts[0])
            row = order[i] if order and i < len(order) else i
            sub = parts[2] if len(parts) > 2 else ("statute" if parts[0] == "charges" else "name")
            return f"{parts[0]}.{row}.{sub}"
        return parts[0]
    name = ".".join(parts[:2])
    if name in LABELS:
        return name
    if parts[0] in ("location", "arresting_officer", "units", "person") and len(parts) == 1:
        return {"location": "location.address", "arresting_officer": "arresting_officer.badge"}.get(
            parts[0], f"{parts[0]}.last_name" if parts[0] == "person" else "units.arresting"
        )
    return parts[0] if parts[0] in LABELS else ""


def label(name: str) -> str:
    """The field's label, for the error summary."""
    m = re.match(r"^(charges|victims|witnesses)\.(\d+)\.(\w+)$", name)
    if m:
        group, i, sub = m.groups()
        noun = {"charges": "Charge", "victims": "Victim", "witnesses": "Witness"}[group]
        return f"{noun} {int(i) + 1}: {sub.replace('_', ' ')}"
    return LABELS.get(name, name or "The report")


def _hint(name: str) -> str | None:
    generic = re.sub(r"\.\d+\.", ".", name)
    return _HINTS.get(name) or _HINTS.get(generic)


def plain(name: str, detail: str, kind: str = "") -> str:
    """The error in words an officer reads at 3 a.m.: what to enter, not which rule failed."""
    what = label(name)
    what_lower = what[0].lower() + what[1:] if what else what
    if kind == "missing":
        if name.endswith(".name") and name.startswith(("victims", "witnesses")):
            return "Enter the name, or clear this row"
        return f"Enter the {what_lower.split(': ')[-1]}"
    if name.startswith("charges.") and name.endswith(".statute") and "unknown statute" in detail:
        return "No charge in the catalogue matches this. " + _HINTS["charges.statute"]
    if kind in ("string_too_long",):
        return f"This is too long: {detail.replace('String should have ', '')}"
    if detail.startswith(("is ", "must ", "cannot ")) and kind not in ("string_type",):
        if "control characters" in detail or "one line" in detail:
            return "Use one line of plain text"
        return f"The {what_lower.split(': ')[-1]} {detail}"
    if detail.startswith(("an arrest needs", "the date of birth", "this jurisdiction")):
        return detail[0].upper() + detail[1:]
    hint = _hint(name)
    if hint:
        return hint
    return detail[0].upper() + detail[1:] if detail else "Check this field"


# -- the other way: a draft into form fields --------------------------------------------------


def new_form(zone: tzinfo, now: datetime, last: dict[str, Any] | None) -> dict[str, str]:
    """An empty report: now as the arrest time, on view, and the officer's own details from
    their last report (badge, name, units), so that they are not typed at every arrest."""
    local = now.astimezone(zone)
    form = {
        "arrested_date": local.date().isoformat(),
        "arrested_time": f"{local:%H:%M}",
        "arrest_type": "on_view",
        "charges.0.counts": "1",
    }
    if last:
        for key in ("arresting_officer", "units"):
            for k, v in (last.get(key) or {}).items():
                if v:
                    form[f"{key}.{k}"] = str(v)
        district = (last.get("location") or {}).get("district")
        if district:
            form["location.district"] = district
    return form


def form_of_view(view: dict[str, Any], zone: tzinfo) -> dict[str, str]:
    """A draft (as `services.views.render` shows it) as the form's fields."""
    form: dict[str, str] = {}
    at = datetime.fromisoformat(view["arrested_at"]).astimezone(zone)
    form["arrested_date"], form["arrested_time"] = at.date().isoformat(), f"{at:%H:%M}"
    for name in _SIMPLE:
        head, _, tail = name.partition(".")
        value = view.get(head)
        if tail:
            value = (value or {}).get(tail)
        if value not in (None, ""):
            form[name] = str(value)
    person = view.get("person") or {}
    for f in PERSON_FIELDS:
        if person.get(f) not in (None, ""):
            form[f"person.{f}"] = str(person[f])
    form["person.aliases"] = "\n".join(
        f"{a.get('last_name', '')}, {a.get('first_name', '')}"
        + (f" {a['middle_name']}" if a.get("middle_name") else "")
        for a in person.get("aliases") or ()
    )
    form["person.scars_marks_tattoos"] = "\n".join(person.get("scars_marks_tattoos") or ())
    for i, c in enumerate(view.get("charges") or ()):
        form[f"charges.{i}.statute"] = c["statute"]
        form[f"charges.{i}.grade"] = c.get("grade") or ""
        form[f"charges.{i}.counts"] = str(c.get("counts") or 1)
        form[f"charges.{i}.modifier"] = c.get("modifier") or ""
    if not view.get("charges"):
        form["charges.0.counts"] = "1"
    for group in ("victims", "witnesses"):
        for i, p in enumerate(view.get(group) or ()):
            for f in PARTY_FIELDS:
                if p.get(f):
                    form[f"{group}.{i}.{f}"] = str(p[f])
    pick = (view.get("identification") or {}).get("person_id")
    if pick:
        form["person_id"] = pick
    return form


def charge_key(catalogue: ChargeCatalogue, c: dict[str, Any]) -> tuple[Any, ...]:
    """A charge as the record would hold it (the catalogue's citation and default grade), for
    telling whether a saved draft's charges changed."""
    offense = catalogue.get(str(c.get("statute", "")))
    statute = str(offense.citation) if offense else c.get("statute")
    grade = c.get("grade") or (offense.default_grade.value if offense else None)
    return (statute, str(grade), c.get("counts") or 1, c.get("modifier"))


def errors_of(
    items: list[FieldError], origin: dict[str, list[int]] | None = None
) -> dict[str, str]:
    """The services' `InvalidInput` errors by form field, in words."""
    out: dict[str, str] = {}
    for e in items:
        name = field_of(e.pointer, origin)
        out.setdefault(name, plain(name, e.detail))
    return out
