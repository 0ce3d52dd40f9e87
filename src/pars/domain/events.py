"""Domain events. Types follow DESIGN.md (`pars.<subject>.<past tense>`); data never holds
personal fields, only the facts a consumer needs to fetch or project the record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["EVENT_TYPES", "DomainEvent"]

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "pars.arrest.created",
        "pars.arrest.submitted",
        "pars.arrest.identified",
        "pars.charging.review_opened",
        "pars.charging.decided",
        "pars.complaint.filed",
        "pars.pretrial.recommended",
        "pars.arrest.released_for_summons",
        "pars.arraignment.scheduled",
        "pars.arraignment.completed",
        "pars.custody.changed",
        "pars.record.corrected",
        "pars.record.sealed",
        "pars.record.expunged",
    }
)


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened to one arrest, at one version of it."""

    type: str
    subject: str
    version: int
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
