"""The field catalogue: every leaf an arrest record can disclose, each with exactly one class.

A class belongs to a leaf, never to a subtree. Paths name object keys with dots and list
elements with `[]`: `person.ssn`, `charges[].statute`, `custody_changes[].by`,
`person.scars_marks_tattoos[]` (a list of plain values is one leaf). A partner never receives a
leaf the catalogue does not name (deny by default), and a test builds a fully populated record
through the whole workflow and fails on any leaf without a class, so a new field cannot leak by
omission, however deep it sits.

Two rules hold whatever an agreement says:
- `staff` leaves (the username of whoever took a step) never leave PARS;
- free text typed by staff (reasons, notes, conditions) is `narrative`, wherever it sits, since
  it can name anyone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

__all__ = [
    "ARREST_FIELDS",
    "NEVER_DISCLOSED",
    "SENSITIVE_CLASSES",
    "FieldClass",
    "disclosed_classes",
    "field_paths",
    "leaves_under",
    "unclassified",
]


class FieldClass(StrEnum):
    CASE = "case"
    IDENTITY = "identity"
    CONTACT = "contact"
    OFFICER = "officer"
    NARRATIVE = "narrative"
    PROTECTED = "protected"
    VICTIM_WITNESS = "victim_witness"
    JUVENILE = "juvenile"
    STAFF = "staff"


# Classes that leave only when the jurisdiction's policy allows the partner class AND the owners
# approved them by quorum on the agreement.
SENSITIVE_CLASSES: frozenset[FieldClass] = frozenset(
    {FieldClass.PROTECTED, FieldClass.VICTIM_WITNESS, FieldClass.JUVENILE}
)
# Classes no agreement and no policy can grant: who did what inside PARS is staff data.
NEVER_DISCLOSED: frozenset[FieldClass] = frozenset({FieldClass.STAFF})

C = FieldClass
_PERSON_IDENTITY = (
    "last_name", "first_name", "middle_name", "suffix", "date_of_birth", "sex", "race",
    "ethnicity", "height_inches", "weight_pounds", "eye_color", "hair_color",
    "local_person_id", "state_id", "fbi_number",
)  # fmt: skip
_CHARGE_SPEC = ("statute", "description", "grade", "counts", "modifier")
_PARTY = ("name", "address", "phone")


def _step(head: str, when: str, by: str, **more: FieldClass) -> dict[str, FieldClass]:
    """A workflow step's leaves: when it happened (case), who did it (staff), and the rest."""
    return {f"{head}.{when}": C.CASE, f"{head}.{by}": C.STAFF} | {
        f"{head}.{k}": v for k, v in more.items()
    }


