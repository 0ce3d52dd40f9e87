"""Automatic limited access: the jurisdiction's rule (PARS_LIMITED_ACCESS_RULE) applied to the
stored records. Each record it picks is sealed through the ordinary seal path (services.arrests
.seal) by the actor "lifecycle", so it is audited and propagated like a court-ordered seal; the
run that seals (or is refused a seal) is itself one audit entry (`lifecycle:run`), which is
also how a restarted relay knows it ran today; a run that finds nothing leaves no entry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from pars.domain.errors import DomainError
from pars.domain.limited_access import SEALABLE_STATES, RecordFacts, facts_of
from pars.domain.roles import Role
from pars.services.app import Pars, Principal
from pars.services.arrests import seal
from pars.services.inputs import CourtOrderIn
from pars.store.lifecycle import RUN_ACTION, candidates, last_run
from pars.store.uow import AuditEntry

__all__ = ["LIFECYCLE", "Eligible", "RunReport", "eligible", "run", "run_if_due"]

# The system acting on its own: a clerk's permission to seal, under its own name in the log.
LIFECYCLE = Principal("lifecycle", Role.CLERK.value)
_log = structlog.get_logger("pars.lifecycle")


@dataclass(frozen=True)
class Eligible:
    facts: RecordFacts
    reason: str


@dataclass
class RunReport:
    at: datetime
    dry_run: bool
    examined: int = 0
    eligible: list[Eligible] = field(default_factory=list)
    sealed: int = 0
    failed: int = 0


def _states(pars: Pars) -> frozenset[str]:
    declared = getattr(pars.limited_access_rule, "candidate_states", None)
    return SEALABLE_STATES if declared is None else SEALABLE_STATES & frozenset(declared)


def eligible(pars: Pars, now: datetime, counter: list[int] | None = None) -> Iterator[Eligible]:
    """The records the rule would seal at `now`, streamed from one narrowing query. `counter`,
    if given, counts the candidates read (its first item)."""
    rule = pars.limited_access_rule
    wait = timedelta(days=pars.settings.limited_access_wait_days)
    for arrest_id, otn, state, arrested_at, document in candidates(pars.engine, _states(pars)):
        if counter is not None:
            counter[0] += 1
        facts = facts_of(arrest_id, otn, state, arrested_at, document)
        reason = rule(facts, now, wait)
        if reason:
            yield Eligible(facts, reason)


def run(pars: Pars, dry_run: bool = False) -> RunReport:
    """Apply the rule once. A dry run only lists; it reads and writes nothing else."""
    now = pars.clock.now()
    report = RunReport(now, dry_run)
    counter = [0]
    # Read all, then seal: each seal is its own transaction, and never under an open cursor.
    report.eligible = list(eligible(pars, now, counter))
    report.examined = counter[0]
    if dry_run:
        return report
    for item in report.eligible:
        order = f"limited access rule: {item.reason}"[:100]
        try:
            seal(pars, LIFECYCLE, item.facts.arrest_id, CourtOrderIn(order=order))
            report.sealed += 1
        except DomainError as e:  # changed since it was read (sealed, expunged): refused, logged
            report.failed += 1
            _log.warning("lifecycle seal refused", arrest=item.facts.arrest_id, error=e.detail)
    if not (report.sealed or report.failed):
        return report  # nothing changed: nothing to log (a relay's idle run leaves no trace)
    pars.audit_now(
        AuditEntry(
            LIFECYCLE.username,
            RUN_ACTION,
            "success",
            LIFECYCLE.role,
            None,
            details={
                "rule": pars.settings.limited_access_rule,
                "wait_days": pars.settings.limited_access_wait_days,
                "examined": report.examined,
                "eligible": len(report.eligible),
                "sealed": report.sealed,
                "failed": report.failed,
            },
        )
    )
    return report


def run_if_due(pars: Pars, every: timedelta = timedelta(days=1)) -> datetime:
    """Run unless a run sealed less than `every` ago (by the audit log, so a restarted or
    standby relay does not seal again within the day); when the next run is due. The caller
    keeps that instant (the relay does), so a run that found nothing is not repeated either."""
    last = last_run(pars.engine)
    if last is not None and pars.clock.now() < last + every:
        return last + every
    report = run(pars)
    if report.sealed or report.failed:
        _log.info("lifecycle run", sealed=report.sealed, refused=report.failed)
    return report.at + every
