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
======================  ========================================  ==============================

So a person has at most 5 + 3 = 8 keys. One corruption (a DOB typo, transposition or day/month
swap; swapped names; a nickname; a misspelling; an alias) always leaves ``D`` or ``N`` shared,
and most pairs of corruptions leave one of the others. Phonetic codes rather than spellings make
the name keys tolerant of misspellings that sound alike. ``N`` keys carry no date and so select
big blocks for common names (every John Smith); the matcher may cap the candidates it takes from
a big block, or sort them by the other keys they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Final

from pars.identity.metaphone import double_metaphone
from pars.identity.normalize import canonical_first_name, name_tokens

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


def blocking_keys(
    first: str | None,
    last: str | None,
    dob: date | None,
    aliases: Sequence[tuple[str | None, str | None]] = (),
) -> frozenset[str]:
    """The blocking keys of a person (at most 8; see the module documentation for the design).

    Two records can be the same person only if their key sets intersect; the keys are plain
    strings meant for an indexed column. Missing parts just yield fewer keys.
    """
    keys: set[str] = set()
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
    for alias_first, alias_last in ((first, last), *aliases[:MAX_ALIAS_KEYS]):
        pair = _pair_key(alias_first, alias_last)
        if pair:
            keys.add(pair)
    return frozenset(keys)
