"""What each command accepts, validated field by field (pydantic). Shared by the API, the CLI and
the demo generator, so that every way in applies the same rules. Unknown fields are refused."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    Tag,
    model_validator,
)

from pars.domain.arraignment import BailType
from pars.domain.arrest import Custody, CustodyReason
from pars.domain.charging import CaseOutcome, ChargeAction, Modifier
from pars.domain.grades import Grade
from pars.domain.pretrial import AddressCheck, Reason, Recommendation
from pars.services.input_text import (
    Line20,
    Line60,
    Line100,
    Line120,
    Line200,
    Line300,
    Line500,
    multi_line,
)

__all__ = [
    "ADDRESS_FORMS",
    "AddressIn",
    "AgreementIn",
    "ApprovalIn",
    "ArraignmentIn",
    "ArrestIn",
    "ArrestPatch",
    "ChargeIn",
    "ChargingDecisionIn",
    "CorrectionIn",
    "CourtOrderIn",
    "CustodyIn",
    "Day",
    "IdentificationIn",
    "Instant",
    "LoginIn",
    "PersonIn",
    "PretrialIn",
    "RecordId",
    "RenewalIn",
    "ScheduleIn",
    "SummonsReleaseIn",
]


Name = Line60
ShortCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,20}$", strict=True)]
Phone = Annotated[
    str, StringConstraints(pattern=r"^\+?[0-9 ().-]{7,20}$", strict=True, strip_whitespace=True)
]
Narrative = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000, strict=True),
    AfterValidator(multi_line),
]
_SSN_RE = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")


def _ssn(v: str) -> str:
    m = _SSN_RE.match(v)
    if not m:
        raise ValueError("must be nine digits, as 123-45-6789")
    area, group, serial = m.groups()
    if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
        raise ValueError("is not a number the Social Security Administration issues")
    return f"{area}-{group}-{serial}"


SSN = Annotated[str, StringConstraints(strict=True, max_length=11), AfterValidator(_ssn)]


_MIN_YEAR, _MAX_YEAR = 1900, 2200


def _text_only(v: object) -> object:
    # JSON numbers are not dates: a Unix timestamp sent by mistake must not pass as one.
    if isinstance(v, (int, float)):
        raise ValueError("must be an ISO 8601 string")
    return v


def _instant(v: datetime) -> datetime:
    # Bounded so that every instant converts to UTC and fits every database's timestamp type.
    if not _MIN_YEAR <= v.year <= _MAX_YEAR:
        raise ValueError(f"must be between the years {_MIN_YEAR} and {_MAX_YEAR}")
    return v.astimezone(UTC)


def _day(v: date) -> date:
    if not _MIN_YEAR <= v.year <= _MAX_YEAR:
        raise ValueError(f"must be between the years {_MIN_YEAR} and {_MAX_YEAR}")
    return v


# An instant with an explicit UTC offset, normalised to UTC.
Instant = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(_instant)]
Day = Annotated[date, BeforeValidator(_text_only), AfterValidator(_day)]
# Ids PARS issues (UUIDs); anything else cannot name a record.
RecordId = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", strict=True
    ),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddressIn(_In):
    """A home address in parts; at least the street or the ZIP code."""

    street: Line120 | None = Field(default=None, description="house number and street")
    unit: Annotated[Line20, StringConstraints(pattern=r"^[A-Za-z0-9 #./-]+$")] | None = Field(
        default=None, description="apartment, suite, floor: `Apt 3B`, `#3B`, `3B`"
    )
    city: Line60 | None = None
    state: Annotated[Line60, StringConstraints(pattern=r"^[A-Za-z][A-Za-z .'-]*$")] | None = Field(
        default=None, description="USPS code (`PA`) or name"
    )
    zip: (
        Annotated[str, StringConstraints(pattern=r"^(\d{5}(-?\d{4})?|\d{4})$", strict=True)] | None
    ) = Field(
        default=None,
        description="5 digits, ZIP+4 (`19107-1234`), or a 4-digit postcode (read with a "
        "leading zero: a ZIP that lost it, as 07030 written 7030)",
    )

    @model_validator(mode="after")
    def _street_or_zip(self) -> AddressIn:
        if not (self.street or self.zip):
            raise ValueError("give at least the street or the zip")
        return self

    def line(self) -> str:
        """The address as one line: `12 Banks St Apt 3, Philadelphia, PA 19107`."""
        street = " ".join(p for p in (self.street, self.unit) if p)
        place = " ".join(p for p in (self.state, self.zip) if p)
        return ", ".join(p for p in (street, self.city, place) if p)


def _address_form(v: object) -> str:
    return "address-parts" if isinstance(v, dict | AddressIn) else "address-text"


#: The branches of a person's `address` (text or parts): names pydantic puts in error
#: locations, which the problem details leave out of the field's pointer.
ADDRESS_FORMS = ("address-text", "address-parts")
#: A home address: one line of text, or its parts.
HomeAddress = Annotated[
    Annotated[Line200, Tag("address-text")] | Annotated[AddressIn, Tag("address-parts")],
    Discriminator(_address_form),
]


class AliasIn(_In):
    last_name: Name
    first_name: Name
    middle_name: Name | None = None


class PersonIn(_In):
    last_name: Name
    first_name: Name
    middle_name: Name | None = None
    suffix: (
        Annotated[str, StringConstraints(pattern=r"^(JR|SR|II|III|IV|V)$", strict=True)] | None
    ) = None
    date_of_birth: Day | None = Field(
        default=None,
        description="refused in the future, after the arrest, or in a year more than 120 "
        "years before this one; 01-01 is read as 'day and month unknown' by the matcher",
    )
    birth_year: Annotated[StrictInt, Field(ge=_MIN_YEAR, le=_MAX_YEAR)] | None = Field(
        default=None,
        description="the year of birth when the full date is not known; with date_of_birth "
        "it must be that date's year",
    )
    sex: Literal["M", "F", "X", "U"] | None = None
    race: Literal["W", "B", "I", "A", "P", "U"] | None = Field(
        default=None, description="NIBRS race code"
    )
    ethnicity: Literal["H", "N", "U"] | None = Field(
        default=None, description="NIBRS ethnicity code"
    )
    aliases: list[AliasIn] = Field(default_factory=list, max_length=20)
    height_inches: Annotated[StrictInt, Field(ge=24, le=108)] | None = None
    weight_pounds: Annotated[StrictInt, Field(ge=20, le=1000)] | None = None
    eye_color: Line20 | None = None
    hair_color: Line20 | None = None
    scars_marks_tattoos: list[Line100] = Field(default_factory=list, max_length=30)
    local_person_id: ShortCode | None = None
    state_id: ShortCode | None = None
    fbi_number: ShortCode | None = None
    address: HomeAddress | None = Field(
        default=None,
        description="one line of text, or an object of `street`, `unit`, `city`, `state`, "
        "`zip`; stored as the line, with the parts beside it in `address_parts`",
    )
    phone: Phone | None = None
    ssn: SSN | None = None
    place_of_birth: Line100 | None = None
    citizenship: Line60 | None = None

    @model_validator(mode="after")
    def _birth_year_of_the_date(self) -> PersonIn:
        if (
            self.birth_year is not None
            and self.date_of_birth is not None
            and self.birth_year != self.date_of_birth.year
        ):
            raise ValueError("birth_year must be the year of date_of_birth")
        return self


class PersonPatch(PersonIn):
    """A correction of some person fields; any field may be left out."""

    last_name: Name | None = None  # type: ignore[assignment]
    first_name: Name | None = None  # type: ignore[assignment]


class LocationIn(_In):
    address: Line200
    district: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,10}$", strict=True)]


class OfficerIn(_In):
    badge: ShortCode
    name: Line100
    payroll: ShortCode | None = None


class UnitsIn(_In):
    arresting: Line60 | None = None
    detaining: Line60 | None = None


class ChargeIn(_In):
    statute: Line100
    grade: Grade | None = Field(default=None, description="default: the catalogue's grade")
    counts: Annotated[StrictInt, Field(ge=1, le=999)] = 1
    description: Line200 | None = None
    modifier: Modifier | None = None


class PartyIn(_In):
    """A victim or a witness."""

    name: Line120
    address: Line200 | None = None
    phone: Phone | None = None


class ArrestIn(_In):
    arrested_at: Instant
    arrest_type: Literal["on_view", "warrant", "summons"]
    location: LocationIn
    arresting_officer: OfficerIn
    units: UnitsIn | None = None
    report_number: ShortCode | None = None
    incident_number: ShortCode | None = None
    person: PersonIn
    charges: list[ChargeIn] = Field(default_factory=list, max_length=50)
    narrative: Narrative | None = None
    victims: list[PartyIn] = Field(default_factory=list, max_length=50)
    witnesses: list[PartyIn] = Field(default_factory=list, max_length=50)
    co_defendants: list[RecordId] = Field(default_factory=list, max_length=20)


class ArrestPatch(_In):
    """Corrections: every field optional, the same rules as on creation."""

    arrested_at: Instant | None = None
    arrest_type: Literal["on_view", "warrant", "summons"] | None = None
    location: LocationIn | None = None
    arresting_officer: OfficerIn | None = None
    units: UnitsIn | None = None
    report_number: ShortCode | None = None
    incident_number: ShortCode | None = None
    person: PersonPatch | None = None
    charges: list[ChargeIn] | None = Field(default=None, min_length=1, max_length=50)
    narrative: Narrative | None = None
    victims: list[PartyIn] | None = Field(default=None, max_length=50)
    witnesses: list[PartyIn] | None = Field(default=None, max_length=50)
    co_defendants: list[RecordId] | None = Field(default=None, max_length=20)


class CorrectionIn(_In):
    reason: Line500
    changes: ArrestPatch


class IdentificationIn(_In):
    person_id: RecordId | None = None
    local_person_id: ShortCode | None = None
    state_id: ShortCode | None = None
    fbi_number: ShortCode | None = None

    @model_validator(mode="after")
    def _something(self) -> IdentificationIn:
        if not any((self.person_id, self.local_person_id, self.state_id, self.fbi_number)):
            raise ValueError(
                "give person_id, or at least one of state_id, fbi_number, local_person_id"
            )
        return self


class ChargeDecisionIn(_In):
    action: ChargeAction
    charge_id: StrictInt | None = None
    statute: Line100 | None = None
    grade: Grade | None = None
    counts: Annotated[StrictInt, Field(ge=1, le=999)] | None = None
    description: Line200 | None = None
    modifier: Modifier | None = None
    reason: Line500 | None = None


class ChargingDecisionIn(_In):
    outcome: CaseOutcome = CaseOutcome.CHARGE
    charges: list[ChargeDecisionIn] = Field(default_factory=list, max_length=60)
    reason: Line500 | None = None
    notes: Narrative | None = None


class SummonsReleaseIn(_In):
    reason: Line500
    no_threat: Literal[True] = Field(
        description="the prosecutor attests the defendant poses no threat"
    )
    likely_to_appear: Literal[True] = Field(
        description="the prosecutor attests appearance is likely"
    )


class AddressCheckIn(_In):
    """Whether pretrial verified the defendant's address, and how."""

    verified: StrictBool
    method: AddressCheck | None = Field(
        default=None,
        description="how: required when verified; 'not_verified' (the default) when not",
    )
    detail: Line300 | None = Field(default=None, description="free text: whom pretrial spoke to")


