"""When a record is sealed without a court order: the jurisdiction's limited-access rule.

The rule is replaceable (`PARS_LIMITED_ACCESS_RULE=package.module:function`), like the release
rule. It is given what PARS knows of one record (`RecordFacts`), the instant of the run and the
waiting period (`PARS_LIMITED_ACCESS_WAIT_DAYS`), and answers the reason to seal it, or None.

A rule may carry `candidate_states`, the states it could ever seal; the run then reads only the
records in those states (one narrowing query). Without it every sealable state is read.

The default, `pennsylvania_clean_slate`, follows 18 Pa.C.S. § 9122.2(a)(2) (Clean Slate, Act 56
of 2018 as amended by Act 83 of 2020) for what PARS knows: a case that ended here without a
conviction, i.e. declined by the prosecutor (which is also how PARS records the withdrawal of
every charge) or dismissed at the preliminary arraignment for lack of probable cause, once the
waiting period has passed since that disposition. See docs/limited-access.md for what a
jurisdiction's counsel must confirm."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "CLEAN_SLATE_STATES",
    "SEALABLE_STATES",
    "LimitedAccessRule",
    "RecordFacts",
    "facts_of",
    "pennsylvania_clean_slate",
]

# Every state the seal step may start from (domain.arrest.ACTIONS["seal"]), as plain strings so
# that a rule module need import nothing of PARS.
SEALABLE_STATES = frozenset(
    {
        "submitted",
        "identified",
        "charging_review",
        "charged",
        "declined",
        "diverted",
        "released_for_summons",
        "arraignment_scheduled",
        "arraigned",
        "dismissed",
    }
)
CLEAN_SLATE_STATES = frozenset({"declined", "dismissed"})


@dataclass(frozen=True)
class RecordFacts:
    """What a limited-access rule may look at: no personal data."""

    arrest_id: str
    otn: str
    state: str
    arrested_at: datetime
    # When the case ended here: the prosecutor's decision (declined, diverted) or the recorded
    # arraignment (dismissed); None while it has not ended.
    disposed_at: datetime | None
    outcome: str | None  # the charging outcome ('charge', 'decline', 'divert'), if decided
    juvenile: bool


LimitedAccessRule = Callable[[RecordFacts, datetime, timedelta], str | None]


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def facts_of(
    arrest_id: str, otn: str, state: str, arrested_at: datetime, document: Mapping[str, Any]
) -> RecordFacts:
    """The facts of one stored record, from its columns and document."""
    charging = document.get("charging") or {}
    disposed: datetime | None = None
    if state in ("declined", "diverted"):
        disposed = _instant(charging.get("decided_at"))
    elif state == "dismissed":
        arraignment = document.get("arraignment") or {}
        disposed = _instant(arraignment.get("recorded_at"))
    return RecordFacts(
        arrest_id=arrest_id,
        otn=otn,
        state=state,
        arrested_at=arrested_at,
        disposed_at=disposed,
        outcome=charging.get("outcome"),
        juvenile=bool(document.get("juvenile")),
    )


def pennsylvania_clean_slate(facts: RecordFacts, now: datetime, wait: timedelta) -> str | None:
    """Seal a case that ended here without a conviction once `wait` has passed since the
    disposition: eligible at exactly disposition + wait, not a moment before."""
    if facts.state not in CLEAN_SLATE_STATES or facts.disposed_at is None:
        return None
    if now < facts.disposed_at + wait:
        return None
    why = "declined" if facts.state == "declined" else "dismissed for lack of probable cause"
    return f"18 Pa.C.S. 9122.2(a)(2): {why}"


pennsylvania_clean_slate.candidate_states = CLEAN_SLATE_STATES  # type: ignore[attr-defined]
