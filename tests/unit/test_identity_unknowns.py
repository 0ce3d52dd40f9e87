"""What is not known is missing: placeholder names and addresses, a year of birth alone, and the
01/01 placeholder date. Missing never agrees with missing, in comparison or in blocking."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from pars.identity.blocking import blocking_keys
from pars.identity.compare import (
    MISSING,
    AddressLevel,
    DobLevel,
    NameLevel,
    PersonFields,
    compare_address,
    compare_dob,
    compare_names,
    compare_persons,
)
from pars.identity.linkage import keys_of, score_pair
from pars.identity.model import DEFAULT_MODEL, MatchModel
from pars.identity.normalize import is_placeholder_name, known_names, parse_address

PLACEHOLDERS = ["UNKNOWN", "unk", "Doe", "NONE", "NFN", "NLN", "FNU", "LNU", "-", "?", "X", "",
                "N/A", "unknown unknown", "Jane Doe"]  # fmt: skip


@pytest.mark.parametrize("name", PLACEHOLDERS)
def test_placeholders_are_missing(name: str) -> None:
    assert is_placeholder_name(name)
    assert known_names(name, name) == (None, None)
    assert compare_names(name, "Smithson", name, "Smithson").first == MISSING


@pytest.mark.parametrize("name", ["Felicity", "Na", "Le", "Xu", "John", "Dough", "Doerr"])
def test_real_names_are_not_placeholders(name: str) -> None:
    assert not is_placeholder_name(name)


def test_john_and_jane_are_placeholders_only_beside_doe() -> None:
    assert known_names("John", "Doe") == (None, None)
    assert known_names("Jane", "UNKNOWN") == (None, None)
    assert known_names("John", "Smith") == ("John", "Smith")
    assert known_names("UNKNOWN", "Smith") == (None, "Smith")


def test_missing_never_agrees_with_missing() -> None:
    names = compare_names("felicity", "UNKNOWN", "felicity", "UNKNOWN")
    assert (names.first, names.last) == (NameLevel.EXACT, MISSING)
    names = compare_names("John", "Doe", "John", "Doe")
    assert (names.first, names.last) == (MISSING, MISSING)
    real = compare_names("John", "Dorsey", "John", "Dorsey")
    assert (real.first, real.last) == (NameLevel.EXACT, NameLevel.EXACT)
    assert compare_address("HOMELESS", "homeless").level == MISSING
    assert compare_address("Unknown", "UNKNOWN").level == MISSING
    assert parse_address("N/A") is None
    assert compare_address("12 Elm St", "12 Elm Street").level == AddressLevel.EXACT


def test_the_felicity_unknown_pair_at_different_addresses_is_not_linked() -> None:
    # The one false pair of the held-out run: two women booked as "felicity UNKNOWN".
    a = PersonFields("felicity", "UNKNOWN", date(1984, 7, 19), "F", "41 Banks St 2600")
    b = PersonFields("felicity", "UNKNOWN", date(1991, 3, 2), "F", "7 Carrington Cres 4051")
    score = score_pair(DEFAULT_MODEL, a, b)
    levels = {f.field: f.level for f in score.fields}
    assert levels["last"] == MISSING and levels["first"] == NameLevel.EXACT
    assert score.probability < 0.5
    # With a real surname written the same, the names would count.
    named = score_pair(DEFAULT_MODEL, replace(a, last="Okonjo"), replace(b, last="Okonjo"))
    assert named.weight > score.weight


def test_placeholders_make_no_blocking_keys() -> None:
    assert blocking_keys("UNKNOWN", "DOE", None) == frozenset()
    assert blocking_keys("John", "Doe", None, aliases=[("FNU", "LNU")]) == frozenset()
    assert blocking_keys("-", "?", None, address="UNKNOWN") == frozenset()
    keys = blocking_keys("felicity", "UNKNOWN", date(1984, 7, 19))
    assert not any(k.startswith(("L:", "N:")) for k in keys)  # no surname, no name pair
    real = blocking_keys("felicity", "Okonjo", date(1984, 7, 19))
    assert any(k.startswith("L:") for k in real) and any(k.startswith("N:") for k in real)
    assert blocking_keys("Ann", "Lee", None, address="HOMELESS") == blocking_keys(
        "Ann", "Lee", None
    )


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        (1990, date(1990, 5, 17), DobLevel.SAME_YEAR),
        (date(1990, 5, 17), 1990, DobLevel.SAME_YEAR),
        (1990, 1990, DobLevel.SAME_YEAR),
        (date(1990, 1, 1), date(1990, 1, 1), DobLevel.SAME_YEAR),  # the placeholder, twice
        (date(1990, 1, 1), date(1990, 8, 30), DobLevel.SAME_YEAR),
        (1990, 1991, DobLevel.DISAGREE),
        (date(1990, 1, 1), date(1991, 1, 1), DobLevel.DISAGREE),
        (1990, None, MISSING),
        (date(1990, 1, 2), date(1990, 1, 2), DobLevel.EXACT),  # 2 January is a real date
    ],
)
def test_a_partly_unknown_date_of_birth_compares_by_year_only(
    a: date | int | None, b: date | int | None, level: int
) -> None:
    assert compare_dob(a, b).level == level


def test_year_only_agreement_is_weaker_than_an_exact_date() -> None:
    weights = DEFAULT_MODEL.level_weights()["dob"]
    assert weights["DISAGREE"] < 0 < weights["SAME_YEAR"] < weights["EXACT"]
    full = PersonFields("Mary", "Okafor", date(1962, 11, 30), "F", "77 Elm Ave 19107")
    year = PersonFields("Mary", "Okafor", None, "F", "77 Elm Ave 19107", dob_year=1962)
    jan1 = PersonFields("Mary", "Okafor", date(1962, 1, 1), "F", "77 Elm Ave 19107")
    assert compare_persons(year, full).dob.level == DobLevel.SAME_YEAR
    exact = score_pair(DEFAULT_MODEL, full, full).weight
    assert score_pair(DEFAULT_MODEL, year, full).weight < exact
    assert score_pair(DEFAULT_MODEL, jan1, jan1).weight < exact


def test_a_year_of_birth_alone_blocks_on_surname_and_year() -> None:
    year = PersonFields("Mary", "Okafor", None, dob_year=1962)
    full = PersonFields("Mary", "Okafor", date(1962, 11, 30))
    keys = keys_of(year)
    assert {k.split(":", 1)[0] for k in keys} == {"L", "N", "W"}
    assert any(k.startswith("L:") and k.endswith(":1962") for k in keys & keys_of(full))


def test_a_model_stored_before_the_same_year_level_still_loads() -> None:
    data = DEFAULT_MODEL.to_json()
    for side in ("m", "u"):
        del data[side]["dob"][DobLevel.SAME_YEAR]  # the seven levels of the older shape
    old = MatchModel.from_json(data, version=3)
    assert len(old.m["dob"]) == len(DobLevel) - 1 == len(DEFAULT_MODEL.m["dob"])
    weights = old.level_weights()["dob"]
    assert 0 < weights["SAME_YEAR"] < weights["EXACT"]
    assert abs(weights["EXACT"] - DEFAULT_MODEL.level_weights()["dob"]["EXACT"]) < 0.01
