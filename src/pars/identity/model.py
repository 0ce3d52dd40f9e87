"""The Fellegi-Sunter matching model: m and u probabilities per comparison level, as log-weights.

For each field of a comparison (:data:`FIELDS`), ``m[level]`` is the probability of that level
when the two records are the same person and ``u[level]`` when they are not. A pair's *match
weight* is ``log2(prior odds) + sum(log2(m/u))`` over the fields present (a missing field, level
``-1``, adds nothing), and its match probability is ``2**w / (1 + 2**w)``.

Term-frequency adjustment: two records that agree exactly on a common name ("SMITH") are less
telling than two that agree on a rare one. For an exact agreement on a first or last name the
model replaces ``u`` by the name's frequency among the jurisdiction's records (bounded, see
:data:`TF_MAX_BITS`), as Splink does.

Weights are computed once per model (:meth:`MatchModel.__post_init__`), so scoring a pair is a
few tuple look-ups and additions. A model is plain data and round-trips through JSON
(:meth:`MatchModel.to_json` / :meth:`MatchModel.from_json`); the database keeps every version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final, NamedTuple

from pars.identity.compare import (
    AddressLevel,
    DobLevel,
    NameLevel,
    PersonComparison,
    PhoneLevel,
    SexLevel,
)

__all__ = [
    "DEFAULT_MODEL",
    "FIELDS",
    "LEVELS",
    "FieldWeight",
    "MatchModel",
    "Score",
    "probability",
]

#: The compared fields, in the order of :attr:`PersonComparison.gamma`.
FIELDS: Final = ("first", "last", "dob", "sex", "address", "phone")
#: Each field's level enum (levels 0..n-1; -1 is missing).
LEVELS: Final[dict[str, type[IntEnum]]] = {
    "first": NameLevel,
    "last": NameLevel,
    "dob": DobLevel,
    "sex": SexLevel,
    "address": AddressLevel,
    "phone": PhoneLevel,
}
#: The fields whose exact agreements get a term-frequency adjustment.
TF_FIELDS: Final = ("first", "last")
#: A term-frequency adjustment moves an exact name agreement by at most this many bits.
TF_MAX_BITS: Final = 6.0
# Probabilities are kept inside (EPS, 1 - EPS) so every weight is finite.
_EPS: Final = 1e-6


def _levels(name: str) -> int:
    return sum(1 for level in LEVELS[name] if level >= 0)


def probability(weight: float) -> float:
    """The match probability of a match weight (in bits)."""
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    odds: float = 2.0**weight
    return odds / (1.0 + odds)


def _clip(p: float) -> float:
    return min(max(p, _EPS), 1.0 - _EPS)


class FieldWeight(NamedTuple):
    """One field's part of a score: its level, the level's name, the bits it added, and why."""

    field: str
    level: int
    label: str
    weight: float
    reason: str


class Score(NamedTuple):
    """A scored pair: the total weight, the probability, and each field's contribution."""

    weight: float
    probability: float
    fields: tuple[FieldWeight, ...]


