"""Field comparators: how strongly do two records agree, field by field?

Each comparator returns a small integer *level* (the gamma value of a Fellegi-Sunter model:
higher means stronger agreement, ``-1`` means "missing on either side, ignore this field") plus a
short reason for the explanation shown to the officer. Levels are :class:`enum.IntEnum` members,
so they are plain ints to the model, and their meanings are documented on each enum. The levels
of one field are ordered and mutually exclusive: a pair gets the highest level whose test passes.

Name and address profiles are memoised, so comparing one arrestee with many candidates folds
and encodes each string once, and so are name-pair results, since common names meet again and
again (in EM training above all). :func:`jaro_winkler`, :func:`damerau_levenshtein` and
:func:`blocking_keys` are re-exported from :mod:`pars.identity.similarity` and
:mod:`pars.identity.blocking` so that callers need one import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from functools import lru_cache
from operator import ne
from typing import Final, NamedTuple

from pars.identity.blocking import blocking_keys as blocking_keys
from pars.identity.metaphone import double_metaphone
from pars.identity.normalize import (
    STREET_SUFFIXES,
    Address,
    fold,
    known_names,
    name_tokens,
    name_variants,
    normalize_phone,
    parse_address,
)
from pars.identity.similarity import damerau_levenshtein as damerau_levenshtein
from pars.identity.similarity import jaro_winkler as jaro_winkler

#: The level of a field that is missing on either side; the model leaves it out of the weight.
MISSING: Final = -1


class FieldComparison(NamedTuple):
    """A comparison level and why it was given, e.g. ``(5, "day and month swapped")``."""

    level: int
    reason: str


DobComparison = FieldComparison

_MISSING: Final = FieldComparison(MISSING, "missing")


class NameLevel(IntEnum):
    """Agreement of a first or a last name."""

    MISSING = -1  #: absent on either side
    DISAGREE = 0  #: none of the below
    JW_80 = 1  #: Jaro-Winkler >= 0.80: a looser misspelling
    JW_92 = 2  #: Jaro-Winkler >= 0.92: typically one typo in a longer name
    PHONETIC = 3  #: a Double Metaphone code in common: spelled differently, sounds alike
    TOKEN = 4  #: a part of a multi-part name in common ("GARCIA MARQUEZ" vs "GARCIA")
    SWAPPED = 5  #: equal (or nicknames) once first and last names are swapped
    NICKNAME = 6  #: first names that are nicknames of one another (BILL ~ WILLIAM)
    EXACT = 7  #: equal after folding accents, case, spaces and punctuation


class NameComparison(NamedTuple):
    """Levels (:class:`NameLevel`) and reasons for the first and the last name."""

    first: int
    last: int
    first_reason: str
    last_reason: str


# eq=False: identity hashing, so the pair cache below looks profiles up in O(1); _name()
# returns one object per distinct string while it is cached.
@dataclass(frozen=True, slots=True, eq=False)
class _Name:
    compact: str
    tokens: tuple[str, ...]
    variants: tuple[frozenset[str], ...]  # nickname readings, one set per token
    codes: tuple[str, ...]  # Double Metaphone codes of the whole name, then of each part
    code_set: frozenset[str]
    single: bool  # one significant part


@lru_cache(maxsize=1 << 16)
def _name(text: str) -> _Name | None:
    folded = fold(text)
    if not folded:
        return None
    tokens = name_tokens(folded)
    whole = folded.replace(" ", "")
    # dict.fromkeys: de-duplicated, primary code of the whole name first (used in reasons).
    codes = tuple(
        dict.fromkeys(c for part in (whole, *tokens) for c in double_metaphone(part) if c)
    )
    variants = tuple(name_variants(t) for t in tokens)
    return _Name(whole, tokens, variants, codes, frozenset(codes), len(tokens) == 1)


# Common names meet again and again (every JOHN against every JON), in EM training especially.
@lru_cache(maxsize=1 << 16)
def _compare_name(a: _Name, b: _Name, nicknames: bool) -> tuple[int, str]:
    if a.compact == b.compact:
        return NameLevel.EXACT, "exact"
    if a.single and b.single:
        ta, tb = a.tokens[0], b.tokens[0]
        if ta == tb:  # equal once particles or suffixes are set aside: "DE LA CRUZ" vs "CRUZ"
            return NameLevel.TOKEN, f"shared name part {ta}"
        if nicknames and not a.variants[0].isdisjoint(b.variants[0]):
            return NameLevel.NICKNAME, f"nickname: {ta}~{tb}"
    else:
        # Parts of compound names ("GARCIA MARQUEZ" vs "GARCIA"); a part may be a nickname.
        for ta, va in zip(a.tokens, a.variants, strict=True):
            for tb, vb in zip(b.tokens, b.variants, strict=True):
                if ta == tb:
                    return NameLevel.TOKEN, f"shared name part {ta}"
                if nicknames and not va.isdisjoint(vb):
                    return NameLevel.TOKEN, f"shared name part {ta}~{tb}"
    if not a.code_set.isdisjoint(b.code_set):
        shared = next(c for c in a.codes if c in b.code_set)
        return NameLevel.PHONETIC, f"phonetic DM code {shared}"
    best = jaro_winkler(a.compact, b.compact)
    if not (a.single and b.single):
        best = max(best, *(jaro_winkler(x, y) for x in a.tokens for y in b.tokens))
    if best >= 0.92:
        return NameLevel.JW_92, f"jaro-winkler {best:.2f}"
    if best >= 0.80:
        return NameLevel.JW_80, f"jaro-winkler {best:.2f}"
    return NameLevel.DISAGREE, f"disagree (jaro-winkler {best:.2f})"


def _outright(a: _Name, b: _Name) -> bool:
    """Equal, or nicknames of one another: a cheap pre-check of the NICKNAME level and above."""
    if a.compact == b.compact:
        return True
    return a.single and b.single and not a.variants[0].isdisjoint(b.variants[0])


def _swapped(level: int, reason: str) -> tuple[int, str]:
    if level >= NameLevel.NICKNAME:
        detail = "" if level == NameLevel.EXACT else f"; {reason}"
        return NameLevel.SWAPPED, f"swapped first/last{detail}"
    return level, f"swapped first/last; {reason}"


def _compare_pair(
    first_a: str | None, last_a: str | None, first_b: str | None, last_b: str | None
) -> NameComparison:
    # A placeholder ("UNKNOWN", "DOE", "FNU") is missing: two unknown names never agree.
    first_a, last_a = known_names(first_a, last_a)
    first_b, last_b = known_names(first_b, last_b)
    fa, la = _name(first_a or ""), _name(last_a or "")
    fb, lb = _name(first_b or ""), _name(last_b or "")
    missing = (MISSING, "missing")
    first = _compare_name(fa, fb, True) if fa and fb else missing
    last = _compare_name(la, lb, False) if la and lb else missing
    # Only call it a swap when at least one name matches outright across the fields (equal or
    # nicknames); otherwise cross-field Jaro-Winkler noise would pass for evidence.
    if (
        fa
        and la
        and fb
        and lb
        and (first[0], last[0]) != (NameLevel.EXACT, NameLevel.EXACT)
        and (_outright(fa, lb) or _outright(la, fb))
    ):
        swap_first = _swapped(*_compare_name(fa, lb, True))
        swap_last = _swapped(*_compare_name(la, fb, True))
        if swap_first[0] + swap_last[0] > first[0] + last[0]:
            first, last = swap_first, swap_last
    return NameComparison(first[0], last[0], first[1], last[1])


def compare_names(
    first_a: str | None,
    last_a: str | None,
    first_b: str | None,
    last_b: str | None,
    aliases_a: Sequence[tuple[str | None, str | None]] = (),
    aliases_b: Sequence[tuple[str | None, str | None]] = (),
) -> NameComparison:
    """Compare two persons' names, each a (first, last) pair plus aliases, as :class:`NameLevel`.

    Every name of one person (the name and each alias) is compared with every name of the other;
    the pair with the most agreement (first + last levels, missing counting as 0) wins, the
    person's own names winning ties, and its levels and reasons are returned. A first or last
    name missing on either side gets :data:`MISSING` (unless an alias pair does better); a
    placeholder (:func:`pars.identity.normalize.known_names`: UNKNOWN, DOE, FNU, ...) is missing.
    """
    if not aliases_a and not aliases_b:
        return _compare_pair(first_a, last_a, first_b, last_b)
    names_a = ((first_a, last_a), *aliases_a)
    names_b = ((first_b, last_b), *aliases_b)
    best: NameComparison | None = None
    best_score = -1
    for ia, (fa, la) in enumerate(names_a):
        for ib, (fb, lb) in enumerate(names_b):
            result = _compare_pair(fa, la, fb, lb)
            score = max(result.first, 0) + max(result.last, 0)
            if score > best_score:
                if ia or ib:
                    result = result._replace(
                        first_reason=f"via alias: {result.first_reason}",
                        last_reason=f"via alias: {result.last_reason}",
                    )
                best, best_score = result, score
                if score == 2 * NameLevel.EXACT:
                    return best
    assert best is not None  # names_a and names_b are never empty
    return best


class DobLevel(IntEnum):
    """Agreement of two dates of birth, compared as YYYYMMDD strings where digits matter."""

    MISSING = -1  #: absent on either side
    DISAGREE = 0  #: none of the below
    #: same year, the day and month unknown on one side or both: a year of birth alone, or the
    #: 01/01 placeholder (see :func:`compare_dob`)
    SAME_YEAR = 1
    YEAR_CLOSE = 2  #: same month and day, years one apart (not a one-digit change)
    SAME_YEAR_MONTH = 3  #: same year and month, another day
    TRANSPOSED = 4  #: two adjacent digits of YYYYMMDD transposed (1990-12-03 vs 1990-12-30)
    ONE_DIGIT = 5  #: exactly one digit of YYYYMMDD differs: a typo
    DAY_MONTH_SWAPPED = 6  #: day and month swapped (1990-04-02 vs 1990-02-04): US/EU order
    EXACT = 7  #: the same date


#: A date of birth (a date), or only its year (an int) when the day and month are not known.
Birth = date | int | None


def _transposed(a: str, b: str) -> bool:
    """For equal-length strings differing in exactly two places: are those adjacent and swapped?"""
    i = next(k for k, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i]


def _digits(d: date) -> str:
    return d.isoformat().replace("-", "")  # YYYYMMDD; isoformat() pads years below 1000


def year_only(dob: Birth) -> int | None:
    """The year of a date of birth whose day and month are not known: a bare year, or a date
    on 1 January (the placeholder booking systems use for "day and month unknown"); else
    ``None``."""
    if isinstance(dob, int):
        return dob
    if dob is not None and dob.month == 1 and dob.day == 1:
        return dob.year
    return None


def compare_dob(a: Birth, b: Birth) -> DobComparison:
    """Compare two dates of birth as a :class:`DobLevel` with a reason; missing gives -1.

    Either may be a year alone (an ``int``). A year alone or a 1 January date (the placeholder
    for an unknown day and month) on either side compares by year only: the same year gives
    :attr:`DobLevel.SAME_YEAR`, never :attr:`DobLevel.EXACT`, even for two identical 01/01
    dates; another year disagrees.
    """
    if a is None or b is None:
        return _MISSING
    ya, yb = year_only(a), year_only(b)
    if ya is not None or yb is not None:
        year_a = a if isinstance(a, int) else a.year
        year_b = b if isinstance(b, int) else b.year
        if year_a == year_b:
            return FieldComparison(DobLevel.SAME_YEAR, "same year; day and month unknown")
        return FieldComparison(DobLevel.DISAGREE, f"years {year_a} vs {year_b}")
    assert isinstance(a, date) and isinstance(b, date)
    if a == b:
        return FieldComparison(DobLevel.EXACT, "exact")
    # Only possible when both day and month are <= 12, since both dates are valid.
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return FieldComparison(DobLevel.DAY_MONTH_SWAPPED, "day and month swapped")
    sa, sb = _digits(a), _digits(b)
    differ = sum(map(ne, sa, sb))
    if differ == 1:
        return FieldComparison(DobLevel.ONE_DIGIT, f"one digit differs: {sa} vs {sb}")
    if differ == 2 and _transposed(sa, sb):
        return FieldComparison(DobLevel.TRANSPOSED, f"adjacent digits transposed: {sa} vs {sb}")
    if a.year == b.year and a.month == b.month:
        return FieldComparison(DobLevel.SAME_YEAR_MONTH, "same year and month")
    if abs(a.year - b.year) == 1 and (a.month, a.day) == (b.month, b.day):
        return FieldComparison(DobLevel.YEAR_CLOSE, "year one apart, same month and day")
    return FieldComparison(DobLevel.DISAGREE, "disagree")


class SexLevel(IntEnum):
    """Agreement of the recorded sex."""

    MISSING = -1  #: absent or unknown ("U") on either side
    DISAGREE = 0  #: different
    AGREE = 1  #: the same


_SEX_CODES: Final = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "X": "X"}


def compare_sex(a: str | None, b: str | None) -> FieldComparison:
    """Compare two recorded sexes (M/MALE, F/FEMALE, X) as a :class:`SexLevel`."""
    sa, sb = _SEX_CODES.get(fold(a)), _SEX_CODES.get(fold(b))
    if sa is None or sb is None:
        return _MISSING
    if sa == sb:
        return FieldComparison(SexLevel.AGREE, "same")
    return FieldComparison(SexLevel.DISAGREE, f"{sa} vs {sb}")


class AddressLevel(IntEnum):
    """Agreement of two home addresses."""

    MISSING = -1  #: no address (nor ZIP) on either side
    DISAGREE = 0  #: none of the below
    SAME_ZIP = 1  #: same 5-digit ZIP code only
    #: same house number, street names alike (Jaro-Winkler >= 0.80, below 0.9): a misspelt
    #: street ("12 banks xtreet" vs "12 banks street")
    SIMILAR_STREET = 2
    SAME_STREET_NAME = 3  #: street names with Jaro-Winkler >= 0.9, another or no house number
    SAME_STREET = 4  #: same house number and street names with Jaro-Winkler >= 0.9
    EXACT = 5  #: same house number, street and unit after USPS normalisation


# Street types and directions: what a street is called is the rest ("N BROAD ST" -> BROAD).
_STREET_NOISE: Final = frozenset(STREET_SUFFIXES | {"N", "S", "E", "W", "NE", "NW", "SE", "SW"})


def street_similarity(a: str, b: str) -> float:
    """Jaro-Winkler similarity of two normalised street names: the better of the whole names
    and the names without their type and directions, spaces removed."""
    whole = jaro_winkler(a.replace(" ", ""), b.replace(" ", ""))
    core_a = "".join(t for t in a.split() if t not in _STREET_NOISE)
    core_b = "".join(t for t in b.split() if t not in _STREET_NOISE)
    if not core_a or not core_b:
        return whole
    return max(whole, jaro_winkler(core_a, core_b))


def _zip_slip(a: str, b: str) -> bool:
    """ZIP codes one digit or two adjacent swapped digits apart: a typing slip, not a move."""
    return len(a) == len(b) and _one_edit(a, b)


def compare_address(
    a: str | Address | None,
    b: str | Address | None,
    zip_a: str | None = None,
    zip_b: str | None = None,
) -> FieldComparison:
    """Compare two home addresses (free text or structured, optionally with separate ZIPs).

    A ZIP in the text ("..., Philadelphia, PA 19107-1234") is used when no ZIP is given (see
    :func:`pars.identity.normalize.parse_address`). Two different ZIP codes rule out the street
    levels, unless they differ by one digit or two adjacent swapped digits (a slip: then the
    same address counts one level lower).
    """
    pa, pb = parse_address(a, zip_a), parse_address(b, zip_b)
    if pa is None or pb is None:
        return _MISSING
    zip_conflict = bool(pa.zip_code and pb.zip_code and pa.zip_code != pb.zip_code)
    zip_slip = zip_conflict and _zip_slip(pa.zip_code, pb.zip_code)
    if not zip_conflict or zip_slip:
        same_house = bool(pa.house) and pa.house == pb.house
        if (pa.house or pa.street) and (pa.house, pa.street, pa.unit) == (
            pb.house,
            pb.street,
            pb.unit,
        ):
            if not zip_slip:
                return FieldComparison(AddressLevel.EXACT, "same address")
            return FieldComparison(AddressLevel.SAME_STREET, "same address, ZIP typo")
        if pa.street and pb.street:
            similarity = street_similarity(pa.street, pb.street)
            if similarity >= 0.9 and same_house and not zip_slip:
                return FieldComparison(
                    AddressLevel.SAME_STREET, f"same house number, street ~{similarity:.2f}"
                )
            if similarity >= 0.9:
                return FieldComparison(
                    AddressLevel.SAME_STREET_NAME, f"same street ~{similarity:.2f}, not the house"
                )
            if similarity >= 0.8 and same_house:
                return FieldComparison(
                    AddressLevel.SIMILAR_STREET,
                    f"same house number, street names alike ~{similarity:.2f}",
                )
    if pa.zip_code and pa.zip_code == pb.zip_code:
        return FieldComparison(AddressLevel.SAME_ZIP, f"same ZIP {pa.zip_code}")
    return FieldComparison(AddressLevel.DISAGREE, "disagree")


class PhoneLevel(IntEnum):
    """Agreement of two phone numbers (after :func:`normalize_phone`)."""

    MISSING = -1  #: absent, or under 10 digits, on either side
    DISAGREE = 0  #: none of the below
    ONE_EDIT = 1  #: one digit wrong, or two adjacent digits transposed
    SAME_LINE = 2  #: same last 7 digits, another area code (Philadelphia's 215/267 overlay)
    EXACT = 3  #: the same number


def _one_edit(a: str, b: str) -> bool:
    """Same length and one substitution or one adjacent transposition apart (typing slips)."""
    if len(a) != len(b):
        return False
    differ = sum(map(ne, a, b))
    return differ == 1 or (differ == 2 and _transposed(a, b))


def compare_phone(a: str | None, b: str | None) -> FieldComparison:
    """Compare two phone numbers as a :class:`PhoneLevel`."""
    pa, pb = normalize_phone(a), normalize_phone(b)
    if pa is None or pb is None:
        return _MISSING
    if pa == pb:
        return FieldComparison(PhoneLevel.EXACT, "same number")
    if pa[-7:] == pb[-7:]:
        return FieldComparison(PhoneLevel.SAME_LINE, f"same line, area code {pa[:-7]} vs {pb[:-7]}")
    if _one_edit(pa, pb):
        return FieldComparison(PhoneLevel.ONE_EDIT, "one digit typo")
    return FieldComparison(PhoneLevel.DISAGREE, "disagree")


@dataclass(frozen=True, slots=True)
class PersonFields:
    """The matching fields of one person: never SSN, place of birth or citizenship."""

    first: str | None = None
    last: str | None = None
    dob: date | None = None
    sex: str | None = None
    #: free text as typed, or the structured address
    address: str | Address | None = None
    zip_code: str | None = None
    phone: str | None = None
    aliases: tuple[tuple[str | None, str | None], ...] = ()
    #: The year of birth when the date is not known (``dob`` is ``None``).
    dob_year: int | None = None

    @property
    def birth(self) -> Birth:
        """The date of birth, else the year of birth alone, else ``None``."""
        return self.dob if self.dob is not None else self.dob_year


class PersonComparison(NamedTuple):
    """Field-by-field comparison of two persons."""

    names: NameComparison
    dob: FieldComparison
    sex: FieldComparison
    address: FieldComparison
    phone: FieldComparison

    @property
    def gamma(self) -> tuple[int, int, int, int, int, int]:
        """The comparison vector (first, last, dob, sex, address, phone) for the model."""
        return (
            self.names.first,
            self.names.last,
            self.dob.level,
            self.sex.level,
            self.address.level,
            self.phone.level,
        )


def compare_persons(a: PersonFields, b: PersonFields) -> PersonComparison:
    """Compare every matching field of two persons."""
    return PersonComparison(
        compare_names(a.first, a.last, b.first, b.last, a.aliases, b.aliases),
        compare_dob(a.birth, b.birth),
        compare_sex(a.sex, b.sex),
        compare_address(a.address, b.address, a.zip_code, b.zip_code),
        compare_phone(a.phone, b.phone),
    )
