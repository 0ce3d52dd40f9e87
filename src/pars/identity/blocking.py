"""Blocking keys: the few index entries per person that bring true matches into the candidate set.

Comparing an arrestee with every person on file is a scan; instead each person record stores a
handful of keys (indexed in the database), the arrestee's keys are computed the same way, and
only records sharing at least one key are compared in full. The keys are chosen so that each kind
of booking error we expect leaves at least one key intact:

======================  ========================================  ==============================
key                     content                                   survives
======================  ========================================  ==============================
``D:YYYYMMDD``          exact date of birth                       any name error: typos,
                                                                  nicknames, swapped or changed
                                                                  names, aliases
``S:YYYYLLHH``          year + {month, day} as an unordered pair  day/month swap *and* a name
                        (only when both are <= 12 and differ)     error at the same time
``L:<dm last>:YYYY``    Double Metaphone of the (first) surname   first-name errors, and DOB
                        + birth year                              typos in month or day
``F:<dm first>:MMDD``   Double Metaphone of the canonical first   surname changes (marriage),
                        name + month and day                      DOB typos in the year
``N:<dm>:<dm>``         the two name codes as an unordered pair,  any DOB error (typo, swap,
                        both names nickname-canonicalised         false DOB) even with swapped
                                                                  first/last or a nickname
``N:...`` per alias     the same for up to 3 aliases              a known alias with a bad DOB
``W:<dm>:<dm>:YYYY``    the ``N`` pair + birth year               swapped first/last names
                                                                  together with a DOB typo in
                                                                  month or day, or a move
``P:<phone>``           the phone number (10 digits or more)      name *and* DOB errors, or
                                                                  placeholder names, when the
                                                                  phone is the same
``A:<zip>:<house>``     ZIP code + house number                   name *and* DOB errors at once,
                                                                  at a known address
``H:<house>:<dm st>``   house number + Double Metaphone of the    the same with a ZIP typo
                        street name's first word
``Z:<zip>:<dm last>``   ZIP code + the surname's code             DOB and first-name errors when
                                                                  the house number is wrong too
``Y:<zip>:<dm first>``  ZIP code + the canonical first name's     the same for surname errors
                        code
======================  ========================================  ==============================

With only a year of birth (``dob_year``) a person gets the ``L`` key with that year and none of
the other date keys. Placeholder names ("UNKNOWN", "DOE", "FNU": see
:func:`pars.identity.normalize.known_names`) and placeholder addresses are missing, so they make
no block.

So a person has at most 7 + 3 + 4 = 14 keys. One corruption (a DOB typo, transposition or
day/month swap; swapped names; a nickname; a misspelling; an alias) always leaves ``D`` or ``N``
shared, and most pairs of corruptions leave one of the others; the address keys catch records
whose names and date of birth are both wrong (on FEBRL 4 they lift the share of true pairs that
share a key from 96% to 99.6%). The batch dedupe scores the pairs that share two keys or more
(:data:`pars.services.identity_batch.MIN_SHARED`); ``W`` and ``P`` were added (issue 15) because
measured on corrupted bookings they give a second shared key to most true pairs that had only
one (swapped names with another error share ``N`` alone; a phone often survives the rest).
Phonetic codes rather than spellings make the name keys
tolerant of misspellings that sound alike. ``N`` keys carry no date, and the address keys a ZIP
code, so they select big blocks for common names (every John Smith); the matcher caps what it
takes from any one block and scores first the records that share the most keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Final

from pars.identity.metaphone import double_metaphone
from pars.identity.normalize import (
    Address,
    canonical_first_name,
    known_names,
    name_tokens,
    normalize_phone,
    parse_address,
)

#: Aliases beyond this many add no keys (they are still compared in full).
MAX_ALIAS_KEYS: Final = 3


@lru_cache(maxsize=1 << 16)
def _code(name: str, canonical: bool) -> str:
    """Primary Double Metaphone code of the first significant part of ``name``."""
    tokens = name_tokens(name)
    if not tokens:
        return ""
    # The first part: for "GARCIA MARQUEZ" the paternal surname, which people keep using alone.
    part = canonical_first_name(tokens[0]) if canonical else tokens[0]
    # A name with no sounded consonant or vowel ("HW") has an empty code: use its letters.
    return double_metaphone(part)[0] or part


def _pair_key(first: str | None, last: str | None) -> str | None:
    # Both names canonicalised and sorted, so that swapping first and last gives the same key.
    codes = sorted(c for c in (_code(first or "", True), _code(last or "", True)) if c)
    # One name alone ("every SMITH") would be far too broad a block.
    return f"N:{codes[0]}:{codes[1]}" if len(codes) == 2 else None


# Directions are not what a street is called: "N BROAD ST" is keyed on BROAD.
_DIRECTIONS: Final = frozenset({"N", "S", "E", "W", "NE", "NW", "SE", "SW"})


def _address_keys(
    address: str | Address | None, zip_code: str | None, first_code: str, last_code: str
) -> list[str]:
    parts = parse_address(address, zip_code)
    if parts is None:
        return []
    keys: list[str] = []
    if parts.zip_code:
        keys.extend(
            f"{kind}:{parts.zip_code}:{code}"
            for kind, code in (("Z", last_code), ("Y", first_code))
            if code
        )
    if not parts.house:
        return keys
    if parts.zip_code:
        keys.append(f"A:{parts.zip_code}:{parts.house}")
    words = [w for w in parts.street.split() if w not in _DIRECTIONS]
    if words:
        code = double_metaphone(words[0])[0] or words[0]
        keys.append(f"H:{parts.house}:{code}")
    return keys


def blocking_keys(
    first: str | None,
    last: str | None,
    dob: date | None,
    aliases: Sequence[tuple[str | None, str | None]] = (),
    address: str | Address | None = None,
    zip_code: str | None = None,
    dob_year: int | None = None,
    phone: str | None = None,
) -> frozenset[str]:
    """The blocking keys of a person (at most 14; see the module documentation for the design).

    Two records can be the same person only if their key sets intersect; the keys are plain
    strings meant for an indexed column. Without a date of birth, ``dob_year`` (the year alone)
    gives the ``L`` key. Missing parts just yield fewer keys; a placeholder
    name or address ("UNKNOWN", "DOE", "HOMELESS") is missing and yields none.
    """
    keys: set[str] = set()
    first, last = known_names(first, last)  # no block on a placeholder ("UNKNOWN", "DOE")
    first_code = _code(first or "", True)
    last_code = _code(last or "", False)
    if dob is not None:
        year = f"{dob.year:04d}"
        keys.add(f"D:{year}{dob.month:02d}{dob.day:02d}")
        if dob.day <= 12 and dob.day != dob.month:
            low, high = sorted((dob.month, dob.day))
            keys.add(f"S:{year}{low:02d}{high:02d}")
        if last_code:
            keys.add(f"L:{last_code}:{year}")
        if first_code:
            keys.add(f"F:{first_code}:{dob.month:02d}{dob.day:02d}")
    elif dob_year is not None and last_code:
        keys.add(f"L:{last_code}:{dob_year:04d}")  # a year of birth alone: surname + year
    for alias_first, alias_last in ((first, last), *aliases[:MAX_ALIAS_KEYS]):
        pair = _pair_key(*known_names(alias_first, alias_last))
        if pair:
            keys.add(pair)
    pair = _pair_key(first, last)
    birth_year = dob.year if dob is not None else dob_year
    if pair and birth_year is not None:
        keys.add(f"W{pair[1:]}:{birth_year:04d}")  # "W:<code>:<code>:YYYY"
    if digits := normalize_phone(phone):
        keys.add(f"P:{digits}")
    keys.update(_address_keys(address, zip_code, first_code, last_code))
    return frozenset(keys)
