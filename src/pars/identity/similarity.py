"""String similarity measures used by the field comparators.

Both functions compare the strings exactly as given (callers fold them first) and are written for
short strings such as names, where a plain Python loop beats anything clever.
"""

from __future__ import annotations

from operator import ne


def jaro(a: str, b: str) -> float:
    """Jaro similarity in [0, 1]: 1 for equal strings, 0 when nothing matches (or one is empty)."""
    if a == b:
        return 1.0
    len_a, len_b = len(a), len(b)
    if not len_a or not len_b:
        return 0.0
    # Characters match when equal and no further apart than half the longer length, minus one.
    window = max(max(len_a, len_b) // 2 - 1, 0)
    taken = [False] * len_b
    matched_a: list[str] = []
    find = b.find
    for i, ch in enumerate(a):
        # The first not yet matched occurrence of ch in b's window; str.find does the scanning.
        end = i + window + 1
        j = find(ch, i - window if i > window else 0, end)
        while j != -1 and taken[j]:
            j = find(ch, j + 1, end)
        if j != -1:
            taken[j] = True
            matched_a.append(ch)
    m = len(matched_a)
    if not m:
        return 0.0
    matched_b = [ch for ch, t in zip(b, taken, strict=True) if t]
    # Transpositions: matched characters out of order, halved with integer division as in
    # Winkler's strcmp95 reference code (and most libraries), so an odd count rounds down.
    transpositions: int = sum(map(ne, matched_a, matched_b)) // 2
    return (m / len_a + m / len_b + (m - transpositions) / m) / 3


def jaro_winkler(
    a: str,
    b: str,
    prefix_scale: float = 0.1,
    max_prefix: int = 4,
    boost_threshold: float = 0.7,
) -> float:
    """Jaro-Winkler similarity in [0, 1] (Winkler 1990, as in his strcmp95 reference code).

    A Jaro similarity above ``boost_threshold`` is raised for a common prefix of up to
    ``max_prefix`` characters: ``jaro + prefix * prefix_scale * (1 - jaro)``. The threshold keeps
    a shared prefix from lifting unrelated strings over the comparators' 0.80 level. Published
    values: MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.840, DIXON/DICKSONX 0.813.
    """
    similarity = jaro(a, b)
    if similarity <= boost_threshold or similarity == 1.0:
        return similarity
    prefix = 0
    for x, y in zip(a[:max_prefix], b[:max_prefix], strict=False):
        if x != y:
            break
        prefix += 1
    return similarity + prefix * prefix_scale * (1.0 - similarity)


def damerau_levenshtein(a: str, b: str) -> int:
    """Edit distance counting insertions, deletions, substitutions and adjacent transpositions.

    This is the optimal string alignment variant: no substring is edited twice, so
    ``damerau_levenshtein("CA", "ABC") == 3`` (the unrestricted distance would be 2). That is the
    variant that models typing errors, one slip per position.
    """
    if a == b:
        return 0
    if not a or not b:
        return len(a) or len(b)
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        previous2, previous = previous, current
    return previous[-1]
