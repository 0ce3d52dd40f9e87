"""A jurisdiction's own limited-access rule, for tests: PARS_LIMITED_ACCESS_RULE names it."""

from __future__ import annotations

from datetime import datetime, timedelta

from pars.domain.limited_access import RecordFacts


def diverted_at_once(facts: RecordFacts, now: datetime, wait: timedelta) -> str | None:
    """Seal diverted cases the moment they are diverted; nothing else."""
    return "diverted (test jurisdiction)" if facts.state == "diverted" else None


diverted_at_once.candidate_states = frozenset({"diverted"})  # type: ignore[attr-defined]

NOT_A_FUNCTION = 3
