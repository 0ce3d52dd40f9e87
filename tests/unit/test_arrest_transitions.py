"""Every action from every state: the legal ones move as the workflow says, the others are refused
with IllegalTransition naming the current state and the actions it allows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from pars.domain.arraignment import Arraignment, Bail, BailType
from pars.domain.arrest import ACTIONS, Arrest, ArrestState, Custody, CustodyReason, allowed_actions
from pars.domain.charging import CaseOutcome, Charge, ChargeAction, ChargeDecision, ChargeSpec
from pars.domain.errors import Conflict, IllegalTransition, InvalidInput
from pars.domain.grades import Grade
from pars.domain.pretrial import AddressCheck, PretrialInterview, Reason, Recommendation
from pars.domain.release import pennsylvania_rule

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
S = ArrestState


def _arrest(state: ArrestState = S.DRAFT, grade: Grade = Grade.M2) -> Arrest:
    a = Arrest(
        id="a1",
        otn="Q000001-2",
        created_by="officer1",
        created_at=T0,
        state=state,
        document={"arrested_at": T0.isoformat(), "person": {"date_of_birth": "1990-01-01"}},
        charges=[Charge(1, ChargeSpec("18 § 2701 §§ A1", "Simple Assault", grade))],
    )
    return a


def _arraignment(pc: bool = True) -> Arraignment:
    return Arraignment(
        session_at=T0 + timedelta(hours=6),
        magistrate="ACM Lee",
        probable_cause_found=pc,
        bail=Bail(BailType.ROR) if pc else None,
        preliminary_hearing_date=date(2026, 11, 25) if pc else None,
    )


# Each action, performed with valid arguments.
PERFORM: dict[str, Any] = {
    "submit": lambda a: a.submit("o", T0),
    "identify": lambda a: a.identify({"person_id": "p1"}, "s", T0),
    "record_pretrial": lambda a: a.record_pretrial(
        PretrialInterview(True, AddressCheck.PHONE, Recommendation.ROR, (Reason.COMMUNITY_TIES,)),
        "pt",
        T0,
    ),
    "open_charging_review": lambda a: a.open_charging_review("p", T0),
    "decide_charges": lambda a: a.decide_charges(
        CaseOutcome.CHARGE, [ChargeDecision(ChargeAction.APPROVE, 1)], None, "p", T0
    ),
    "release_for_summons": lambda a: a.release_for_summons(pennsylvania_rule, "r", "p", T0),
    "schedule_arraignment": lambda a: a.schedule_arraignment(T0 + timedelta(hours=4), "c", T0),
    "arraign": lambda a: a.arraign(_arraignment(), date(2026, 11, 20), "m", T0),
    "change_custody": lambda a: a.change_custody(
        Custody.RELEASED, CustodyReason.OTHER, None, "s", T0
    ),
    "correct": lambda a: a.correct({"narrative": "fixed"}, {}, "typo", "o", T0),
    "seal": lambda a: a.seal("order 1", "c", T0),
    "expunge": lambda a: a.expunge("order 2", "c", T0),
}

EXPECTED_TARGET = {
    ("submit", S.DRAFT): S.SUBMITTED,
    ("identify", S.SUBMITTED): S.IDENTIFIED,
    ("open_charging_review", S.SUBMITTED): S.CHARGING_REVIEW,
    ("open_charging_review", S.IDENTIFIED): S.CHARGING_REVIEW,
    ("decide_charges", S.SUBMITTED): S.CHARGED,
    ("decide_charges", S.IDENTIFIED): S.CHARGED,
    ("decide_charges", S.CHARGING_REVIEW): S.CHARGED,
    ("release_for_summons", S.CHARGED): S.RELEASED_FOR_SUMMONS,
    ("schedule_arraignment", S.CHARGED): S.ARRAIGNMENT_SCHEDULED,
    ("schedule_arraignment", S.ARRAIGNMENT_SCHEDULED): S.ARRAIGNMENT_SCHEDULED,
    ("arraign", S.CHARGED): S.ARRAIGNED,
    ("arraign", S.ARRAIGNMENT_SCHEDULED): S.ARRAIGNED,
}


def test_every_action_is_performed_by_the_table() -> None:
    assert set(PERFORM) == set(ACTIONS)


@pytest.mark.parametrize("state", list(ArrestState), ids=str)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_action_from_state(action: str, state: ArrestState) -> None:
    arrest = _arrest(state)
    if state in ACTIONS[action]:
        PERFORM[action](arrest)
        expected = EXPECTED_TARGET.get((action, state))
        if expected is not None:
            assert arrest.state is expected
        elif action == "seal":
            assert arrest.state is S.SEALED
        elif action == "expunge":
            assert arrest.state is S.EXPUNGED
        else:  # identify after submission, pretrial, custody and corrections keep the state
            assert arrest.state is state
        assert arrest.history[-1]["action"] == action
    else:
        with pytest.raises(IllegalTransition) as err:
            PERFORM[action](arrest)
        assert err.value.current == state.value
        assert err.value.allowed == allowed_actions(state)
        assert f"'{state.value}'" in err.value.detail
        assert arrest.state is state
        assert arrest.history == []


def test_terminal_states_allow_only_record_keeping() -> None:
    assert allowed_actions(S.EXPUNGED) == []
    assert allowed_actions(S.SEALED) == ["expunge"]
    assert "submit" not in allowed_actions(S.ARRAIGNED)


def test_submit_needs_a_charge() -> None:
    a = _arrest()
    a.charges = []
    with pytest.raises(InvalidInput) as err:
        a.submit("o", T0)
    assert err.value.errors[0].pointer == "/charges"


@pytest.mark.parametrize(
    ("start", "to", "ok"),
    [
        (Custody.HELD, Custody.RELEASED, True),
        (Custody.HELD, Custody.COMMITTED, True),
        (Custody.COMMITTED, Custody.RELEASED, True),
        (Custody.COMMITTED, Custody.HELD, False),
        (Custody.RELEASED, Custody.HELD, False),
        (Custody.RELEASED, Custody.COMMITTED, False),
        (Custody.HELD, Custody.HELD, False),
    ],
)
def test_custody_moves(start: Custody, to: Custody, ok: bool) -> None:
    a = _arrest(S.CHARGED)
    a.custody = start
    if ok:
        a.change_custody(to, CustodyReason.OTHER, None, "s", T0)
        assert a.custody is to
        assert a.document["custody_changes"][-1]["from"] == start.value
    else:
        with pytest.raises(Conflict, match=f"from '{start.value}'"):
            a.change_custody(to, CustodyReason.OTHER, None, "s", T0)
        assert a.custody is start


def test_decline_and_divert_need_a_reason() -> None:
    for outcome in (CaseOutcome.DECLINE, CaseOutcome.DIVERT):
        a = _arrest(S.SUBMITTED)
        with pytest.raises(InvalidInput, match="reason"):
            a.decide_charges(outcome, [], None, "p", T0)
        a.decide_charges(outcome, [], "no evidence", "p", T0)
        assert a.state is (S.DECLINED if outcome is CaseOutcome.DECLINE else S.DIVERTED)
        assert a.custody_indicator() == "release"


def test_no_probable_cause_dismisses() -> None:
    a = _arrest(S.CHARGED)
    a.arraign(_arraignment(pc=False), date(2026, 11, 20), "m", T0)
    assert a.state is S.DISMISSED


def test_summons_release_refused_for_serious_charges() -> None:
    a = _arrest(S.CHARGED, grade=Grade.F2)
    with pytest.raises(Conflict, match="F2"):
        a.release_for_summons(pennsylvania_rule, "r", "p", T0)
    assert a.state is S.CHARGED


@pytest.mark.parametrize(
    ("specs", "allowed"),
    [
        ([("18 § 2701 §§ A1", Grade.M2)], True),
        ([("18 § 5503 §§ A1", Grade.M3), ("18 § 3929 §§ A1", Grade.S)], True),
        ([("75 § 3802 §§ A1", Grade.M1)], True),
        ([("75 § 3802 §§ A1", Grade.M1), ("18 § 2701 §§ A1", Grade.M2)], True),
        ([("18 § 3921 §§ A", Grade.M1)], False),
        ([("75 § 3802 §§ A1", Grade.M1), ("18 § 3921 §§ A", Grade.M1)], False),
        ([("18 § 2702 §§ A1", Grade.F1)], False),
        ([("18 § 2502 §§ A", Grade.H1)], False),
    ],
)
def test_pennsylvania_release_rule(specs: list[tuple[str, Grade]], allowed: bool) -> None:
    charges = [Charge(i + 1, ChargeSpec(st, "x", g)) for i, (st, g) in enumerate(specs)]
    assert (pennsylvania_rule(charges) is None) is allowed


def test_withdrawn_charges_do_not_count_for_release() -> None:
    charges = [
        Charge(1, ChargeSpec("18 § 2702 §§ A1", "Agg", Grade.F1), decision=ChargeAction.WITHDRAW),
        Charge(2, ChargeSpec("18 § 2701 §§ A1", "Simple", Grade.M2), decision=ChargeAction.APPROVE),
    ]
    assert pennsylvania_rule(charges) is None


def test_juvenile_is_under_18_on_the_arrest_date() -> None:
    a = _arrest()
    a.document["person"]["date_of_birth"] = "2008-11-21"  # turns 18 the day after the arrest
    assert a.juvenile
    a.document["person"]["date_of_birth"] = "2008-11-20"
    assert not a.juvenile


def test_expunge_destroys_personal_data() -> None:
    a = _arrest(S.ARRAIGNED)
    a.protected = {"person": {"ssn": "123-45-6789"}, "victims": [{"name": "V"}]}
    a.document["narrative"] = "text"
    a.expunge("order", "c", T0)
    assert a.protected == {}
    assert a.charges == []
    assert "person" not in a.document
    assert "narrative" not in a.document
    assert a.document["expunction"]["order"] == "order"


def test_bail_deposit_defaults_to_ten_percent() -> None:
    assert Bail(BailType.MONETARY, Decimal("2500")).deposit_due == Decimal("250.00")
    assert Bail(BailType.MONETARY, Decimal("2500"), Decimal(25)).deposit_due == Decimal("625.00")
    assert Bail(BailType.ROR).deposit_due is None
