"""Offense grades (Pennsylvania by default) with their ranking and maximum penalties."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["GRADE_PENALTIES", "Grade", "Penalty", "most_serious"]


class Grade(StrEnum):
    """Grade of an offense. H1-H3 are murder of the first, second and third degree."""

    H1 = "H1"
    H2 = "H2"
    H3 = "H3"
    F1 = "F1"
    F2 = "F2"
    F3 = "F3"
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    S = "S"

    @property
    def severity(self) -> int:
        """Higher is more serious; murder outranks every felony."""
        return _SEVERITY[self]

    @property
    def is_felony(self) -> bool:
        return self.value[0] in "HF"

    @property
    def is_misdemeanor(self) -> bool:
        return self.value[0] == "M"


_SEVERITY = {g: rank for rank, g in enumerate(reversed(list(Grade)), start=1)}


@dataclass(frozen=True)
class Penalty:
    """Statutory maximum for a grade; `max_prison_days` None means life."""

    max_prison_days: int | None
    max_fine_dollars: int | None


GRADE_PENALTIES: dict[Grade, Penalty] = {
    Grade.H1: Penalty(None, None),
    Grade.H2: Penalty(None, None),
    Grade.H3: Penalty(40 * 365, 50_000),
    Grade.F1: Penalty(20 * 365, 25_000),
    Grade.F2: Penalty(10 * 365, 25_000),
    Grade.F3: Penalty(7 * 365, 15_000),
    Grade.M1: Penalty(5 * 365, 10_000),
    Grade.M2: Penalty(2 * 365, 5_000),
    Grade.M3: Penalty(365, 2_500),
    Grade.S: Penalty(90, 300),
}


def most_serious(grades: list[Grade]) -> Grade | None:
    """The most serious grade of a list, or None for an empty list."""
    return max(grades, key=lambda g: g.severity, default=None)
