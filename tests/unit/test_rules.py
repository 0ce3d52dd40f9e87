"""Identifiers, grades and charge decisions."""

from __future__ import annotations

from dataclasses import asdict, fields

import pytest

from pars.domain.charging import Charge, ChargeAction, ChargeDecision, ChargeSpec, apply_decisions
from pars.domain.errors import InvalidInput
from pars.domain.grades import Grade, most_serious
from pars.domain.identifiers import (
    format_otn,
    luhn_check_digit,
    otn_from_sequence,
    parse_docket,
    valid_otn,
)


def test_luhn_known_values() -> None:
    # 7992739871 is the textbook Luhn example with check digit 3.
    assert luhn_check_digit("7992739871") == 3
    assert luhn_check_digit("0") == 0


def test_otn_shape_and_check_digit() -> None:
    otn = format_otn("Q", 333333)
    assert otn == "Q333333-7"
    assert valid_otn(otn)
    # Every single-digit error is caught.
    for pos in range(1, 7):
        for d in "0123456789":
            if otn[pos] != d:
                assert not valid_otn(otn[:pos] + d + otn[pos + 1 :])
    assert not valid_otn("Q33333-7")
    assert not valid_otn("q333333-7")


def test_otn_sequence_rolls_to_the_next_letter() -> None:
    assert otn_from_sequence("Q", 1).startswith("Q000001-")
    assert otn_from_sequence("Q", 1_000_000).startswith("R000000-")
    with pytest.raises(ValueError, match="exhausted"):
        otn_from_sequence("Z", 1_000_000)


def test_docket_round_trip() -> None:
    d = parse_docket("MC-51-CR-0001234-2026")
    assert (d.court, d.county, d.case_type, d.sequence, d.year) == ("MC", "51", "CR", 1234, 2026)
    assert str(d) == "MC-51-CR-0001234-2026"
    with pytest.raises(ValueError, match="MC-51-CR"):
        parse_docket("MC-51-CR-1234-2026")


def test_grade_order() -> None:
    order = [
        Grade.H1,
        Grade.H2,
        Grade.H3,
        Grade.F1,
        Grade.F2,
        Grade.F3,
        Grade.M1,
        Grade.M2,
        Grade.M3,
        Grade.S,
    ]
    assert sorted(Grade, key=lambda g: -g.severity) == order
    assert most_serious([Grade.M2, Grade.F3, Grade.S]) is Grade.F3
    assert most_serious([]) is None


def _charges() -> list[Charge]:
    return [
        Charge(1, ChargeSpec("18 § 2701 §§ A1", "Simple Assault", Grade.M2)),
        Charge(2, ChargeSpec("18 § 3921 §§ A", "Theft", Grade.M1)),
    ]


def test_decisions_keep_the_police_version_of_an_amended_charge() -> None:
    amended = ChargeSpec("18 § 3921 §§ A", "Theft", Grade.M2)
    added = ChargeSpec("18 § 907 §§ A", "PIC", Grade.M1)
    result = apply_decisions(
        _charges(),
        [
            ChargeDecision(ChargeAction.WITHDRAW, 1),
            ChargeDecision(ChargeAction.AMEND, 2, amended),
            ChargeDecision(ChargeAction.ADD, None, added),
        ],
    )
    assert [c.decision for c in result] == [
        ChargeAction.WITHDRAW,
        ChargeAction.AMEND,
        ChargeAction.ADD,
    ]
    assert result[1].recommended is not None and result[1].recommended.grade is Grade.M1
    assert result[1].spec.grade is Grade.M2
    assert result[2].id == 3 and result[2].origin == "prosecutor"
    assert [c.active for c in result] == [False, True, True]


@pytest.mark.parametrize(
    ("decisions", "pointer"),
    [
        ([ChargeDecision(ChargeAction.APPROVE, 1)], "/charges"),
        (
            [
                ChargeDecision(ChargeAction.APPROVE, 1),
                ChargeDecision(ChargeAction.APPROVE, 1),
                ChargeDecision(ChargeAction.APPROVE, 2),
            ],
            "/charges/1/charge_id",
        ),
        (
            [
                ChargeDecision(ChargeAction.APPROVE, 9),
                ChargeDecision(ChargeAction.APPROVE, 1),
                ChargeDecision(ChargeAction.APPROVE, 2),
            ],
            "/charges/0/charge_id",
        ),
        (
            [ChargeDecision(ChargeAction.WITHDRAW, 1), ChargeDecision(ChargeAction.WITHDRAW, 2)],
            "/charges",
        ),
        (
            [ChargeDecision(ChargeAction.AMEND, 1), ChargeDecision(ChargeAction.APPROVE, 2)],
            "/charges/0/statute",
        ),
        (
            [
                ChargeDecision(ChargeAction.APPROVE, None),
                ChargeDecision(ChargeAction.APPROVE, 2),
                ChargeDecision(ChargeAction.APPROVE, 1),
            ],
            "/charges/0/charge_id",
        ),
    ],
)
def test_bad_decisions_name_the_field(decisions: list[ChargeDecision], pointer: str) -> None:
    with pytest.raises(InvalidInput) as err:
        apply_decisions(_charges(), decisions)
    assert pointer in [e.pointer for e in err.value.errors]


def test_a_charge_as_data_names_every_field_of_its_spec_in_order() -> None:
    spec = ChargeSpec("18 § 3921", "Theft by unlawful taking", Grade.M1, 2)
    amended = ChargeSpec("18 § 3925", "Receiving stolen property", Grade.M2)
    data = Charge(1, amended, "prosecutor", recommended=spec).to_dict()
    names = [f.name for f in fields(ChargeSpec)]
    assert [k for k in data if k in names] == names
    assert data["recommended"] == {**asdict(spec), "grade": "M1", "modifier": None}
    assert Charge.from_dict(data) == Charge(1, amended, "prosecutor", recommended=spec)