class PretrialIn(_In):
    """Pretrial services' interview: the address check and the release recommendation."""

    address: AddressCheckIn
    recommendation: Recommendation
    reasons: list[Reason] = Field(min_length=1, max_length=len(Reason))
    note: Narrative | None = Field(default=None, description="required with the reason 'other'")


class ScheduleIn(_In):
    session_at: Instant


Money = Annotated[Decimal, Field(ge=0, le=100_000_000, max_digits=12, decimal_places=2)]


class BailIn(_In):
    type: BailType
    amount: Money | None = None
    deposit_percent: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)] | None = None
    conditions: list[Line300] = Field(default_factory=list, max_length=30)


class ArraignmentIn(_In):
    session_at: Instant | None = Field(
        default=None, description="default: the scheduled session, else now"
    )
    magistrate: Line100
    defense_counsel: Line100 | None = None
    prosecutor: Line100 | None = None
    probable_cause_found: StrictBool
    bail: BailIn | None = None
    preliminary_hearing_date: Day | None = None
    notes: Narrative | None = None


class CustodyIn(_In):
    status: Custody
    reason: CustodyReason
    note: Line300 | None = None


class CourtOrderIn(_In):
    order: Line100 = Field(description="the court order's reference")


class LoginIn(_In):
    username: Line60
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024, strict=True)]


class LookupIn(_In):
    identifiers: list[Literal["otn", "docket", "state_id"]] = Field(default_factory=list)
    per_minute: Annotated[StrictInt, Field(ge=0, le=600)] = 0
    purposes: list[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{2,39}$", strict=True)]
    ] = Field(
        default_factory=list,
        max_length=20,
        description="purpose codes a look-up may name (`warrant-check`); none: no look-ups",
    )


class AgreementIn(_In):
    partner: Line120 = Field(description="the partner's name or id (`pars partners add`)")
    purpose: Line500
    legal_basis: Line500
    event_types: list[Line60] = Field(min_length=1, max_length=20)
    granted: list[Line60] = Field(min_length=1, max_length=120, description="fields or classes")
    starts_at: Instant
    ends_at: Instant
    transport: Literal["feed", "webhook", "nats"] = "feed"
    webhook_url: (
        Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{1,2000}$", strict=True)] | None
    ) = None
    lookup: LookupIn = Field(default_factory=LookupIn)


class ApprovalIn(_In):
    sensitive: list[Literal["protected", "victim_witness", "juvenile"]] = Field(
        default_factory=list, description="sensitive classes this owner explicitly approves"
    )


class RenewalIn(_In):
    starts_at: Instant
    ends_at: Instant
