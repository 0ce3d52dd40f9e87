"""Small statistics for the operations dashboard: median, percentile, counts per local day.

Pure: plain numbers and datetimes in, plain numbers out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo

__all__ = ["median", "per_day", "percentile"]


def median(values: Sequence[float]) -> float | None:
    """The middle value of `values`; for an even count, the mean of the two middle values.
    None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], p: float) -> float | None:
    """The `p`th percentile by the nearest-rank method: the smallest value that at least `p`
    per cent of the values do not exceed (always one of the values, never interpolated).
    None for no values. `p` is in (0, 100]."""
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return float(ordered[max(rank, 1) - 1])


def per_day(
    instants: Iterable[datetime], zone: tzinfo, first: date, last: date
) -> list[tuple[date, int]]:
    """How many of `instants` fall on each local day (in `zone`) from `first` to `last`
    inclusive, days with none included as 0; instants outside those days are not counted."""
    counts = Counter(t.astimezone(zone).date() for t in instants)
    days = (last - first).days + 1
    return [(d, counts.get(d, 0)) for d in (first + timedelta(n) for n in range(max(days, 0)))]
