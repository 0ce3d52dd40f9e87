"""The pretrial services interview: is the address verified, and what release does pretrial
recommend to the arraignment court magistrate, for which reasons.

The recommendation speaks the magistrate's language: one of the five bail types the arraignment
records (`BailType`), or `no_recommendation` (the defendant declined the interview, say). There
is no "detain": the arraignment has no bail type for it, so pretrial could recommend what the
magistrate cannot order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pars.domain.arraignment import BailType
from pars.domain.errors import FieldError, InvalidInput

__all__ = ["AddressCheck", "PretrialInterview", "Reason", "Recommendation"]


class AddressCheck(StrEnum):
    """How pretrial checked the defendant's address."""

    PHONE = "phone"
    IN_PERSON = "in_person"
    RECORDS = "records"
    NOT_VERIFIED = "not_verified"


class Recommendation(StrEnum):
    """The release pretrial recommends: one of the bail types (the same values as `BailType`,
    a test holds them together), or none."""

    ROR = BailType.ROR.value
    NON_MONETARY = BailType.NON_MONETARY.value
    UNSECURED = BailType.UNSECURED.value
    NOMINAL = BailType.NOMINAL.value
    MONETARY = BailType.MONETARY.value
    NO_RECOMMENDATION = "no_recommendation"


class Reason(StrEnum):
    """Why pretrial recommends what it does: the factors of Pa.R.Crim.P. 523 and the interview."""

    ADDRESS_VERIFIED = "address_verified"
    ADDRESS_NOT_VERIFIED = "address_not_verified"
    COMMUNITY_TIES = "community_ties"
    EMPLOYMENT_OR_SCHOOL = "employment_or_school"
    NO_PRIOR_RECORD = "no_prior_record"
    PRIOR_RECORD = "prior_record"
    PRIOR_FAILURE_TO_APPEAR = "prior_failure_to_appear"
    OPEN_CASE = "open_case"
    ON_SUPERVISION = "on_supervision"
    CHARGE_SERIOUSNESS = "charge_seriousness"
    SAFETY_CONCERN = "safety_concern"
    RISK_ASSESSMENT = "risk_assessment"
    INTERVIEW_DECLINED = "interview_declined"
    OTHER = "other"


@dataclass(frozen=True)
class PretrialInterview:
    """What one pretrial interview established. `address_detail` and `note` are free text."""

    address_verified: bool
    address_method: AddressCheck
    recommendation: Recommendation
    reasons: tuple[Reason, ...]
    address_detail: str | None = None
    note: str | None = None

    def validate(self) -> None:
        """Raise InvalidInput naming every inconsistent field (pointers into the request)."""
        errs: list[FieldError] = []
        if self.address_verified and self.address_method is AddressCheck.NOT_VERIFIED:
            errs.append(
                FieldError(
                    "/address/method", "say how the address was verified, or verified: false"
                )
            )
        if not self.address_verified and self.address_method is not AddressCheck.NOT_VERIFIED:
            errs.append(
                FieldError("/address/method", "an address not verified has method 'not_verified'")
            )
        if not self.reasons:
            errs.append(FieldError("/reasons", "give at least one reason"))
        seen: set[Reason] = set()
        for i, reason in enumerate(self.reasons):
            if reason in seen:
                errs.append(FieldError(f"/reasons/{i}", "each reason only once"))
            seen.add(reason)
        if Reason.OTHER in seen and not self.note:
            errs.append(FieldError("/note", "required when a reason is 'other'"))
        if errs:
            raise InvalidInput(errs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": {
                "verified": self.address_verified,
                "method": self.address_method.value,
                "detail": self.address_detail,
            },
            "recommendation": self.recommendation.value,
            "reasons": [r.value for r in self.reasons],
            "note": self.note,
        }
