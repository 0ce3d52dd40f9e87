"""The default limited-access rule (Pennsylvania's Clean Slate for non-conviction records) on
its boundaries, and the loading of PARS_LIMITED_ACCESS_RULE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pars.config import Settings
from pars.domain.limited_access import (
    CLEAN_SLATE_STATES,
    facts_of,
    pennsylvania_clean_slate,
)
from pars.services.app import load_limited_access_rule

ARRESTED = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
DECIDED = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
WAIT = timedelta(days=30)


def _declined() -> dict[str, object]:
    return {"charging": {"outcome": "decline", "decided_at": DECIDED.isoformat()}}


def test_declined_case_is_sealed_on_the_day_of_eligibility_not_the_day_before() -> None:
    facts = facts_of("a1", "Q1-0", "declined", ARRESTED, _declined())
    assert facts.disposed_at == DECIDED
    eligible_at = DECIDED + WAIT
    assert pennsylvania_clean_slate(facts, eligible_at - timedelta(days=1), WAIT) is None
    assert pennsylvania_clean_slate(facts, eligible_at - timedelta(microseconds=1), WAIT) is None
    reason = pennsylvania_clean_slate(facts, eligible_at, WAIT)
    assert reason is not None and "9122.2(a)(2)" in reason and "declined" in reason


def test_dismissal_for_lack_of_probable_cause_counts_from_the_arraignment() -> None:
    recorded = DECIDED + timedelta(hours=10)
    doc = {
        "charging": {"outcome": "charge", "decided_at": DECIDED.isoformat()},
        "arraignment": {"probable_cause_found": False, "recorded_at": recorded.isoformat()},
    }
    facts = facts_of("a1", "Q1-0", "dismissed", ARRESTED, doc)
    assert facts.disposed_at == recorded
    assert pennsylvania_clean_slate(facts, recorded + WAIT - timedelta(days=1), WAIT) is None
    reason = pennsylvania_clean_slate(facts, recorded + WAIT, WAIT)
    assert reason is not None and "probable cause" in reason


@pytest.mark.parametrize(
    "state", ["submitted", "charged", "arraigned", "diverted", "released_for_summons"]
)
def test_cases_that_did_not_end_without_conviction_here_are_never_sealed(state: str) -> None:
    facts = facts_of("a1", "Q1-0", state, ARRESTED, _declined())
    assert pennsylvania_clean_slate(facts, DECIDED + timedelta(days=3650), WAIT) is None


def test_a_zero_wait_seals_at_the_disposition() -> None:
    facts = facts_of("a1", "Q1-0", "declined", ARRESTED, _declined())
    assert pennsylvania_clean_slate(facts, DECIDED, timedelta(0)) is not None
    assert pennsylvania_clean_slate(facts, DECIDED - timedelta(seconds=1), timedelta(0)) is None


def test_a_record_without_a_disposition_instant_is_left_alone() -> None:
    facts = facts_of("a1", "Q1-0", "declined", ARRESTED, {})
    assert facts.disposed_at is None
    assert pennsylvania_clean_slate(facts, DECIDED + timedelta(days=3650), WAIT) is None


def test_the_default_is_the_setting_and_declares_its_candidates() -> None:
    rule = load_limited_access_rule(Settings().limited_access_rule)
    assert rule is pennsylvania_clean_slate
    declared = rule.candidate_states  # type: ignore[attr-defined]
    assert declared == CLEAN_SLATE_STATES == {"declined", "dismissed"}
    assert Settings().limited_access_wait_days == 30


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon_here", "must be 'package.module:function'"),
        ("tests.integration.no_such_module:rule", "cannot import"),
        ("tests.integration.lifecycle_rules:missing", "has no function missing"),
        ("tests.integration.lifecycle_rules:NOT_A_FUNCTION", "has no function"),
    ],
)
def test_an_invalid_rule_setting_is_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match="PARS_LIMITED_ACCESS_RULE") as e:
        load_limited_access_rule(spec)
    assert message in str(e.value)
