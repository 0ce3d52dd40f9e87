"""The Fellegi-Sunter model, EM training and in-memory linking (no database)."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import date

import pytest

from pars.identity.blocking import blocking_keys
from pars.identity.compare import NameLevel, PersonFields, compare_persons
from pars.identity.em import expectation_maximisation, train
from pars.identity.linkage import best_links, candidate_pairs, score_pair
from pars.identity.model import DEFAULT_MODEL, FIELDS, MatchModel, probability


def test_weights_add_up_and_missing_fields_add_nothing() -> None:
    model = DEFAULT_MODEL
    full = (NameLevel.EXACT, NameLevel.EXACT, 6, 1, 4, 3)
    expected = model.base + sum(
        math.log2(model.m[f][k] / model.u[f][k]) for f, k in zip(FIELDS, full, strict=True)
    )
    assert model.weight_of(full) == pytest.approx(expected)
    assert model.weight_of((-1,) * 6) == pytest.approx(model.base)
    assert probability(0.0) == 0.5 and probability(100) == 1.0 and probability(-100) == 0.0


def test_score_explains_every_field() -> None:
    a = PersonFields("Bill", "Smith", date(1990, 4, 2), "M", "12 Elm St 19107")
    b = PersonFields("William", "Smith", date(1990, 2, 4), "M", "12 Elm St 19107")
    score = score_pair(DEFAULT_MODEL, a, b)
    parts = {f.field: f for f in score.fields}
    assert parts["first"].label == "NICKNAME" and "BILL~WILLIAM" in parts["first"].reason
    assert parts["dob"].label == "DAY_MONTH_SWAPPED" and parts["dob"].weight > 0
    assert parts["phone"].label == "MISSING" and parts["phone"].weight == 0
    assert score.weight == pytest.approx(DEFAULT_MODEL.base + sum(f.weight for f in score.fields))
    assert score.probability > 0.99


def test_common_names_weigh_less_than_rare_ones() -> None:
    tf = {"first": {"JOHN": 0.04, "": 1e-6}, "last": {"SMITH": 0.01, "": 1e-6}}
    model = MatchModel(DEFAULT_MODEL.m, DEFAULT_MODEL.u, DEFAULT_MODEL.prior, tf)
    dob = date(1980, 1, 1)
    common = score_pair(
        model, PersonFields("John", "Smith", dob), PersonFields("John", "Smith", dob)
    )
    rare = score_pair(
        model, PersonFields("Zebulon", "Quark", dob), PersonFields("Zebulon", "Quark", dob)
    )
    assert rare.weight > common.weight
    assert "common name" in common.fields[0].reason


def test_model_round_trips_through_json() -> None:
    again = MatchModel.from_json(DEFAULT_MODEL.to_json(), version=7)
    assert again.version == 7
    assert again.level_weights() == DEFAULT_MODEL.level_weights()
    with pytest.raises(ValueError, match="levels"):
        MatchModel({**DEFAULT_MODEL.m, "sex": (1.0,)}, DEFAULT_MODEL.u, 0.1)


def test_em_recovers_known_parameters() -> None:
    # Two binary fields and one three-level field, 10% matches, drawn from known m and u.
    m = [[0.1, 0.9], [0.2, 0.8], [0.05, 0.15, 0.8]]
    u = [[0.9, 0.1], [0.7, 0.3], [0.8, 0.15, 0.05]]
    rng = random.Random(1)
    counts: Counter[tuple[int, ...]] = Counter()
    for _ in range(20_000):
        probs = m if rng.random() < 0.1 else u
        counts[tuple(rng.choices(range(len(p)), p)[0] for p in probs)] += 1
    start = [[0.5, 0.5], [0.5, 0.5], [0.3, 0.3, 0.4]]
    fitted, share = expectation_maximisation(counts, start, u, 0.3, active=[0, 1, 2])
    assert share == pytest.approx(0.1, abs=0.02)
    for got, want in zip(fitted, m, strict=True):
        assert got == pytest.approx(want, abs=0.05)


def _people(n: int, seed: int) -> list[PersonFields]:
    rng = random.Random(seed)
    firsts = ["JOHN", "MARY", "JOSE", "ANA", "WEI", "AISHA", "LIAM", "NORA", "OMAR", "ZOE"]
    lasts = ["SMITH", "GARCIA", "NGUYEN", "OKAFOR", "KOWALSKI", "MULLER", "ROSSI", "PATEL"]
    return [
        PersonFields(
            rng.choice(firsts) + rng.choice("ABCDEFGH"),
            rng.choice(lasts) + rng.choice("KLMNOPQRST"),
            date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28)),
            rng.choice("MF"),
            f"{rng.randrange(1, 999)} Elm St",
            f"191{rng.randrange(10, 50)}",
        )
        for _ in range(n)
    ]


def _booked(i: int, p: PersonFields) -> PersonFields:
    """A later booking of `p`: names swapped (every third), else day and month swapped (when
    both can be months) and no address."""
    if i % 3 == 0:
        return PersonFields(p.last, p.first, p.dob, p.sex, p.address, p.zip_code)
    assert p.dob is not None
    dob = p.dob.replace(month=p.dob.day, day=p.dob.month) if p.dob.day <= 12 else p.dob
    return PersonFields(p.first, p.last, dob, p.sex)


def test_training_and_linking_on_synthetic_duplicates() -> None:
    truth = _people(600, 3)
    dups = [_booked(i, p) for i, p in enumerate(truth)]
    model = train(dups, truth, random_pairs=5000, seed=5)
    assert model.info["trained"] and 0 < model.prior < 0.01
    links = best_links(model, dups, truth, 0.5)
    right = sum(1 for link in links if link.i == link.j)
    assert right >= 0.95 * len(truth) and right == len(links)


def test_candidate_pairs_are_unique_and_ordered() -> None:
    people = _people(200, 9) * 2  # every person twice
    pairs = list(candidate_pairs(people))
    assert len(pairs) == len(set(pairs)) and all(i < j for i, j in pairs)
    assert {(i, i + 200) for i in range(200)} <= set(pairs)


def test_address_blocking_keys() -> None:
    keys = blocking_keys("Ann", "Lee", None, address="12 N Broad St", zip_code="19107")
    assert {"A:19107:12", "H:12:PRT", "Z:19107:L", "Y:19107:AN"} <= keys
    moved = blocking_keys("Anne", "Leigh", None, address="12 N Broad Street, Philadelphia 19170")
    assert "H:12:PRT" in keys & moved  # a ZIP typo and a respelled name: the house and street
    assert (
        compare_persons(
            PersonFields("Ann", "Lee", None, None, "12 N Broad St", "19107"),
            PersonFields("Ann", "Lee", None, None, "12 N Broad St", "19170"),
        ).address.reason
        == "same address, ZIP typo"
    )
