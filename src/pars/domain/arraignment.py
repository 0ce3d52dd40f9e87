"""The preliminary arraignment: bail and the preliminary hearing date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pars.domain.errors import FieldError, InvalidInput

__all__ = ["HEARING_WINDOW_DAYS", "Arraignment", "Bail", "BailType"]

# Pa.R.Crim.P. 540(G): the preliminary hearing is fixed 3 to 10 days after the arraignment.
HEARING_WINDOW_DAYS = (3, 10)


class BailType(StrEnum):
    ROR = "ror"
    NON_MONETARY = "non_monetary"
    UNSECURED = "unsecured"
    NOMINAL = "nominal"
    MONETARY = "monetary"

    @property
    def releases(self) -> bool:
        """Whether this bail type lets the defendant go without posting money."""
        return self is not BailType.MONETARY


@dataclass(frozen=True)
class Bail:
    type: BailType
    amount: Decimal | None = None
    deposit_percent: Decimal | None = None
    conditions: tuple[str, ...] = ()

    def validate(self, ptr: str = "/bail") -> list[FieldError]:
        errs: list[FieldError] = []
        if self.type in (BailType.ROR, BailType.NON_MONETARY):
            if self.amount is not None:
                errs.append(FieldError(f"{ptr}/amount", f"'{self.type}' bail has no amount"))
            if self.deposit_percent is not None:
                errs.append(
                    FieldError(f"{ptr}/deposit_percent", f"'{self.type}' bail has no deposit")
                )
        else:
            if self.amount is None or self.amount <= 0:
                errs.append(FieldError(f"{ptr}/amount", f"'{self.type}' bail needs an amount > 0"))
            if self.type is BailType.MONETARY:
                pct = self.deposit_percent
                if pct is not None and not (0 < pct <= 100):
                    errs.append(
                        FieldError(f"{ptr}/deposit_percent", "must be above 0 and at most 100")
                    )
            elif self.deposit_percent is not None:
                errs.append(
                    FieldError(f"{ptr}/deposit_percent", "only monetary bail has a deposit")
                )
        if self.type is BailType.NON_MONETARY and not self.conditions:
            errs.append(FieldError(f"{ptr}/conditions", "non-monetary bail needs conditions"))
        return errs

    @property
    def deposit_due(self) -> Decimal | None:
        """What must be posted for release: the deposit share of monetary bail."""
        if self.type is not BailType.MONETARY or self.amount is None:
            return None
        pct = self.deposit_percent if self.deposit_percent is not None else Decimal(10)
        return (self.amount * pct / 100).quantize(Decimal("0.01"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "amount": str(self.amount) if self.amount is not None else None,
            "deposit_percent": (
                str(self.deposit_percent)
                if self.deposit_percent is not None
                else ("10" if self.type is BailType.MONETARY else None)
            ),
            "deposit_due": str(self.deposit_due) if self.deposit_due is not None else None,
            "conditions": list(self.conditions),
        }


@dataclass(frozen=True)
class Arraignment:
    """What the magistrate decided at the preliminary arraignment."""

    session_at: datetime
    magistrate: str
    probable_cause_found: bool
    bail: Bail | None
    preliminary_hearing_date: date | None
    defense_counsel: str | None = None
    prosecutor: str | None = None
    notes: str | None = None
    docket_number: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self, session_day: date) -> None:
        """Raise InvalidInput for every inconsistency. `session_day` is the session's calendar
        date in the court's time zone, which is what the hearing window counts from."""
        errs: list[FieldError] = []
        if self.probable_cause_found:
            if self.bail is None:
                errs.append(FieldError("/bail", "required when probable cause is found"))
            else:
                errs.extend(self.bail.validate())
            if self.preliminary_hearing_date is None:
                errs.append(
                    FieldError("/preliminary_hearing_date", "required when probable cause is found")
                )
            else:
                days = (self.preliminary_hearing_date - session_day).days
                lo, hi = HEARING_WINDOW_DAYS
                if not lo <= days <= hi:
                    errs.append(
                        FieldError(
                            "/preliminary_hearing_date",
                            f"must be {lo} to {hi} days after the arraignment on "
                            f"{session_day.isoformat()} (is {days} days)",
                        )
                    )
        else:
            if self.bail is not None:
                errs.append(FieldError("/bail", "no bail when probable cause is not found"))
            if self.preliminary_hearing_date is not None:
                errs.append(
                    FieldError(
                        "/preliminary_hearing_date", "no hearing when probable cause is not found"
                    )
                )
        if errs:
            raise InvalidInput(errs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_at": self.session_at.isoformat(),
            "magistrate": self.magistrate,
            "probable_cause_found": self.probable_cause_found,
            "bail": self.bail.to_dict() if self.bail else None,
            "preliminary_hearing_date": (
                self.preliminary_hearing_date.isoformat() if self.preliminary_hearing_date else None
            ),
            "defense_counsel": self.defense_counsel,
            "prosecutor": self.prosecutor,
            "notes": self.notes,
            "docket_number": self.docket_number,
        }