ARREST_FIELDS: Mapping[str, FieldClass] = {
    "id": C.CASE,
    "otn": C.CASE,
    "state": C.CASE,
    "custody": C.CASE,
    "custody_indicator": C.CASE,
    "version": C.CASE,
    "juvenile": C.CASE,
    "created_at": C.CASE,
    "created_by": C.STAFF,
    "submitted_at": C.CASE,
    "arrested_at": C.CASE,
    "arrest_type": C.CASE,
    "location.address": C.CASE,
    "location.district": C.CASE,
    "arresting_officer.badge": C.OFFICER,
    "arresting_officer.name": C.OFFICER,
    "arresting_officer.payroll": C.OFFICER,
    "units.arresting": C.OFFICER,
    "units.detaining": C.OFFICER,
    "report_number": C.CASE,
    "incident_number": C.CASE,
    **{f"person.{k}": C.IDENTITY for k in _PERSON_IDENTITY},
    **{f"person.aliases[].{k}": C.IDENTITY for k in ("last_name", "first_name", "middle_name")},
    "person.scars_marks_tattoos[]": C.IDENTITY,
    "person.address": C.CONTACT,
    # The same address in parts, when it was given so (`address` holds it as one line).
    **{f"person.address_parts.{k}": C.CONTACT for k in ("street", "unit", "city", "state", "zip")},
    "person.phone": C.CONTACT,
    "person.ssn": C.PROTECTED,
    "person.place_of_birth": C.PROTECTED,
    "person.citizenship": C.PROTECTED,
    "charges[].id": C.CASE,
    **{f"charges[].{k}": C.CASE for k in _CHARGE_SPEC},
    "charges[].origin": C.CASE,
    "charges[].decision": C.CASE,
    **{f"charges[].recommended.{k}": C.CASE for k in _CHARGE_SPEC},
    "charges[].decision_reason": C.NARRATIVE,  # the prosecutor's free text
    "narrative": C.NARRATIVE,
    **{f"victims[].{k}": C.VICTIM_WITNESS for k in _PARTY},
    **{f"witnesses[].{k}": C.VICTIM_WITNESS for k in _PARTY},
    "co_defendants[]": C.CASE,
    **_step(
        "identification",
        "at",
        "by",
        person_id=C.IDENTITY,
        state_id=C.IDENTITY,
        fbi_number=C.IDENTITY,
        local_person_id=C.IDENTITY,
    ),
    **_step("charging", "review_opened_at", "review_opened_by"),
    **_step(
        "charging",
        "decided_at",
        "decided_by",
        outcome=C.CASE,
        reason=C.NARRATIVE,
        notes=C.NARRATIVE,
        complaint_filed_at=C.CASE,
    ),
    **_step("summons_release", "at", "by", reason=C.NARRATIVE),
    **_step(
        "pretrial",
        "recorded_at",
        "recorded_by",
        recommendation=C.CASE,
        note=C.NARRATIVE,
        **{
            "address.verified": C.CASE,
            "address.method": C.CASE,
            "address.detail": C.NARRATIVE,  # "spoke with his mother at ...": free text
            "reasons[]": C.CASE,  # controlled codes
        },
    ),
    **_step("arraignment_session", "scheduled_at", "scheduled_by", session_at=C.CASE),
    **_step(
        "arraignment",
        "recorded_at",
        "recorded_by",
        session_at=C.CASE,
        probable_cause_found=C.CASE,
        preliminary_hearing_date=C.CASE,
        docket_number=C.CASE,
        arrest_to_arraignment_minutes=C.CASE,
        notes=C.NARRATIVE,
        # Names of the court officers as typed: the public court record, not staff accounts.
        magistrate=C.CASE,
        defense_counsel=C.CASE,
        prosecutor=C.CASE,
    ),
    **{f"arraignment.bail.{k}": C.CASE for k in ("type", "amount", "deposit_percent")},
    "arraignment.bail.deposit_due": C.CASE,
    # Conditions are typed free text ("stay away from ..." can name a victim).
    "arraignment.bail.conditions[]": C.NARRATIVE,
    **{f"custody_changes[].{k}": C.CASE for k in ("from", "to", "reason", "at")},
    "custody_changes[].note": C.NARRATIVE,
    "custody_changes[].by": C.STAFF,
    **_step("seal", "at", "by", order=C.CASE),
    **_step("expunction", "at", "by", order=C.CASE),
}

# Keys of a staff view that describe the viewer's session, not the record; never disclosed.
_VIEW_ONLY = frozenset({"allowed_actions", "redacted"})


def _prefixes(paths: Mapping[str, FieldClass]) -> frozenset[str]:
    """Every object or list path above a leaf: `person`, `person.aliases`, `person.aliases[]`,
    `charges`, `charges[]`, `co_defendants`..."""
    out: set[str] = set()
    for path in paths:
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            head = ".".join(parts[:i])
            if head.endswith("[]"):
                out.update({head, head[:-2]})
            elif i < len(parts):
                out.add(head)
    return frozenset(out - set(paths))


_CONTAINERS = _prefixes(ARREST_FIELDS)


def leaves_under(name: str) -> frozenset[str]:
    """The leaves a grant by name covers: the leaf itself, or every leaf of a subtree
    (`person`, `charges`, `custody_changes`, `arraignment.bail`). Empty if it names none."""
    if name in ARREST_FIELDS:
        return frozenset({name})
    return frozenset(p for p in ARREST_FIELDS if p.startswith((f"{name}.", f"{name}[]")) and name)


def field_paths(record: Mapping[str, Any]) -> Iterator[str]:
    """Every leaf path present in a record, in objects and lists at any depth."""
    for key, value in record.items():
        if key not in _VIEW_ONLY:
            yield from _walk(key, value)


def _walk(path: str, value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            yield from _walk(f"{path}.{key}", sub)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(f"{path}[]", item)
    elif value is None and path in _CONTAINERS and path not in ARREST_FIELDS:
        return  # a stage not reached yet: nothing to disclose
    else:
        yield path


def unclassified(record: Mapping[str, Any]) -> list[str]:
    """Leaf paths present in the record that the catalogue does not classify."""
    return sorted({p for p in field_paths(record) if p not in ARREST_FIELDS})


def disclosed_classes(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The field classes a (projected) record carries, for the disclosure log. A juvenile's
    record counts as `juvenile` whatever its fields."""
    classes = {ARREST_FIELDS[p].value for p in field_paths(record) if p in ARREST_FIELDS}
    if record.get("juvenile"):
        classes.add(FieldClass.JUVENILE.value)
    return tuple(sorted(classes))
