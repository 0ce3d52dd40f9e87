"""Charges, and the prosecutor's decision on each of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from pars.domain.errors import FieldError, InvalidInput
from pars.domain.grades import Grade, most_serious

__all__ = [
    "CaseOutcome",
    "Charge",
    "ChargeAction",
    "ChargeDecision",
    "ChargeSpec",
    "Modifier",
    "apply_decisions",
]


class Modifier(StrEnum):
    ATTEMPT = "attempt"
    CONSPIRACY = "conspiracy"
    SOLICITATION = "solicitation"


class ChargeAction(StrEnum):
    APPROVE = "approve"
    AMEND = "amend"
    WITHDRAW = "withdraw"
    ADD = "add"


class CaseOutcome(StrEnum):
    CHARGE = "charge"
    DECLINE = "decline"
    DIVERT = "divert"


@dataclass(frozen=True)
class ChargeSpec:
    """The substance of a charge: what an officer recommends or a prosecutor amends it to."""

    statute: str
    description: str
    grade: Grade
    counts: int = 1
    modifier: Modifier | None = None


@dataclass(frozen=True)
class Charge:
    """One charge on an arrest. `recommended` keeps the police version once a prosecutor
    amends it."""

    id: int
    spec: ChargeSpec
    origin: str = "police"  # "police" or "prosecutor"
    decision: ChargeAction | None = None
    recommended: ChargeSpec | None = None
    decision_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.decision is not ChargeAction.WITHDRAW

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **_spec_dict(self.spec),
            "origin": self.origin,
            "decision": self.decision.value if self.decision else None,
            "recommended": _spec_dict(self.recommended) if self.recommended else None,
            "decision_reason": self.decision_reason,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Charge:
        return cls(
            id=int(d["id"]),
            spec=_spec_from(d),
            origin=d.get("origin", "police"),
            decision=ChargeAction(d["decision"]) if d.get("decision") else None,
            recommended=_spec_from(d["recommended"]) if d.get("recommended") else None,
            decision_reason=d.get("decision_reason"),
        )


def _spec_dict(spec: ChargeSpec) -> dict[str, Any]:
    # By hand, in the fields' order: `dataclasses.asdict` deep-copies every value and was most
    # of the cost of a record's charges (the relay builds one record per event).
    return {
        "statute": spec.statute,
        "description": spec.description,
        "grade": spec.grade.value,
        "counts": spec.counts,
        "modifier": spec.modifier.value if spec.modifier else None,
    }


def _spec_from(d: dict[str, Any]) -> ChargeSpec:
    return ChargeSpec(
        statute=d["statute"],
        description=d["description"],
        grade=Grade(d["grade"]),
        counts=int(d.get("counts", 1)),
        modifier=Modifier(d["modifier"]) if d.get("modifier") else None,
    )


@dataclass(frozen=True)
class ChargeDecision:
    """The prosecutor's decision on one charge. `charge_id` is None for an added charge;
    `amended` holds the new substance for amend and add."""

    action: ChargeAction
    charge_id: int | None = None
    amended: ChargeSpec | None = None
    reason: str | None = None


def apply_decisions(charges: Sequence[Charge], decisions: Sequence[ChargeDecision]) -> list[Charge]:
    """The charges after the prosecutor's decisions. Every recommended charge needs exactly one
    decision, and at least one charge must remain; otherwise InvalidInput naming each problem.
    Pointers are into the decision body: `/charges/<i>/...`."""
    errors: list[FieldError] = []
    by_id = {c.id: c for c in charges}
    decided: dict[int, ChargeDecision] = {}
    added: list[tuple[ChargeSpec, str | None]] = []
    for i, d in enumerate(decisions):
        ptr = f"/charges/{i}"
        if d.action is ChargeAction.ADD:
            if d.charge_id is not None:
                errors.append(FieldError(f"{ptr}/charge_id", "an added charge has no charge_id"))
            elif d.amended is None:
                errors.append(FieldError(f"{ptr}/statute", "an added charge needs a statute"))
            else:
                added.append((d.amended, d.reason))
            continue
        if d.charge_id is None:
            errors.append(FieldError(f"{ptr}/charge_id", f"required for action '{d.action}'"))
        elif d.charge_id not in by_id:
            errors.append(FieldError(f"{ptr}/charge_id", f"no charge {d.charge_id} on this arrest"))
        elif d.charge_id in decided:
            errors.append(FieldError(f"{ptr}/charge_id", f"charge {d.charge_id} decided twice"))
        else:
            decided[d.charge_id] = d
        if d.action is ChargeAction.AMEND and d.amended is None:
            errors.append(FieldError(f"{ptr}/statute", "an amendment needs the amended charge"))
    missing = [cid for cid in by_id if cid not in decided]
    if missing:
        errors.append(
            FieldError("/charges", f"no decision for charge(s) {', '.join(map(str, missing))}")
        )
    if errors:
        raise InvalidInput(errors)

    result: list[Charge] = []
    for c in charges:
        d = decided[c.id]
        if d.action is ChargeAction.AMEND and d.amended is not None:
            result.append(
                replace(
                    c,
                    spec=d.amended,
                    decision=d.action,
                    recommended=c.spec,
                    decision_reason=d.reason,
                )
            )
        else:
            result.append(replace(c, decision=d.action, decision_reason=d.reason))
    next_id = max(by_id, default=0) + 1
    for n, (spec, reason) in enumerate(added):
        result.append(
            Charge(
                next_id + n,
                spec,
                origin="prosecutor",
                decision=ChargeAction.ADD,
                decision_reason=reason,
            )
        )
    if not any(c.active for c in result):
        raise InvalidInput.one(
            "/charges", "every charge is withdrawn; decline the case instead (outcome 'decline')"
        )
    return result


def top_grade(charges: Sequence[Charge]) -> Grade | None:
    """The most serious grade among the charges still active."""
    return most_serious([c.spec.grade for c in charges if c.active])
