"""Training the model on the jurisdiction's own records: u by counting, m and the prior by EM.

The recipe is the one Splink uses, for the same reasons:

- ``u`` (how often two *different* people agree at each level) from random pairs, which are
  almost all non-matches. The exact-agreement ``u`` of first name, last name and date of birth
  is computed exactly from the value frequencies (``sum(f**2)``), since random sampling sees too
  few exact agreements to estimate it well.
- ``m`` and the share of matches by expectation-maximisation over candidate pairs, with ``u``
  held fixed, in two sessions: pairs that share a date of birth (the ``D`` blocking key), where
  the date of birth is left out of the likelihood because the blocking decided it, and pairs
  that share a name pair (the ``N`` key), where the names are left out. The names' ``m`` comes
  from the first session, the date's from the second, the other fields' is their average.
- The prior: the matches found among the date-of-birth pairs, divided by the share of matches
  whose dates agree exactly, over all pairs.

EM runs over *patterns* (distinct comparison vectors with their counts), so its cost does not
grow with the number of pairs. Term frequencies come from counting names.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from pars.identity.compare import PersonFields, compare_persons
from pars.identity.linkage import candidate_pairs, compact_name
from pars.identity.model import DEFAULT_MODEL, FIELDS, LEVELS, TF_FIELDS, MatchModel

__all__ = ["expectation_maximisation", "train"]

Pattern = tuple[int, ...]
Progress = Callable[[str, int, int], None]

_FIRST, _LAST, _DOB = FIELDS.index("first"), FIELDS.index("last"), FIELDS.index("dob")
#: Names rarer than this count are not listed in the term-frequency table; they get its floor.
TF_MIN_COUNT: Final = 2
#: At most this many names per field in the term-frequency table (the most common ones).
TF_MAX_NAMES: Final = 20_000


def expectation_maximisation(
    patterns: Mapping[Pattern, int],
    m: Sequence[Sequence[float]],
    u: Sequence[Sequence[float]],
    prior: float,
    active: Iterable[int],
    iterations: int = 50,
    tolerance: float = 1e-6,
) -> tuple[list[list[float]], float]:
    """EM for m and the match share over counted comparison vectors, ``u`` held fixed.

    Only the fields in ``active`` enter the likelihood; the others keep their ``m``. Returns
    (m, match share). Levels never seen among the likely matches keep a small floor.
    """
    fields = sorted(active)
    m_now = [list(levels) for levels in m]
    lam = min(max(prior, 1e-6), 0.5)
    items = list(patterns.items())
    total = sum(patterns.values())
    if not total:
        return m_now, lam
    for _ in range(iterations):
        sums = [[0.0] * len(m_now[f]) for f in range(len(m_now))]
        matched = 0.0
        for gamma, count in items:
            pm, pu = lam, 1.0 - lam
            for f in fields:
                level = gamma[f]
                if level >= 0:
                    pm *= m_now[f][level]
                    pu *= u[f][level]
            p = pm / (pm + pu) if pm + pu > 0 else 0.0
            weight = p * count
            matched += weight
            for f in fields:
                level = gamma[f]
                if level >= 0:
                    sums[f][level] += weight
        change = 0.0
        for f in fields:
            seen = sum(sums[f])
            if seen <= 0:
                continue
            new = [max(s / seen, 1e-5) for s in sums[f]]
            norm = sum(new)
            new = [x / norm for x in new]
            change = max(change, *(abs(a - b) for a, b in zip(new, m_now[f], strict=True)))
            m_now[f] = new
        new_lam = min(max(matched / total, 1e-9), 0.999)
        change = max(change, abs(new_lam - lam))
        lam = new_lam
        if change < tolerance:
            break
    return m_now, lam


def _frequencies(values: Iterable[str]) -> tuple[Counter[str], int]:
    counts = Counter(v for v in values if v)
    return counts, sum(counts.values())


def _tf_table(counts: Counter[str], total: int) -> dict[str, float]:
    if not total:
        return {}
    table = {name: n / total for name, n in counts.most_common(TF_MAX_NAMES) if n >= TF_MIN_COUNT}
    # The floor for names not listed: as rare as the rarest listed name, or rarer.
    table[""] = min(TF_MIN_COUNT, max(counts.values(), default=1)) / total / 2
    return table


def _exact_u(counts: Counter[str], total: int) -> float | None:
    if total < 2:
        return None
    return max(sum(n * (n - 1) for n in counts.values()) / (total * (total - 1)), 1e-7)


def _count_levels(patterns: Iterable[tuple[Pattern, int]]) -> list[list[float]]:
    sums = [[0.5] * sum(1 for level in LEVELS[f] if level >= 0) for f in FIELDS]  # smoothing
    for gamma, count in patterns:
        for f, level in enumerate(gamma):
            if level >= 0:
                sums[f][level] += count
    return [[s / sum(levels) for s in levels] for levels in sums]


def _with_exact(levels: list[float], exact: float | None) -> list[float]:
    """Set the last (exact) level's probability, rescaling the others to keep the sum 1."""
    if exact is None:
        return levels
    rest = sum(levels[:-1])
    return [x * (1.0 - exact) / rest for x in levels[:-1]] + [exact]


