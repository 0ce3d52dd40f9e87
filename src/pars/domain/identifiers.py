"""Offense tracking numbers and municipal court docket numbers.

OTN shape, as in ``Q333333-7``: one letter, six digits, a hyphen and a check digit.

The check digit is the Luhn (mod 10) check digit computed over the two-digit alphabet position
of the letter (A=01 … Z=26) followed by the six digits. For ``Q333333`` that is Luhn over
``17333333``. It catches every single-digit error and most adjacent transpositions, which is what
data entry needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DocketNumber",
    "format_otn",
    "luhn_check_digit",
    "otn_from_sequence",
    "parse_docket",
    "valid_otn",
]

_OTN_RE = re.compile(r"^([A-Z])(\d{6})-(\d)$")
_OTN_BLOCK = 1_000_000


def luhn_check_digit(digits: str) -> int:
    """The digit that makes `digits` + it pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # rightmost payload digit is doubled, since the check digit goes after it
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def format_otn(letter: str, number: int) -> str:
    """The OTN for a letter and a number below 1,000,000, with its check digit."""
    if not ("A" <= letter <= "Z" and len(letter) == 1) or not 0 <= number < _OTN_BLOCK:
        raise ValueError("OTN needs a letter A-Z and a number from 0 to 999999")
    digits = f"{number:06d}"
    check = luhn_check_digit(f"{ord(letter) - 64:02d}{digits}")
    return f"{letter}{digits}-{check}"


def otn_from_sequence(first_letter: str, sequence: int) -> str:
    """The OTN for the n-th arrest (n >= 1): each letter holds a million numbers, then the next."""
    letter_index = ord(first_letter) - 65 + (sequence // _OTN_BLOCK)
    if letter_index > 25:
        raise ValueError("OTN space exhausted for this prefix letter")
    return format_otn(chr(65 + letter_index), sequence % _OTN_BLOCK)


def valid_otn(text: str) -> bool:
    """Whether `text` has the OTN shape and a correct check digit."""
    m = _OTN_RE.match(text)
    if not m:
        return False
    letter, digits, check = m.groups()
    return luhn_check_digit(f"{ord(letter) - 64:02d}{digits}") == int(check)


_DOCKET_RE = re.compile(r"^([A-Z]{2})-(\d{2})-([A-Z]{2})-(\d{7})-(\d{4})$")


@dataclass(frozen=True)
class DocketNumber:
    """A court docket number such as ``MC-51-CR-0001234-2026``."""

    court: str
    county: str
    case_type: str
    sequence: int
    year: int

    def __str__(self) -> str:
        return f"{self.court}-{self.county}-{self.case_type}-{self.sequence:07d}-{self.year}"


def parse_docket(text: str) -> DocketNumber:
    """Parse a docket number; ValueError if it does not have the shape."""
    m = _DOCKET_RE.match(text)
    if not m:
        raise ValueError("docket number must look like MC-51-CR-0001234-2026")
    court, county, case_type, seq, year = m.groups()
    return DocketNumber(court, county, case_type, int(seq), int(year))
