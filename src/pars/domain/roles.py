"""Staff roles and which workflow step each may take. Policy as data; a test walks every cell."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["READ_PROTECTED", "READ_VICTIM_WITNESS", "STEP_ROLES", "Role", "Step", "may"]


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    PROSECUTOR = "prosecutor"
    MAGISTRATE = "magistrate"
    PRETRIAL = "pretrial"
    DEFENDER = "defender"
    CLERK = "clerk"
    PRIVACY_OFFICER = "privacy_officer"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Step(StrEnum):
    """Every action a staff member can take on an arrest, plus reading it."""

    CREATE = "create"
    SUBMIT = "submit"
    IDENTIFY = "identify"
    RECORD_PRETRIAL = "record_pretrial"
    OPEN_CHARGING_REVIEW = "open_charging_review"
    DECIDE_CHARGES = "decide_charges"
    RELEASE_FOR_SUMMONS = "release_for_summons"
    SCHEDULE_ARRAIGNMENT = "schedule_arraignment"
    ARRAIGN = "arraign"
    CHANGE_CUSTODY = "change_custody"
    CORRECT = "correct"
    SEAL = "seal"
    EXPUNGE = "expunge"
    READ = "read"


R = Role
STEP_ROLES: dict[Step, frozenset[Role]] = {
    Step.CREATE: frozenset({R.OFFICER, R.SUPERVISOR}),
    Step.SUBMIT: frozenset({R.OFFICER, R.SUPERVISOR}),
    # Records & identification work happens at the booking centre, under its supervisor.
    Step.IDENTIFY: frozenset({R.SUPERVISOR}),
    # Pretrial services (the court's) interviews the defendant and recommends release.
    Step.RECORD_PRETRIAL: frozenset({R.PRETRIAL}),
    Step.OPEN_CHARGING_REVIEW: frozenset({R.PROSECUTOR}),
    Step.DECIDE_CHARGES: frozenset({R.PROSECUTOR}),
    Step.RELEASE_FOR_SUMMONS: frozenset({R.PROSECUTOR}),
    Step.SCHEDULE_ARRAIGNMENT: frozenset({R.CLERK, R.MAGISTRATE}),
    Step.ARRAIGN: frozenset({R.MAGISTRATE}),
    # The detaining unit's supervisor changes custody; the court clerk records bail posted.
    Step.CHANGE_CUSTODY: frozenset({R.SUPERVISOR, R.CLERK}),
    Step.CORRECT: frozenset({R.OFFICER, R.SUPERVISOR, R.CLERK}),
    # Sealing and expungement execute a court order.
    Step.SEAL: frozenset({R.CLERK}),
    Step.EXPUNGE: frozenset({R.CLERK}),
    Step.READ: frozenset(
        {R.OFFICER, R.SUPERVISOR, R.PROSECUTOR, R.MAGISTRATE, R.PRETRIAL, R.DEFENDER, R.CLERK}
    ),
}

# Who among the readers sees protected fields (SSN, place of birth, citizenship) and
# victims/witnesses. Others receive the record with those fields removed and listed as redacted.
READ_PROTECTED: frozenset[Role] = frozenset({R.OFFICER, R.SUPERVISOR, R.PROSECUTOR})
READ_VICTIM_WITNESS: frozenset[Role] = frozenset({R.OFFICER, R.SUPERVISOR, R.PROSECUTOR})


def may(role: Role, step: Step) -> bool:
    return role in STEP_ROLES[step]