def train(
    records: Sequence[PersonFields],
    others: Sequence[PersonFields] | None = None,
    *,
    random_pairs: int = 100_000,
    max_pairs: int = 400_000,
    seed: int = 2026,
    start: MatchModel = DEFAULT_MODEL,
    progress: Progress | None = None,
) -> MatchModel:
    """A model trained on ``records`` (deduplication), or on linking ``records`` to ``others``.

    ``random_pairs`` pairs estimate ``u``; each EM session uses at most ``max_pairs`` candidate
    pairs (a random sample of them when there are more). ``progress(stage, done, total)`` is
    called now and then. Deterministic for a given ``seed``.
    """
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    left = records
    right = others if others is not None else records
    everyone = list(records) + list(others or ())
    if len(left) < 2 or len(right) < 2:
        raise ValueError("training needs at least two records on each side")

    # u: random pairs, then the exact levels from value frequencies.
    random_counts: Counter[Pattern] = Counter()
    for n in range(random_pairs):
        i, j = rng.randrange(len(left)), rng.randrange(len(right))
        if others is None and i == j:
            continue
        random_counts[compare_persons(left[i], right[j]).gamma] += 1
        if progress and n % 20_000 == 0:
            progress("u", n, random_pairs)
    u = _count_levels(random_counts.items())
    firsts, n_first = _frequencies(compact_name(p.first) for p in everyone)
    lasts, n_last = _frequencies(compact_name(p.last) for p in everyone)
    dobs, n_dob = _frequencies(p.dob.isoformat() for p in everyone if p.dob)
    u[_FIRST] = _with_exact(u[_FIRST], _exact_u(firsts, n_first))
    u[_LAST] = _with_exact(u[_LAST], _exact_u(lasts, n_last))
    u[_DOB] = _with_exact(u[_DOB], _exact_u(dobs, n_dob))

    # m and the match share: one EM session per blocking rule.
    m0 = [list(start.m[f]) for f in FIELDS]
    sessions: dict[str, tuple[list[list[float]], float, int]] = {}
    for rule, skip in (("D", {_DOB}), ("N", {_FIRST, _LAST})):
        pairs = list(candidate_pairs(left, others, prefixes=(rule,)))
        found = len(pairs)
        if len(pairs) > max_pairs:
            pairs = rng.sample(pairs, max_pairs)
        patterns: Counter[Pattern] = Counter()
        for n, (i, j) in enumerate(pairs):
            patterns[compare_persons(left[i], right[j]).gamma] += 1
            if progress and n % 20_000 == 0:
                progress(f"em {rule}", n, len(pairs))
        active = [f for f in range(len(FIELDS)) if f not in skip]
        m, lam = expectation_maximisation(patterns, m0, u, 0.01, active)
        sessions[rule] = (m, lam, found)

    m_dob, lam_dob, dob_pairs = sessions["D"]
    m_name, _, _ = sessions["N"]
    m = [list(levels) for levels in m_dob]
    m[_DOB] = m_name[_DOB]
    for f in range(len(FIELDS)):
        if f not in (_FIRST, _LAST, _DOB):
            m[f] = [(a + b) / 2 for a, b in zip(m_dob[f], m_name[f], strict=True)]
    total_pairs = len(left) * (len(left) - 1) / 2 if others is None else len(left) * len(right)
    matches = lam_dob * dob_pairs / max(m[_DOB][-1], 1e-3)
    prior = min(max(matches / total_pairs, 1e-12), 0.5)

    tf = {
        "first": _tf_table(firsts, n_first),
        "last": _tf_table(lasts, n_last),
    }
    info = {
        "trained": True,
        "records": len(everyone),
        "random_pairs": sum(random_counts.values()),
        "em_pairs": {rule: s[2] for rule, s in sessions.items()},
        "estimated_matches": round(matches, 1),
    }
    assert set(tf) == set(TF_FIELDS)
    return MatchModel(
        m={f: tuple(m[i]) for i, f in enumerate(FIELDS)},
        u={f: tuple(u[i]) for i, f in enumerate(FIELDS)},
        prior=prior,
        tf=tf,
        info=info,
    )