@dataclass(frozen=True)
class MatchModel:
    """m and u probabilities per field and level, the prior, and name frequencies.

    ``m[f][k]`` and ``u[f][k]`` are the probabilities of level ``k`` of field ``f`` among
    matches and non-matches; ``prior`` is the probability that two records drawn at random are
    the same person. ``tf[f]`` maps a compact folded name to its frequency among records.
    """

    m: Mapping[str, Sequence[float]]
    u: Mapping[str, Sequence[float]]
    prior: float
    tf: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    version: int = 0
    info: Mapping[str, Any] = field(default_factory=dict)
    _weights: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)
    _base: float = field(init=False, repr=False, compare=False)
    _tf_exact_u: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        weights = []
        for name in FIELDS:
            m, u = self.m[name], self.u[name]
            if len(m) != _levels(name) or len(u) != _levels(name):
                raise ValueError(f"model field {name!r} needs {_levels(name)} levels")
            weights.append(tuple(math.log2(_clip(a) / _clip(b)) for a, b in zip(m, u, strict=True)))
        object.__setattr__(self, "_weights", tuple(weights))
        prior = _clip(self.prior)
        object.__setattr__(self, "_base", math.log2(prior / (1.0 - prior)))
        exact = tuple(_clip(self.u[f][-1]) for f in TF_FIELDS)
        object.__setattr__(self, "_tf_exact_u", exact)

    # -- scoring -------------------------------------------------------------------------

    @property
    def base(self) -> float:
        """The prior log-odds, in bits: the weight of a pair with every field missing."""
        return self._base

    def weight_of(self, gamma: Sequence[int]) -> float:
        """The match weight of a comparison vector, without term-frequency adjustment."""
        total = self._base
        for table, level in zip(self._weights, gamma, strict=True):
            if level >= 0:
                total += table[level]
        return total

    def tf_adjustment(self, field_name: str, value: str) -> float:
        """Bits added to an exact agreement on ``value`` (a compact folded name)."""
        freq = self.tf.get(field_name, {}).get(value)
        if freq is None:
            return 0.0
        i = TF_FIELDS.index(field_name)
        bits = math.log2(self._tf_exact_u[i] / _clip(freq))
        return max(-TF_MAX_BITS, min(TF_MAX_BITS, bits))

    def score(
        self, comparison: PersonComparison, exact_values: Mapping[str, str] | None = None
    ) -> Score:
        """Score one comparison, field by field. ``exact_values`` gives, for a first or last
        name that agreed exactly, the compact name, for the term-frequency adjustment."""
        gamma = comparison.gamma
        reasons = (
            comparison.names.first_reason,
            comparison.names.last_reason,
            comparison.dob.reason,
            comparison.sex.reason,
            comparison.address.reason,
            comparison.phone.reason,
        )
        parts = []
        total = self._base
        for i, name in enumerate(FIELDS):
            level = gamma[i]
            if level < 0:
                parts.append(FieldWeight(name, level, "MISSING", 0.0, reasons[i]))
                continue
            bits = self._weights[i][level]
            reason = reasons[i]
            if exact_values and name in exact_values and level == len(self._weights[i]) - 1:
                adjust = self.tf_adjustment(name, exact_values[name])
                if adjust:
                    bits += adjust
                    reason = f"{reason} ({'rare' if adjust > 0 else 'common'} name)"
            total += bits
            parts.append(FieldWeight(name, level, LEVELS[name](level).name, bits, reason))
        return Score(total, probability(total), tuple(parts))

    def level_weights(self) -> dict[str, dict[str, float]]:
        """Every level's weight in bits, by field and level name (for documentation)."""
        return {
            name: {LEVELS[name](k).name: round(w, 3) for k, w in enumerate(self._weights[i])}
            for i, name in enumerate(FIELDS)
        }

    # -- persistence ---------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The model as JSON-ready data (the version is stored beside it, not in it)."""
        return {
            "prior": self.prior,
            "m": {f: list(self.m[f]) for f in FIELDS},
            "u": {f: list(self.u[f]) for f in FIELDS},
            "tf": {f: dict(self.tf.get(f, {})) for f in TF_FIELDS},
            "info": dict(self.info),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], version: int = 0) -> MatchModel:
        """A model from :meth:`to_json`'s data. A model stored before the date of birth had its
        SAME_YEAR level (seven levels) gets that level's default m and u inserted, and one stored
        before the address had its SIMILAR_STREET level (five levels) gets that level's."""
        m = {f: [float(x) for x in data["m"][f]] for f in FIELDS}
        u = {f: [float(x) for x in data["u"][f]] for f in FIELDS}
        if len(m["dob"]) == len(u["dob"]) == _levels("dob") - 1:
            m["dob"].insert(DobLevel.SAME_YEAR, _SAME_YEAR_M)
            u["dob"].insert(DobLevel.SAME_YEAR, _SAME_YEAR_U)
            m["dob"], u["dob"] = list(_normalised(m["dob"])), list(_normalised(u["dob"]))
        if len(m["address"]) == len(u["address"]) == _levels("address") - 1:
            m["address"].insert(AddressLevel.SIMILAR_STREET, _SIMILAR_STREET_M)
            u["address"].insert(AddressLevel.SIMILAR_STREET, _SIMILAR_STREET_U)
            m["address"] = list(_normalised(m["address"]))
            u["address"] = list(_normalised(u["address"]))
        return cls(
            m={f: tuple(m[f]) for f in FIELDS},
            u={f: tuple(u[f]) for f in FIELDS},
            prior=float(data["prior"]),
            tf={f: dict(data.get("tf", {}).get(f, {})) for f in TF_FIELDS},
            version=version,
            info=dict(data.get("info", {})),
        )

    def with_version(self, version: int) -> MatchModel:
        return MatchModel(self.m, self.u, self.prior, self.tf, version, self.info)


