"""Linking in memory: candidate pairs from blocking keys, scoring, the best candidate per record.

The database does the same for the online matcher (its key table is the index built here), but
training, the FEBRL evaluation and the benchmarks work on lists of :class:`PersonFields`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from pars.identity.blocking import blocking_keys
from pars.identity.compare import NameLevel, PersonComparison, PersonFields, compare_persons
from pars.identity.model import MatchModel, Score
from pars.identity.normalize import compact

__all__ = [
    "Link",
    "best_links",
    "candidate_pairs",
    "compact_name",
    "explain_pair",
    "keys_of",
    "score_pair",
    "weigh_pair",
]


def compact_name(name: str | None) -> str:
    """A name as the term-frequency tables count it: folded, without spaces."""
    return compact(name)


def keys_of(person: PersonFields) -> frozenset[str]:
    """The blocking keys of a person (see :mod:`pars.identity.blocking`)."""
    return blocking_keys(
        person.first,
        person.last,
        person.dob,
        person.aliases,
        person.address,
        person.zip_code,
        person.dob_year,
        person.phone,
    )


def _index(
    records: Sequence[PersonFields], prefixes: tuple[str, ...] | None
) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for i, person in enumerate(records):
        for key in keys_of(person):
            if prefixes is None or key.split(":", 1)[0] in prefixes:
                index[key].append(i)
    return index


def candidate_pairs(
    left: Sequence[PersonFields],
    right: Sequence[PersonFields] | None = None,
    prefixes: tuple[str, ...] | None = None,
    max_block: int | None = None,
) -> Iterator[tuple[int, int]]:
    """Index pairs ``(i, j)`` of records sharing a blocking key, each pair once.

    With ``right``, pairs link ``left[i]`` to ``right[j]``; without, they are pairs ``i < j``
    within ``left`` (deduplication). ``prefixes`` restricts the keys used (``("D",)``: exact
    date of birth only); blocks larger than ``max_block`` are skipped.
    """
    dedupe = right is None
    target = left if right is None else right
    index = _index(target, prefixes)
    for i, person in enumerate(left):
        found: set[int] = set()
        for key in keys_of(person):
            if prefixes is not None and key.split(":", 1)[0] not in prefixes:
                continue
            block = index.get(key)
            if not block or (max_block is not None and len(block) > max_block):
                continue
            found.update(block)
        for j in sorted(found):
            if not dedupe or j > i:
                yield i, j


def _exact_names(a: PersonFields, comparison: PersonComparison) -> dict[str, str]:
    exact: dict[str, str] = {}
    if comparison.names.first == NameLevel.EXACT:
        exact["first"] = compact(a.first)
    if comparison.names.last == NameLevel.EXACT:
        exact["last"] = compact(a.last)
    return exact


def weigh_pair(
    model: MatchModel, a: PersonFields, b: PersonFields
) -> tuple[float, PersonComparison]:
    """The match weight of two persons (with term-frequency adjustment) and their comparison,
    without building the explanation: for ranking many candidates."""
    comparison = compare_persons(a, b)
    weight = model.weight_of(comparison.gamma)
    for name, value in _exact_names(a, comparison).items():
        weight += model.tf_adjustment(name, value)
    return weight, comparison


def explain_pair(model: MatchModel, a: PersonFields, comparison: PersonComparison) -> Score:
    """The full score, field by field, of a comparison made by :func:`weigh_pair`."""
    return model.score(comparison, _exact_names(a, comparison))


def score_pair(model: MatchModel, a: PersonFields, b: PersonFields) -> Score:
    """The model's score of two persons, with term-frequency adjustment of exact names."""
    comparison = compare_persons(a, b)
    return model.score(comparison, _exact_names(a, comparison))


class Link(NamedTuple):
    """The best candidate ``right[j]`` for ``left[i]`` and its score."""

    i: int
    j: int
    score: Score


def best_links(
    model: MatchModel,
    left: Sequence[PersonFields],
    right: Sequence[PersonFields],
    threshold: float,
    max_block: int | None = None,
) -> list[Link]:
    """For each record of ``left``, its best-scoring candidate in ``right`` when that candidate's
    match probability reaches ``threshold``: what the online matcher does for each arrestee."""
    best: dict[int, Link] = {}
    for i, j in candidate_pairs(left, right, max_block=max_block):
        score = score_pair(model, left[i], right[j])
        current = best.get(i)
        if current is None or score.weight > current.score.weight:
            best[i] = Link(i, j, score)
    return [link for link in best.values() if link.score.probability >= threshold]
