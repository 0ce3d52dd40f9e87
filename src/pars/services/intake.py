"""Turning validated input into the arrest's document, its protected part and its charges, with the
checks that need the catalogue, the clock or the jurisdiction's settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pars.domain.charging import Charge, ChargeSpec
from pars.domain.errors import FieldError, InvalidInput
from pars.services.app import Pars
from pars.services.inputs import AddressIn, ArrestIn, ArrestPatch, ChargeIn, PartyIn

__all__ = ["PROTECTED_PERSON_FIELDS", "charge_spec", "intake", "intake_patch"]

# Person fields kept only in the encrypted part of the record.
PROTECTED_PERSON_FIELDS = ("ssn", "place_of_birth", "citizenship")
_FUTURE_TOLERANCE = timedelta(minutes=5)
_MAX_AGE_YEARS = 120


def charge_spec(
    pars: Pars,
    ptr: str,
    statute: str,
    grade: Any,
    counts: int | None,
    description: str | None,
    modifier: Any,
    errors: list[FieldError],
) -> ChargeSpec | None:
    """A charge from the catalogue; the grade and description default to the catalogue's."""
    offense = pars.catalogue.get(statute)
    if offense is None:
        errors.append(
            FieldError(
                f"{ptr}/statute",
                f"unknown statute {statute!r}; look it up with GET /api/v1/charges?q=",
            )
        )
        return None
    return ChargeSpec(
        statute=str(offense.citation),
        description=description or offense.description,
        grade=grade or offense.default_grade,
        counts=counts or 1,
        modifier=modifier,
    )


def _charges(pars: Pars, items: Sequence[ChargeIn], errors: list[FieldError]) -> list[Charge]:
    charges = []
    for i, c in enumerate(items):
        spec = charge_spec(
            pars, f"/charges/{i}", c.statute, c.grade, c.counts, c.description, c.modifier, errors
        )
        if spec is not None:
            charges.append(Charge(id=i + 1, spec=spec))
    return charges


def _check_person(
    pars: Pars, person: dict[str, Any], arrested_at: datetime | None, errors: list[FieldError]
) -> None:
    s = pars.settings
    if person.get("place_of_birth") is not None and not s.collect_place_of_birth:
        errors.append(
            FieldError(
                "/person/place_of_birth", "this jurisdiction does not collect place of birth"
            )
        )
    if person.get("citizenship") is not None and not s.collect_citizenship:
        errors.append(
            FieldError("/person/citizenship", "this jurisdiction does not collect citizenship")
        )
    dob: date | None = person.get("date_of_birth")
    if dob is not None:
        today = pars.clock.now().astimezone(s.zone).date()
        if dob > today:
            errors.append(FieldError("/person/date_of_birth", "is in the future"))
        elif arrested_at is not None and dob > arrested_at.astimezone(s.zone).date():
            errors.append(FieldError("/person/date_of_birth", "is after the arrest"))
        elif today.year - dob.year > _MAX_AGE_YEARS:
            errors.append(
                FieldError("/person/date_of_birth", f"is more than {_MAX_AGE_YEARS} years ago")
            )
    year: int | None = person.get("birth_year")
    if year is not None:
        this_year = pars.clock.now().astimezone(s.zone).year
        if year > this_year:
            errors.append(FieldError("/person/birth_year", "is in the future"))
        elif arrested_at is not None and year > arrested_at.astimezone(s.zone).year:
            errors.append(FieldError("/person/birth_year", "is after the arrest"))
        elif this_year - year > _MAX_AGE_YEARS:
            errors.append(
                FieldError("/person/birth_year", f"is more than {_MAX_AGE_YEARS} years ago")
            )


def _check_arrested_at(pars: Pars, at: datetime, errors: list[FieldError]) -> None:
    if at > pars.clock.now() + _FUTURE_TOLERANCE:
        errors.append(FieldError("/arrested_at", "is in the future"))


def _parties(items: Sequence[PartyIn]) -> list[dict[str, Any]]:
    return [p.model_dump(exclude_none=True) for p in items]


def _address_in_document(person: dict[str, Any]) -> None:
    """An address given in parts is stored as its one line in `address` (what screens, the
    complaint and partners read) with the parts beside it in `address_parts`; an address given
    as text (or removed, as null) clears the parts."""
    if "address" not in person:
        return
    value = person["address"]
    if isinstance(value, dict):
        parts = {k: v for k, v in value.items() if v is not None}
        person["address"] = AddressIn(**parts).line()
        person["address_parts"] = parts
    else:
        person["address_parts"] = None


def _split_person(person: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    ordinary = {k: v for k, v in person.items() if k not in PROTECTED_PERSON_FIELDS}
    protected = {k: v for k, v in person.items() if k in PROTECTED_PERSON_FIELDS}
    return ordinary, protected


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def intake(pars: Pars, data: ArrestIn) -> tuple[dict[str, Any], dict[str, Any], list[Charge]]:
    """(document, protected, charges) for a new arrest; InvalidInput naming every bad field."""
    errors: list[FieldError] = []
    _check_arrested_at(pars, data.arrested_at, errors)
    person_raw = data.person.model_dump(exclude_none=True)
    _check_person(pars, person_raw, data.arrested_at, errors)
    charges = _charges(pars, data.charges, errors)
    if errors:
        raise InvalidInput(errors)
    _address_in_document(person_raw)
    if person_raw.get("address_parts") is None:
        person_raw.pop("address_parts", None)
    person, person_protected = _split_person(person_raw)
    document = _jsonable(
        data.model_dump(exclude_none=True, exclude={"person", "charges", "victims", "witnesses"})
    )
    document["person"] = _jsonable(person)
    protected: dict[str, Any] = {}
    if person_protected:
        protected["person"] = person_protected
    if data.victims:
        protected["victims"] = _parties(data.victims)
    if data.witnesses:
        protected["witnesses"] = _parties(data.witnesses)
    return document, protected, charges


def intake_patch(pars: Pars, patch: ArrestPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    """(changes, protected changes) for a correction. `changes['charges']` is a list of Charge.
    A field given as null clears it, except the ones a record cannot be without."""
    errors: list[FieldError] = []
    given = patch.model_dump(exclude_unset=True)
    for required in ("arrested_at", "arrest_type", "location", "arresting_officer"):
        if required in given and given[required] is None:
            errors.append(FieldError(f"/changes/{required}", "cannot be removed"))
    person = given.pop("person", None)
    if person is not None:
        for required in ("last_name", "first_name"):
            if required in person and person[required] is None:
                errors.append(FieldError(f"/changes/person/{required}", "cannot be removed"))
        _check_person(pars, person, patch.arrested_at, errors)
    if patch.arrested_at is not None:
        _check_arrested_at(pars, patch.arrested_at, errors)
    changes: dict[str, Any] = {}
    if patch.charges is not None:
        changes["charges"] = _charges(pars, patch.charges, errors)
        given.pop("charges")
    if errors:
        raise InvalidInput(
            [
                FieldError(
                    e.pointer if e.pointer.startswith("/changes") else "/changes" + e.pointer,
                    e.detail,
                )
                for e in errors
            ]
        )
    protected: dict[str, Any] = {}
    for key in ("victims", "witnesses"):
        if key in given:
            items = getattr(patch, key)
            protected[key] = _parties(items) if items else []
            given.pop(key)
    changes.update(_jsonable({k: v for k, v in given.items()}))
    if person is not None:
        _address_in_document(person)
        ordinary, person_protected = _split_person(person)
        if ordinary:
            changes["person"] = _jsonable(ordinary)
        protected.update(person_protected)
    return changes, protected