def _normalised(values: Sequence[float]) -> tuple[float, ...]:
    total = sum(values)
    return tuple(v / total for v in values)


# DobLevel.SAME_YEAR (a year of birth alone, or the 01/01 placeholder, on one side): about 2%
# of pairs have such a side; of those a match shares the year nearly always, two strangers about
# one time in 60 (the spread of ages at booking). Also what a model stored before the level
# existed gets (see MatchModel.from_json).
_SAME_YEAR_M: Final = 0.02
_SAME_YEAR_U: Final = 0.0003
# AddressLevel.SIMILAR_STREET (the same house number, street names alike but below 0.9: a
# misspelt street): about 2% of a person's repeat bookings; two strangers share a house number
# about one time in 1,000 and then have alike street names about one time in 30. Also what a
# model stored before the level existed gets (see MatchModel.from_json).
_SIMILAR_STREET_M: Final = 0.02
_SIMILAR_STREET_U: Final = 0.00003


# The model used before any training: m from the kinds of booking error the comparators are
# built for, u from the chance agreement of a large city's records (one DOB in ~25,000, a
# surname in ~1,000, a first name in ~300). `pars identity train` replaces it with estimates
# from the jurisdiction's own records.
DEFAULT_MODEL: Final = MatchModel(
    m={
        # DISAGREE, JW_80, JW_92, PHONETIC, TOKEN, SWAPPED, NICKNAME, EXACT
        "first": _normalised((0.02, 0.02, 0.03, 0.03, 0.01, 0.01, 0.04, 0.84)),
        "last": _normalised((0.03, 0.02, 0.04, 0.03, 0.02, 0.01, 0.0001, 0.85)),
        # DISAGREE, SAME_YEAR, YEAR_CLOSE, SAME_YEAR_MONTH, TRANSPOSED, ONE_DIGIT,
        # DAY_MONTH_SWAPPED, EXACT
        "dob": _normalised((0.02, _SAME_YEAR_M, 0.005, 0.01, 0.01, 0.03, 0.01, 0.915)),
        "sex": (0.02, 0.98),
        # DISAGREE, SAME_ZIP, SIMILAR_STREET, SAME_STREET_NAME, SAME_STREET, EXACT
        "address": _normalised((0.45, 0.12, _SIMILAR_STREET_M, 0.03, 0.05, 0.35)),
        # DISAGREE, ONE_EDIT, SAME_LINE, EXACT
        "phone": (0.6, 0.02, 0.03, 0.35),
    },
    u={
        "first": _normalised((0.93, 0.05, 0.008, 0.006, 0.0005, 0.0001, 0.0015, 0.004)),
        "last": _normalised((0.975, 0.02, 0.002, 0.002, 0.0002, 0.0001, 0.00001, 0.001)),
        "dob": _normalised(
            (0.9974, _SAME_YEAR_U, 0.0004, 0.002, 0.00004, 0.0001, 0.00001, 0.00004)
        ),
        "sex": (0.5, 0.5),
        "address": _normalised((0.97, 0.03, _SIMILAR_STREET_U, 0.0005, 0.00005, 0.0001)),
        "phone": (0.9999, 0.00001, 0.00001, 0.00001),
    },
    prior=1e-6,
    info={"trained": False},
)
