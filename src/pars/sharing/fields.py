"""The field catalogue: every field an arrest record can disclose, each with exactly one class.

A partner never receives a field the catalogue does not name (deny by default), and a test builds
a fully populated record through the whole workflow and fails on any field without a class, so a
new field cannot leak by omission.

Paths name a top-level key (`narrative`) or one key inside an object (`person.ssn`); lists of
objects (charges, victims, custody changes) are classified as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

__all__ = [
    "ARREST_FIELDS",
    "SENSITIVE_CLASSES",
    "FieldClass",
    "disclosed_classes",
    "field_paths",
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


# Classes that leave only when the jurisdiction's policy allows the partner class AND the owners
# approved them by quorum on the agreement.
SENSITIVE_CLASSES: frozenset[FieldClass] = frozenset(
    {FieldClass.PROTECTED, FieldClass.VICTIM_WITNESS, FieldClass.JUVENILE}
)

C = FieldClass
_PERSON_IDENTITY = (
    "last_name", "first_name", "middle_name", "suffix", "date_of_birth", "sex", "race",
    "ethnicity", "aliases", "height_inches", "weight_pounds", "eye_color", "hair_color",
    "scars_marks_tattoos", "local_person_id", "state_id", "fbi_number",
)  # fmt: skip
_STAFF = C.OFFICER  # usernames of the staff who took each step

ARREST_FIELDS: Mapping[str, FieldClass] = {
    "id": C.CASE,
    "otn": C.CASE,
    "state": C.CASE,
    "custody": C.CASE,
    "custody_indicator": C.CASE,
    "version": C.CASE,
    "juvenile": C.CASE,
    "created_at": C.CASE,
    "created_by": _STAFF,
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
    "person.address": C.CONTACT,
    "person.phone": C.CONTACT,
    "person.ssn": C.PROTECTED,
    "person.place_of_birth": C.PROTECTED,
    "person.citizenship": C.PROTECTED,
    "charges": C.CASE,
    "narrative": C.NARRATIVE,
    "victims": C.VICTIM_WITNESS,
    "witnesses": C.VICTIM_WITNESS,
    "co_defendants": C.CASE,
    "identification.person_id": C.IDENTITY,
    "identification.state_id": C.IDENTITY,
    "identification.fbi_number": C.IDENTITY,
    "identification.local_person_id": C.IDENTITY,
    "identification.by": _STAFF,
    "identification.at": C.CASE,
    "charging.outcome": C.CASE,
    "charging.reason": C.CASE,
    "charging.notes": C.NARRATIVE,
    "charging.decided_by": _STAFF,
    "charging.decided_at": C.CASE,
    "charging.complaint_filed_at": C.CASE,
    "charging.review_opened_by": _STAFF,
    "charging.review_opened_at": C.CASE,
    "summons_release.reason": C.CASE,
    "summons_release.by": _STAFF,
    "summons_release.at": C.CASE,
    "arraignment_session.session_at": C.CASE,
    "arraignment_session.scheduled_by": _STAFF,
    "arraignment_session.scheduled_at": C.CASE,
    "arraignment.session_at": C.CASE,
    "arraignment.magistrate": C.CASE,
    "arraignment.probable_cause_found": C.CASE,
    "arraignment.bail": C.CASE,
    "arraignment.preliminary_hearing_date": C.CASE,
    "arraignment.defense_counsel": C.CASE,
    "arraignment.prosecutor": C.CASE,
    "arraignment.notes": C.NARRATIVE,
    "arraignment.docket_number": C.CASE,
    "arraignment.recorded_by": _STAFF,
    "arraignment.recorded_at": C.CASE,
    "arraignment.arrest_to_arraignment_minutes": C.CASE,
    "custody_changes": C.CASE,
    "seal.order": C.CASE,
    "seal.by": _STAFF,
    "seal.at": C.CASE,
    "expunction.order": C.CASE,
    "expunction.by": _STAFF,
    "expunction.at": C.CASE,
}

# Keys of a staff view that describe the viewer's session, not the record; never disclosed.
_VIEW_ONLY = frozenset({"allowed_actions", "redacted"})
# Objects whose keys are classified one by one; every other value is classified as a whole.
_OBJECTS = frozenset(p.split(".", 1)[0] for p in ARREST_FIELDS if "." in p)


def field_paths(record: Mapping[str, Any]) -> Iterator[str]:
    """Every catalogue-level path present in a record (objects one level deep)."""
    for key, value in record.items():
        if key in _VIEW_ONLY:
            continue
        if key in _OBJECTS and isinstance(value, Mapping):
            for sub in value:
                yield f"{key}.{sub}"
        elif key in _OBJECTS and value is None:
            continue  # a stage not reached yet: nothing to disclose
        else:
            yield key


def unclassified(record: Mapping[str, Any]) -> list[str]:
    """Paths present in the record that the catalogue does not classify."""
    return sorted(p for p in field_paths(record) if p not in ARREST_FIELDS)


def disclosed_classes(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The field classes a (projected) record carries, for the disclosure log. A juvenile's
    record counts as `juvenile` whatever its fields."""
    classes = {ARREST_FIELDS[p].value for p in field_paths(record) if p in ARREST_FIELDS}
    if record.get("juvenile"):
        classes.add(FieldClass.JUVENILE.value)
    return tuple(sorted(classes))
