"""The linking quality on FEBRL 4 (tests/fixtures/febrl4, read offline), against floors set just
under the figures measured when they were written, so that a regression fails.

Each record of 4b is linked to its best candidate in 4a when that candidate's match probability
reaches the default review threshold: what the online matcher does for each arrestee. The
model is trained (EM) on the two files, without the SSN column, which PARS never reads.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from pars.config import Settings
from pars.identity.compare import PersonFields
from pars.identity.em import train
from pars.identity.febrl import entity, quality, read_febrl
from pars.identity.linkage import best_links, candidate_pairs, score_pair
from pars.identity.model import DEFAULT_MODEL, MatchModel

FEBRL4 = Path(__file__).resolve().parents[1] / "fixtures" / "febrl4"
# Measured (2026-11-22): precision 1.0000, recall 0.9852, F1 0.9925; blocking 0.9964.
PRECISION_FLOOR = 0.998
RECALL_FLOOR = 0.980
F1_FLOOR = 0.990
BLOCKING_FLOOR = 0.995


@pytest.fixture(scope="module")
def febrl4() -> tuple[list[tuple[str, object]], list[tuple[str, object]]]:
    a = read_febrl(FEBRL4 / "dataset4a.csv")
    b = read_febrl(FEBRL4 / "dataset4b.csv")
    assert len(a) == len(b) == 5000
    return a, b  # type: ignore[return-value]


@pytest.fixture(scope="module")
def model(febrl4: tuple[list, list]) -> MatchModel:  # type: ignore[type-arg]
    a, b = febrl4
    return train([p for _, p in b], [p for _, p in a])


def test_the_fixture_holds_the_true_links(febrl4: tuple[list, list]) -> None:  # type: ignore[type-arg]
    a, b = febrl4
    assert {entity(r) for r, _ in a} == {entity(r) for r, _ in b}
    assert all(r.endswith("-org") for r, _ in a) and all(r.endswith("-dup-0") for r, _ in b)


def test_blocking_brings_the_true_pairs_together(febrl4: tuple[list, list]) -> None:  # type: ignore[type-arg]
    a, b = febrl4
    pairs = list(candidate_pairs([p for _, p in b], [p for _, p in a]))
    found = {i for i, j in pairs if entity(b[i][0]) == entity(a[j][0])}
    assert len(found) / len(b) >= BLOCKING_FLOOR
    assert len(pairs) < 5 * len(b)  # a handful of candidates per record, not a scan


def test_precision_recall_f1_at_the_default_threshold(
    febrl4: tuple[list, list],  # type: ignore[type-arg]
    model: MatchModel,
) -> None:
    a, b = febrl4
    threshold = Settings.model_fields["identity_review_threshold"].default
    links = best_links(model, [p for _, p in b], [p for _, p in a], threshold)
    q = quality(((b[link.i][0], a[link.j][0]) for link in links), true_links=len(b))
    summary = f"precision {q.precision:.4f} recall {q.recall:.4f} F1 {q.f1:.4f}"
    assert q.precision >= PRECISION_FLOOR, summary
    assert q.recall >= RECALL_FLOOR, summary
    assert q.f1 >= F1_FLOOR, summary


def test_training_finds_the_share_of_matches(model: MatchModel) -> None:
    # 5,000 true links among 5,000 x 5,000 pairs: a prior of 1/5,000.
    assert 1 / 8000 < model.prior < 1 / 3000
    weights = model.level_weights()
    assert weights["dob"]["EXACT"] > 8 > weights["dob"]["DISAGREE"]
    assert weights["last"]["EXACT"] > 0 > weights["last"]["DISAGREE"]


# -- issue 15 item 6: the false matches found at scale, pinned ----------------------------------
#
# Three kinds of false pair came out of the held-out run at 20k and 100k: a shared surname with
# one DOB digit off and different first names (p 0.59 then), a short name with nothing else to
# compare (p 0.85), and a near-surname with the same DOB and different first names (p 0.76).
# Each must stay below the batch dedupe's threshold under the shipped default model and under a
# model trained on data it was not tuned to (FEBRL 4); the first must not even reach review.
# Each pattern is paired with the same pair whose first names agree, which is a match: what keeps
# the strangers apart is the first names' disagreement (and, for a name alone, the lack of
# anything else), so a change that lost that weight fails here.

STRANGERS = {
    "shared surname, one DOB digit off, other first names": (
        PersonFields("maria", "white", date(1985, 3, 12)),
        PersonFields("rosa", "white", date(1985, 3, 13)),
    ),
    "a short name and nothing else": (PersonFields("li", "white"), PersonFields("li", "white")),
    "near-surname, same DOB, other first names": (
        PersonFields("john", "white", date(1980, 6, 17)),
        PersonFields("james", "whyte", date(1980, 6, 17)),
    ),
}


@pytest.mark.parametrize("pattern", list(STRANGERS))
@pytest.mark.parametrize("which", ["default", "trained"])
def test_the_false_match_patterns_found_at_scale_stay_below_the_batch_threshold(
    model: MatchModel, which: str, pattern: str
) -> None:
    chosen = DEFAULT_MODEL if which == "default" else model
    batch = Settings.model_fields["identity_dedupe_threshold"].default
    review = Settings.model_fields["identity_review_threshold"].default
    a, b = STRANGERS[pattern]
    p = score_pair(chosen, a, b).probability
    assert p < batch, f"{pattern}: p {p:.3f}"
    if pattern.startswith("shared surname"):
        assert p < review, f"{pattern}: p {p:.3f}"
    if a.dob is not None:  # the same pair with the first names agreeing is a match
        same_first = dataclasses.replace(b, first=a.first)
        assert score_pair(chosen, a, same_first).probability >= batch, pattern
