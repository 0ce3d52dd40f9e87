"""Normalisers: turn what a booking officer typed into a canonical form that compares cleanly.

Every function here is total: ``None`` and empty input give an empty (or ``None``) result instead
of raising, because missing data is normal at booking and the comparators treat it as "missing".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final, NamedTuple

import usaddress  # type: ignore[import-untyped]

from pars.identity.nicknames import NICKNAMES

# Letters that NFKD does not decompose into a base letter plus combining marks.
_SPECIAL_LETTERS: Final = {
    "Ø": "O",
    "Æ": "AE",
    "Œ": "OE",
    "Đ": "D",
    "Ð": "D",
    "Þ": "TH",
    "Ł": "L",
    "Ħ": "H",
    "ẞ": "SS",
}
# Apostrophes join the letters around them ("O'Brien" -> OBRIEN, "D'Angelo" -> DANGELO) because
# officers type these names both with and without the apostrophe, never with a space.
_APOSTROPHES: Final = frozenset("'’‘`´ʼʹ")


@lru_cache(maxsize=1 << 16)
def _fold(text: str) -> str:
    out: list[str] = []
    # upper() first: it expands ß to SS; NFKD then splits accents off their base letters.
    for ch in unicodedata.normalize("NFKD", text.upper()):
        if unicodedata.combining(ch) or ch in _APOSTROPHES:
            continue
        if ch in _SPECIAL_LETTERS:
            out.append(_SPECIAL_LETTERS[ch])
        elif ch.isalnum():
            out.append(ch)
        else:
            out.append(" ")
    return " ".join("".join(out).split())


def fold(text: str | None) -> str:
    """Upper-case ``text``, strip accents and diacritics, keep letters, digits and single spaces.

    Apostrophes are removed (``"O'Brien"`` -> ``"OBRIEN"``); every other punctuation mark becomes
    a space, so ``"García-Márquez"`` -> ``"GARCIA MARQUEZ"``. ``None`` or blank gives ``""``.
    """
    if not text:
        return ""
    return _fold(text)


def compact(text: str | None) -> str:
    """:func:`fold` with the spaces removed: ``"De la Cruz"`` and ``"DELACRUZ"`` compare equal."""
    return fold(text).replace(" ", "")


# Particles of compound surnames: dropped from the tokens so that "de la Cruz" matches "Cruz".
_PARTICLES: Final = frozenset({
    "DE", "DEL", "DELA", "DELLA", "DER", "DEN", "DI", "DA", "DAS", "DO", "DOS", "DU", "LA", "LAS",
    "LE", "LES", "LOS", "VAN", "VON", "TER", "TEN", "Y", "E",
})  # fmt: skip
_SUFFIXES: Final = frozenset({"JR", "SR", "II", "III", "IV"})
# Prefixes written detached ("Mc Donald", "O Brien") that belong to the following token.
_ATTACHED_PREFIXES: Final = frozenset({"MC", "MAC", "O"})


@lru_cache(maxsize=1 << 16)
def _name_tokens(folded: str) -> tuple[str, ...]:
    raw = folded.split()
    joined: list[str] = []
    i = 0
    while i < len(raw):
        token = raw[i]
        if token in _ATTACHED_PREFIXES and i + 1 < len(raw):
            joined.append(token + raw[i + 1])
            i += 2
            continue
        joined.append(token)
        i += 1
    # A suffix or particle that is the whole name is kept: "LE" is a common Vietnamese surname.
    without_suffix = [t for t in joined if t not in _SUFFIXES] or joined
    return tuple(t for t in without_suffix if t not in _PARTICLES) or tuple(without_suffix)


def name_tokens(text: str | None) -> tuple[str, ...]:
    """The significant parts of a (possibly compound) name, folded, in order.

    Hyphenated and multiple surnames are split (``"García-Márquez"`` -> ``("GARCIA", "MARQUEZ")``),
    particles (DE, LA, DEL, VAN, VON, DA, DOS, ...) and generational suffixes (JR, SR, II, III,
    IV) are dropped unless nothing else would remain, and a detached MC/MAC/O prefix is joined to
    the next part (``"Mc Donald"`` -> ``("MCDONALD",)``; ``"O'Brien"`` -> ``("OBRIEN",)``).
    """
    return _name_tokens(fold(text))


def name_variants(name: str | None) -> frozenset[str]:
    """The folded name plus every canonical given name it may be a nickname of.

    ``name_variants("Al") == {"AL", "ALBERT", "ALFRED", "ALAN", "ALEXANDER"}``. Two first names are
    nickname-equivalent when their variant sets intersect (BILL ~ WILL through WILLIAM). The whole
    folded name is looked up, so a multi-part name only has itself as a variant.
    """
    folded = fold(name)
    if not folded:
        return frozenset()
    return frozenset((folded, *NICKNAMES.get(folded, ())))


def canonical_first_name(name: str | None) -> str:
    """The canonical given name for the first part of ``name``: ``"Bill"`` -> ``"WILLIAM"``.

    Names that are not nicknames come back folded and unchanged; an ambiguous nickname gives its
    most common reading (``"Al"`` -> ``"ALBERT"``), so the result is deterministic and suitable for
    blocking keys. Use :func:`name_variants` when every reading matters.
    """
    parts = fold(name).split()
    if not parts:
        return ""
    readings = NICKNAMES.get(parts[0])
    return readings[0] if readings else parts[0]


# What booking officers type when a name is not known. "-" and "?" fold to nothing already.
_NAME_PLACEHOLDERS: Final = frozenset({
    "UNKNOWN", "UNK", "UNKN", "DOE", "NONE", "NFN", "NLN", "FNU", "LNU", "NMN", "X", "XX", "XXX",
    "N A", "NOT GIVEN", "REFUSED",
})  # fmt: skip
# Given names that are placeholders only beside a placeholder surname ("JOHN DOE").
_PLACEHOLDER_GIVEN: Final = frozenset({"JOHN", "JANE", "BABY"})


def is_placeholder_name(text: str | None) -> bool:
    """Whether a name field says "not known": empty, punctuation only ("-", "?"), or every
    part one of the usual placeholders (UNKNOWN, UNK, DOE, NONE, NFN, NLN, FNU, LNU, X, ...),
    or JOHN/JANE DOE written in one field."""
    folded = fold(text)
    if not folded or folded in _NAME_PLACEHOLDERS:
        return True
    parts = folded.split()
    if all(p in _NAME_PLACEHOLDERS for p in parts):
        return True
    return len(parts) == 2 and parts[0] in _PLACEHOLDER_GIVEN and parts[1] in _NAME_PLACEHOLDERS


@lru_cache(maxsize=1 << 16)
def known_names(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    """A (first, last) pair with each placeholder replaced by ``None`` (missing).

    JOHN, JANE and BABY count as placeholders only when the surname is one ("JOHN DOE"): beside
    a real surname they are real names. The comparators and the blocking keys read names
    through this, so a placeholder never agrees with anything and never makes a block.
    """
    last_known = not is_placeholder_name(last)
    first_known = not is_placeholder_name(first) and (
        last_known or fold(first) not in _PLACEHOLDER_GIVEN
    )
    return (first if first_known else None), (last if last_known else None)


# What an officer types for an address that is not known; such an address is missing.
_ADDRESS_PLACEHOLDERS: Final = frozenset({
    "UNKNOWN", "UNK", "NONE", "NA", "N A", "HOMELESS", "NO FIXED ADDRESS", "NFA", "REFUSED",
    "NOT GIVEN", "X",
})  # fmt: skip


# USPS Publication 28 standard abbreviations for the words that appear in Philadelphia addresses.
_ADDRESS_WORDS: Final = {
    "STREET": "ST", "STR": "ST", "AVENUE": "AVE", "AV": "AVE", "AVEN": "AVE", "ROAD": "RD",
    "BOULEVARD": "BLVD", "BOUL": "BLVD", "BLV": "BLVD", "DRIVE": "DR", "DRV": "DR", "LANE": "LN",
    "COURT": "CT", "PLACE": "PL", "TERRACE": "TER", "PARKWAY": "PKWY", "PKY": "PKWY",
    "HIGHWAY": "HWY", "CIRCLE": "CIR", "SQUARE": "SQ", "EXPRESSWAY": "EXPY", "ALLEY": "ALY",
    "TRAIL": "TRL", "PLAZA": "PLZ", "CRESCENT": "CRES", "ROUTE": "RTE", "PIKE": "PIKE",
    "TURNPIKE": "TPKE", "WAY": "WAY", "WALK": "WALK", "ROW": "ROW", "MOUNT": "MT", "SAINT": "ST",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE", "NORTHWEST": "NW",
    "SOUTHEAST": "SE", "SOUTHWEST": "SW", "APARTMENT": "APT", "SUITE": "STE", "FLOOR": "FL",
    "ROOM": "RM", "BUILDING": "BLDG", "DEPARTMENT": "DEPT", "SPACE": "SPC", "TRAILER": "TRLR",
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH",
    "SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
    "ELEVENTH": "11TH", "TWELFTH": "12TH",
}  # fmt: skip
#: Street-type abbreviations (after :data:`_ADDRESS_WORDS`): where the street name ends.
STREET_SUFFIXES: Final = frozenset({
    "ST", "AVE", "RD", "BLVD", "DR", "LN", "CT", "PL", "TER", "PKWY", "HWY", "CIR", "SQ", "EXPY",
    "ALY", "TRL", "PLZ", "CRES", "TPKE", "WAY", "WALK", "ROW",
})  # fmt: skip
#: Secondary-unit designators (after :data:`_ADDRESS_WORDS`); "#" is read as APT.
UNIT_DESIGNATORS: Final = frozenset(
    {"APT", "STE", "UNIT", "FL", "RM", "BLDG", "DEPT", "LOT", "SPC", "TRLR"}
)


@lru_cache(maxsize=1 << 16)
def address_tokens(text: str) -> tuple[str, ...]:
    """Normalised address words: see :func:`normalize_address`."""
    out: list[str] = []
    unit_pending = False
    for raw in re.split(r"[\s,;]+", text.replace("#", " # ")):
        if raw == "#":
            # "#3B" means a unit; after an explicit designator ("Apt #3B") the sign is noise.
            if not unit_pending:
                out.append("APT")
            unit_pending = True
            continue
        parts = [_ADDRESS_WORDS.get(p, p) for p in fold(raw).split()]
        if not parts:
            continue
        if unit_pending:
            # Unit values lose their punctuation: "3-B" and "3B" are the same apartment.
            out.append("".join(parts))
            unit_pending = False
            continue
        out.extend(parts)
        unit_pending = parts[-1] in UNIT_DESIGNATORS
    return tuple(out)


def normalize_address(text: str | None) -> str:
    """Fold an address and apply USPS abbreviations so that spellings of one address compare equal.

    STREET -> ST, AVENUE -> AVE, ROAD -> RD, BOULEVARD -> BLVD, NORTH -> N, APARTMENT -> APT,
    SECOND -> 2ND, and so on; punctuation goes, and a unit keeps its designator with the value's
    punctuation removed: ``"123 North Broad Street, Apt. #3-B"`` -> ``"123 N BROAD ST APT 3B"``.
    """
    if not text:
        return ""
    return " ".join(address_tokens(text))


class AddressParts(NamedTuple):
    """An address split into the parts the comparator weighs (each normalised, maybe empty)."""

    house: str  #: house number: "123", "123A"
    street: str  #: street name up to its type: "N BROAD ST"
    unit: str  #: unit designator and value: "APT 3B"
    zip_code: str  #: 5-digit ZIP code (a 4-digit postcode gets its leading zero back)


class Address(NamedTuple):
    """A structured address as typed (the API's ``address`` object); any part may be empty."""

    street: str | None = None  #: house number and street: "123 N Broad St"
    unit: str | None = None  #: "Apt 3B", "#3B" or "3B"
    city: str | None = None
    state: str | None = None
    zip: str | None = None  #: 19107, 19107-1234, or a 4-digit postcode


# A ZIP at the end (5 digits, ZIP+4, or a 4-digit postcode after a word), or at the start of a
# comma-separated part before the city ("..., 19107 Philadelphia").
_ZIP_AT_END: Final = re.compile(r"\b(\d{5}|\d{4})(?:-?\d{4})?\s*$")
_ZIP_BEFORE_CITY: Final = re.compile(r",\s*(\d{5}|\d{4})(?:-\d{4})?\s+(?=[A-Za-z])")
_ORDINAL: Final = re.compile(r"\d+(?:ST|ND|RD|TH)")


def _zip5(text: str) -> str:
    """The 5-digit ZIP of a ZIP field: 19107-1234 -> 19107; 7030 -> 07030 (a ZIP that lost its
    leading zero in a spreadsheet, or a 4-digit postcode, kept apart from other codes)."""
    digits = "".join(ch for ch in text if ch in "0123456789")
    if len(digits) in (4, 8):
        digits = "0" + digits
    return digits[:5] if len(digits) >= 5 else ""


def _street_line(line: tuple[str, ...]) -> tuple[str, str]:
    """(house, street) of the tokens of a street line: the street ends at its type or a unit."""
    has_house = bool(line) and line[0][0].isdigit() and not _ORDINAL.fullmatch(line[0])
    street: list[str] = []
    for i, token in enumerate(line[1:] if has_house else line):
        if token in UNIT_DESIGNATORS:
            break
        street.append(token)
        if token in STREET_SUFFIXES and i > 0:  # a leading ST is SAINT; city and state follow
            break
    return (line[0] if has_house else ""), " ".join(street)


def _unit_of(words: tuple[str, ...]) -> str:
    units = (f"{t} {words[i + 1]}" for i, t in enumerate(words[:-1]) if t in UNIT_DESIGNATORS)
    return next(units, "")


_STREET_LABELS: Final = (
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
)


def _tagged(text: str) -> tuple[str, str, str, str] | None:
    """(house, street, unit, zip) from usaddress's tagging of a US street address, or ``None``
    where it does not fit (no house number or street, an intersection, a PO box, a label
    repeated: then the rules below read the text)."""
    try:
        tags, kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return None
    if kind != "Street Address" or "AddressNumber" not in tags or "StreetName" not in tags:
        return None
    house = "".join(address_tokens(tags["AddressNumber"]))
    if not house[:1].isdigit() or "SubaddressIdentifier" in tags:
        return None  # "2/15 ..." or a number usaddress could not place: the rules do better
    street = " ".join(t for label in _STREET_LABELS for t in address_tokens(tags.get(label, "")))
    unit_text = " ".join(tags.get(k, "") for k in ("OccupancyType", "OccupancyIdentifier"))
    unit = _unit_of(address_tokens(unit_text.strip())) if unit_text.strip() else ""
    if unit_text.strip() and not unit:
        unit = "APT " + "".join(address_tokens(tags.get("OccupancyIdentifier", "")))
    return house, street, unit, _zip5(tags.get("ZipCode", ""))


@lru_cache(maxsize=1 << 16)
def _parse_address(text: str, zip_code: str) -> AddressParts | None:
    zip_code = _zip5(zip_code)
    before = _ZIP_BEFORE_CITY.search(text)
    if before:  # "12 Banks St, 19107 Philadelphia": the ZIP written before the city
        zip_code = zip_code or _zip5(before.group(1))
        text = text[: before.start()] + ", " + text[before.end() :]
    match = _ZIP_AT_END.search(text)
    # A trailing ZIP after the street or city; a lone number is a house number, not a ZIP.
    if match and any(ch.isalpha() for ch in text[: match.start()]):
        zip_code = zip_code or _zip5(match.group(0))
        text = text[: match.start()]
    house, street = _street_line(address_tokens(text.split(",", 1)[0]))
    unit = _unit_of(address_tokens(text))
    # A street type ends the street, and the rules read that exactly (and eight times faster).
    # Without one ("12 Broadway Philadelphia PA") the rules cannot tell where the street ends:
    # usaddress can, where the text reads as a US street address.
    if not any(t in STREET_SUFFIXES for t in street.split()[1:]):
        tagged = _tagged(text) if text.strip() else None
        if tagged is not None:
            house, street, unit, _ = tagged
    if not (house or street or zip_code):
        return None
    return AddressParts(house, street, unit, zip_code)


@lru_cache(maxsize=1 << 16)
def _parse_structured(address: Address, zip_code: str) -> AddressParts | None:
    house, street = _street_line(address_tokens(address.street or ""))
    unit = _unit_of(address_tokens(address.street or ""))
    if address.unit:
        words = address_tokens(address.unit)
        unit = _unit_of(words) or ("APT " + "".join(words) if words else "")
    zip5 = _zip5(address.zip or "") or _zip5(zip_code)
    if not (house or street or zip5):
        return None
    return AddressParts(house, street, unit, zip5)


def parse_address(text: str | Address | None, zip_code: str | None = None) -> AddressParts | None:
    """Split an address into house number, street, unit and ZIP; ``None`` if empty or a
    placeholder ("UNKNOWN", "NONE", "HOMELESS", "NO FIXED ADDRESS", ...) with no ZIP.

    A structured :class:`Address` is read part by part. Free text is read by the rules: the
    street is read from the text before the first comma and ends at its street type (ST, AVE,
    ...) or at a unit designator; when no street type ends it, ``usaddress`` (a CRF parser of
    US addresses) tags the text, where it reads as a street address, to find where the street
    ends and the city begins. The ZIP is ``zip_code`` when given, else one found in the
    text: at its end (19107, 19107-1234, or a 4-digit postcode after a word) or before the
    city ("12 Banks St, 19107 Philadelphia"). A 4-digit code gets a leading zero (07030).
    """
    if isinstance(text, Address):
        return _parse_structured(text, zip_code or "")
    if text and fold(text) in _ADDRESS_PLACEHOLDERS:
        text = None
    return _parse_address(text or "", zip_code or "")


_EXTENSION = re.compile(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+\s*$")


@lru_cache(maxsize=1 << 16)
def normalize_phone(text: str | None) -> str | None:
    """Digits of a phone number, without a trailing extension or the US country code.

    An 11-digit number starting with 1 loses the 1; fewer than 10 digits cannot identify a line
    and give ``None``. Longer (international) numbers are returned as digits unchanged.
    """
    if not text:
        return None
    digits = "".join(ch for ch in _EXTENSION.sub("", text) if ch in "0123456789")
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return digits if len(digits) >= 10 else None
