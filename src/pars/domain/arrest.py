"""The arrest aggregate: one arrest, its state machine, and the events each step produces.

Routes and services never assign a state; the methods here do, and refuse illegal transitions
with IllegalTransition naming the current state and the actions it allows.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pars.domain.arraignment import Arraignment
from pars.domain.charging import (
    CaseOutcome,
    Charge,
    ChargeDecision,
    apply_decisions,
)
from pars.domain.errors import Conflict, IllegalTransition, InvalidInput
from pars.domain.events import DomainEvent
from pars.domain.pretrial import PretrialInterview
from pars.domain.release import ReleaseRule

__all__ = [
    "ACTIONS",
    "PERSONAL_KEYS",
    "Arrest",
    "ArrestState",
    "Custody",
    "CustodyReason",
    "allowed_actions",
]


class ArrestState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IDENTIFIED = "identified"
    CHARGING_REVIEW = "charging_review"
    CHARGED = "charged"
    DECLINED = "declined"
    DIVERTED = "diverted"
    RELEASED_FOR_SUMMONS = "released_for_summons"
    ARRAIGNMENT_SCHEDULED = "arraignment_scheduled"
    ARRAIGNED = "arraigned"
    DISMISSED = "dismissed"
    SEALED = "sealed"
    EXPUNGED = "expunged"


class Custody(StrEnum):
    HELD = "held"
    RELEASED = "released"
    COMMITTED = "committed"


class CustodyReason(StrEnum):
    ROR = "ror"
    BAIL_CONDITIONS = "bail_conditions"
    BAIL_POSTED = "bail_posted"
    BAIL_NOT_POSTED = "bail_not_posted"
    DECLINED = "declined"
    DIVERTED = "diverted"
    SUMMONS = "summons"
    NO_PROBABLE_CAUSE = "no_probable_cause"
    OTHER = "other"


S = ArrestState
_LIVE = frozenset(S) - {S.SEALED, S.EXPUNGED}
_BEFORE_DECISION = frozenset({S.SUBMITTED, S.IDENTIFIED, S.CHARGING_REVIEW})
# Pretrial interviews the defendant for the magistrate's bail decision: from submission until
# the arraignment, while the case still goes to one (not once declined, diverted or released
# for summons; an arraigned case's bail is decided).
_BEFORE_ARRAIGNMENT = _BEFORE_DECISION | {S.CHARGED, S.ARRAIGNMENT_SCHEDULED}

# Which states each action may start from. Targets are decided by the methods below.
ACTIONS: dict[str, frozenset[ArrestState]] = {
    "submit": frozenset({S.DRAFT}),
    "identify": _LIVE,
    "open_charging_review": frozenset({S.SUBMITTED, S.IDENTIFIED}),
    "decide_charges": _BEFORE_DECISION,
    "record_pretrial": _BEFORE_ARRAIGNMENT,
    "release_for_summons": frozenset({S.CHARGED}),
    "schedule_arraignment": frozenset({S.CHARGED, S.ARRAIGNMENT_SCHEDULED}),
    "arraign": frozenset({S.CHARGED, S.ARRAIGNMENT_SCHEDULED}),
    "change_custody": _LIVE,
    "correct": _LIVE,
    "seal": _LIVE - {S.DRAFT},
    "expunge": frozenset(S) - {S.DRAFT, S.EXPUNGED},
}

_CUSTODY_MOVES: dict[Custody, frozenset[Custody]] = {
    Custody.HELD: frozenset({Custody.RELEASED, Custody.COMMITTED}),
    Custody.COMMITTED: frozenset({Custody.RELEASED}),
    Custody.RELEASED: frozenset(),
}

# Document keys that hold personal data; hidden when sealed and destroyed when expunged.
PERSONAL_KEYS = (
    "person",
    "narrative",
    "location",
    "report_number",
    "incident_number",
    "co_defendants",
    "identification",
)


def allowed_actions(state: ArrestState) -> list[str]:
    return sorted(a for a, froms in ACTIONS.items() if state in froms)


@dataclass
class Arrest:
    """One arrest. `document` holds the report's ordinary fields; `protected` holds SSN, place
    of birth, citizenship, victims and witnesses, which the store encrypts."""

    id: str
    otn: str
    created_by: str
    created_at: datetime
    state: ArrestState = ArrestState.DRAFT
    custody: Custody = Custody.HELD
    version: int = 0  # 0 while a draft; submission makes version 1, each later change +1
    document: dict[str, Any] = field(default_factory=dict)
    protected: dict[str, Any] = field(default_factory=dict)
    charges: list[Charge] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list, repr=False)
    change_reason: str | None = field(default=None, repr=False)
    history_dirty: bool = field(default=False, repr=False)

    # -- reading -------------------------------------------------------------------------

    @property
    def arrested_at(self) -> datetime:
        return datetime.fromisoformat(self.document["arrested_at"])

    @property
    def juvenile(self) -> bool:
        """Under 18 on the arrest date: the whole record is then protected, in every state.
        Sealing and expungement fix the answer in the record (expungement destroys the date of
        birth); an expunged record that predates that, and so cannot tell, counts as one."""
        if "juvenile" in self.document:
            return bool(self.document["juvenile"])
        if self.state is S.EXPUNGED:
            return True
        dob = (self.document.get("person") or {}).get("date_of_birth")
        if not dob:
            return False
        born = date.fromisoformat(dob)
        on = self.arrested_at.date()
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        return age < 18

    @property
    def submitted(self) -> bool:
        return self.state is not ArrestState.DRAFT

    def custody_indicator(self) -> str | None:
        """The offender status indicator the detaining unit acts on: 'release' or 'hold' while
        the person is held, None once not held."""
        if self.custody is not Custody.HELD:
            return None
        if self.state in (S.DECLINED, S.DIVERTED, S.DISMISSED, S.RELEASED_FOR_SUMMONS):
            return "release"
        arraignment = self.document.get("arraignment") or {}
        bail = arraignment.get("bail") or {}
        if self.state is S.ARRAIGNED and bail.get("type") not in (None, "monetary"):
            return "release"
        return "hold"

    # -- transitions ---------------------------------------------------------------------

    def check(self, action: str) -> None:
        """IllegalTransition unless `action` is allowed in the current state."""
        if self.state not in ACTIONS[action]:
            raise IllegalTransition(action, self.state.value, allowed_actions(self.state))

    def _record(
        self, action: str, by: str, at: datetime, event: str | None, data: dict[str, Any]
    ) -> None:
        """Keep a history line and queue the event. The store gives a submitted record a new
        version for each command that changed it, and stamps the events with it."""
        self.history_dirty = True
        self.history.append(
            {"action": action, "by": by, "at": at.isoformat(), "state": self.state.value}
        )
        if event is not None:
            payload = {"state": self.state.value, "custody": self.custody.value, **data}
            self.events.append(DomainEvent(event, self.id, self.version, payload))

    def submit(self, by: str, at: datetime) -> None:
        self.check("submit")
        if not self.charges:
            raise InvalidInput.one("/charges", "an arrest needs at least one charge to submit")
        self.state = S.SUBMITTED
        self.document["submitted_at"] = at.isoformat()
        self._record("submit", by, at, "pars.arrest.submitted", {})

    def identify(self, identification: dict[str, Any], by: str, at: datetime) -> None:
        self.check("identify")
        self.document["identification"] = {**identification, "by": by, "at": at.isoformat()}
        if self.state is S.SUBMITTED:
            self.state = S.IDENTIFIED
        self._record("identify", by, at, "pars.arrest.identified" if self.submitted else None, {})

    def open_charging_review(self, by: str, at: datetime) -> None:
        self.check("open_charging_review")
        self.state = S.CHARGING_REVIEW
        self.document["charging"] = {"review_opened_by": by, "review_opened_at": at.isoformat()}
        self._record("open_charging_review", by, at, "pars.charging.review_opened", {})

    def decide_charges(
        self,
        outcome: CaseOutcome,
        decisions: Sequence[ChargeDecision],
        reason: str | None,
        by: str,
        at: datetime,
        notes: str | None = None,
    ) -> None:
        """Charge (each charge approved, amended, withdrawn, or added), decline or divert."""
        self.check("decide_charges")
        if outcome is CaseOutcome.CHARGE:
            self.charges = apply_decisions(self.charges, decisions)
            self.state = S.CHARGED
        else:
            if not reason:
                raise InvalidInput.one("/reason", f"a reason is required to {outcome.value}")
            if decisions:
                raise InvalidInput.one("/charges", f"no charge decisions when you {outcome}")
            self.state = S.DECLINED if outcome is CaseOutcome.DECLINE else S.DIVERTED
        charging = self.document.setdefault("charging", {})
        charging.update(
            {
                "outcome": outcome.value,
                "reason": reason,
                "notes": notes,
                "decided_by": by,
                "decided_at": at.isoformat(),
            }
        )
        self._record("decide_charges", by, at, "pars.charging.decided", {"outcome": outcome.value})
        if outcome is CaseOutcome.CHARGE:
            # The complaint is generated from the approved charges at the decision.
            charging["complaint_filed_at"] = at.isoformat()
            self.events.append(
                DomainEvent(
                    "pars.complaint.filed", self.id, self.version, {"state": self.state.value}
                )
            )

    def record_pretrial(self, interview: PretrialInterview, by: str, at: datetime) -> None:
        """Record pretrial's interview. A later interview replaces the earlier one in the record;
        the earlier stays in the history and in its version."""
        self.check("record_pretrial")
        interview.validate()
        replaces = "pretrial" in self.document
        record = interview.to_dict()
        self.document["pretrial"] = {**record, "recorded_by": by, "recorded_at": at.isoformat()}
        data = {"recommendation": record["recommendation"], "replaces_earlier": replaces}
        self._record("record_pretrial", by, at, "pars.pretrial.recommended", data)

    def release_for_summons(self, rule: ReleaseRule, reason: str, by: str, at: datetime) -> None:
        self.check("release_for_summons")
        refusal = rule(self.charges)
        if refusal is not None:
            raise Conflict(f"release without arraignment not allowed: {refusal}")
        self.state = S.RELEASED_FOR_SUMMONS
        self.document["summons_release"] = {"reason": reason, "by": by, "at": at.isoformat()}
        self._record("release_for_summons", by, at, "pars.arrest.released_for_summons", {})
        if self.custody is not Custody.RELEASED:
            self._move_custody(
                Custody.RELEASED, CustodyReason.SUMMONS, None, by, at, as_part_of="summons"
            )

    def schedule_arraignment(self, session_at: datetime, by: str, at: datetime) -> None:
        self.check("schedule_arraignment")
        if session_at < self.arrested_at:
            raise InvalidInput.one("/session_at", "the session cannot be before the arrest")
        self.state = S.ARRAIGNMENT_SCHEDULED
        self.document["arraignment_session"] = {
            "session_at": session_at.isoformat(),
            "scheduled_by": by,
            "scheduled_at": at.isoformat(),
        }
        self._record(
            "schedule_arraignment",
            by,
            at,
            "pars.arraignment.scheduled",
            {"session_at": session_at.isoformat()},
        )

    def arraign(self, arraignment: Arraignment, session_day: date, by: str, at: datetime) -> None:
        self.check("arraign")
        if arraignment.session_at < self.arrested_at:
            raise InvalidInput.one("/session_at", "the session cannot be before the arrest")
        arraignment.validate(session_day)
        self.state = S.ARRAIGNED if arraignment.probable_cause_found else S.DISMISSED
        record = arraignment.to_dict()
        record["recorded_by"] = by
        record["recorded_at"] = at.isoformat()
        minutes = (arraignment.session_at - self.arrested_at).total_seconds() / 60
        record["arrest_to_arraignment_minutes"] = round(minutes)
        self.document["arraignment"] = record
        self._record(
            "arraign",
            by,
            at,
            "pars.arraignment.completed",
            {"docket_number": arraignment.docket_number},
        )

    def change_custody(
        self, to: Custody, reason: CustodyReason, note: str | None, by: str, at: datetime
    ) -> None:
        self.check("change_custody")
        if to not in _CUSTODY_MOVES[self.custody]:
            allowed = ", ".join(sorted(_CUSTODY_MOVES[self.custody])) or "none"
            raise Conflict(
                f"custody cannot go from '{self.custody}' to '{to}'; allowed from "
                f"'{self.custody}': {allowed}"
            )
        self._move_custody(to, reason, note, by, at)

    def _move_custody(
        self,
        to: Custody,
        reason: CustodyReason,
        note: str | None,
        by: str,
        at: datetime,
        as_part_of: str | None = None,
    ) -> None:
        previous = self.custody
        self.custody = to
        changes = self.document.setdefault("custody_changes", [])
        changes.append(
            {
                "from": previous.value,
                "to": to.value,
                "reason": reason.value,
                "note": note,
                "by": by,
                "at": at.isoformat(),
            }
        )
        data = {"from": previous.value, "reason": reason.value}
        if as_part_of is None:
            event = "pars.custody.changed" if self.submitted else None
            self._record("change_custody", by, at, event, data)
        else:
            # One command, one history line (the version names the command); the custody
            # event still goes out, since partners follow custody on its own.
            payload = {"state": self.state.value, "custody": to.value, **data}
            self.events.append(DomainEvent("pars.custody.changed", self.id, self.version, payload))

    def correct(
        self, changes: dict[str, Any], protected: dict[str, Any], reason: str, by: str, at: datetime
    ) -> list[str]:
        """Apply corrections: top-level keys replace, `person` merges field by field. Charges can
        be corrected only until the charging decision. Returns the names of changed fields."""
        self.check("correct")
        if "charges" in changes and self.state not in ({S.DRAFT} | _BEFORE_DECISION):
            raise Conflict(
                f"charges cannot be corrected in state '{self.state}'; after the charging "
                "decision only the prosecutor's decision changes charges"
            )
        changed: list[str] = []
        for key, value in changes.items():
            if key == "charges":
                self.charges = value
            elif key == "person":
                person = self.document.setdefault("person", {})
                person.update(value)
            else:
                self.document[key] = value
            changed.append(key)
        for key, value in protected.items():
            if key in ("victims", "witnesses"):
                self.protected[key] = value
            else:
                self.protected.setdefault("person", {})[key] = value
            changed.append(f"person.{key}" if key not in ("victims", "witnesses") else key)
        if not changed:
            raise InvalidInput.one("/changes", "no changes given")
        self.change_reason = reason
        fields = sorted(changed)
        event = "pars.record.corrected" if self.submitted else None
        self._record("correct", by, at, event, {"fields": fields})
        return fields

    def seal(self, order: str, by: str, at: datetime) -> None:
        self.check("seal")
        self.document["juvenile"] = self.juvenile
        self.state = S.SEALED
        self.document["seal"] = {"order": order, "by": by, "at": at.isoformat()}
        self._record("seal", by, at, "pars.record.sealed", {})

    def expunge(self, order: str, by: str, at: datetime) -> None:
        """Destroy the personal data, the charges and every protected field; keep only the bare
        identifiers that later propagation and the audit log need."""
        self.check("expunge")
        self.document["juvenile"] = self.juvenile
        self.state = S.EXPUNGED
        for key in PERSONAL_KEYS:
            self.document.pop(key, None)
        for key in ("arraignment", "charging", "custody_changes", "summons_release", "pretrial"):
            self.document.pop(key, None)
        self.document["expunction"] = {"order": order, "by": by, "at": at.isoformat()}
        self.protected = {}
        self.charges = []
        self._record("expunge", by, at, "pars.record.expunged", {})

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the non-protected state, as stored for each version."""
        return copy.deepcopy(self.stored_form())

    def stored_form(self) -> dict[str, Any]:
        """The non-protected state as stored for each version, sharing the arrest's own
        dictionaries: for a writer that encodes it at once (the store), not to be kept."""
        return {
            "document": self.document,
            "charges": [c.to_dict() for c in self.charges],
            "state": self.state.value,
            "custody": self.custody.value,
            "history": self.history,
        }
