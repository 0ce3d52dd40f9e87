"""Phonetic codes: names that sound alike get the same code despite different spellings.

- :func:`soundex`: American Soundex (the National Archives rules: H and W do not separate letters
  with the same code, vowels do);
- :func:`nysiis`: the original New York State Identification and Intelligence System code (Taft,
  *Name Search Techniques*, 1970), truncated to six characters unless asked otherwise;
- :func:`double_metaphone`: Lawrence Philips' Double Metaphone (see :mod:`pars.identity.metaphone`).

All of them fold accents first and ignore anything that is not a letter.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from pars.identity.metaphone import double_metaphone
from pars.identity.normalize import fold

__all__ = ["double_metaphone", "nysiis", "soundex"]


def _letters(name: str | None) -> str:
    """Folded A-Z letters only: spaces, digits and non-Latin letters are dropped."""
    return "".join(ch for ch in fold(name) if "A" <= ch <= "Z")


_SOUNDEX_CODES: Final = {
    **dict.fromkeys("BFPV", "1"),
    **dict.fromkeys("CGJKQSXZ", "2"),
    **dict.fromkeys("DT", "3"),
    "L": "4",
    **dict.fromkeys("MN", "5"),
    "R": "6",
}


@lru_cache(maxsize=1 << 14)
def soundex(name: str | None) -> str:
    """American Soundex: first letter plus three digits, zero-padded (``"Robert"`` -> ``"R163"``).

    Adjacent letters with the same digit code count once, also across H and W (``"Ashcraft"`` ->
    ``"A261"``) and when the first letter shares the code (``"Pfister"`` -> ``"P236"``); a vowel
    between them makes them count twice (``"Tymczak"`` -> ``"T522"``). No letters gives ``""``.
    """
    letters = _letters(name)
    if not letters:
        return ""
    code = [letters[0]]
    previous = _SOUNDEX_CODES.get(letters[0], "")
    for ch in letters[1:]:
        if ch in "HW":  # transparent: does not reset `previous`
            continue
        digit = _SOUNDEX_CODES.get(ch, "")  # vowels (and Y) code as "" and do reset it
        if digit and digit != previous:
            code.append(digit)
            if len(code) == 4:
                break
        previous = digit
    return "".join(code).ljust(4, "0")


_VOWELS: Final = frozenset("AEIOU")


@lru_cache(maxsize=1 << 14)
def nysiis(name: str | None, max_length: int | None = 6) -> str:
    """The original NYSIIS code of ``name`` (``"Knuth"`` -> ``"NAT"``, ``"Brown"`` -> ``"BRAN"``).

    Taft's rules are applied to the letters of the whole name (spaces removed); the translated
    letters are written back into the name as the scan goes, as the original specifies, so that
    the H and W rules see the already translated preceding letter. The key is cut to
    ``max_length`` characters (six in the original; ``None`` keeps the full key).
    """
    word = _letters(name)
    if not word:
        return ""
    # Step 1: translate the first characters.
    for prefix, replacement in (("MAC", "MCC"), ("KN", "NN"), ("K", "C"), ("PH", "FF"),
                                ("PF", "FF"), ("SCH", "SSS")):  # fmt: skip
        if word.startswith(prefix):
            word = replacement + word[len(prefix) :]
            break
    # Step 2: translate the last characters.
    if word.endswith(("EE", "IE")):
        word = word[:-2] + "Y"
    elif word.endswith(("DT", "RT", "RD", "NT", "ND")):
        word = word[:-2] + "D"
    # Step 3: the key starts with the first letter; step 4 scans the rest, rewriting in place.
    chars = list(word)
    n = len(chars)
    key = [chars[0]]
    for i in range(1, n):
        ch = chars[i]
        following = chars[i + 1] if i + 1 < n else ""
        if ch in _VOWELS:
            if ch == "E" and following == "V":
                chars[i : i + 2] = ["A", "F"]
            else:
                chars[i] = "A"
        elif ch in "QZM":
            chars[i] = {"Q": "G", "Z": "S", "M": "N"}[ch]
        elif ch == "K":
            chars[i] = "N" if following == "N" else "C"
        elif ch == "S" and chars[i + 1 : i + 3] == ["C", "H"]:
            chars[i : i + 3] = ["S", "S", "S"]
        elif ch == "P" and following == "H":
            chars[i : i + 2] = ["F", "F"]
        elif (ch == "H" and (chars[i - 1] not in _VOWELS or following not in _VOWELS)) or (
            ch == "W" and chars[i - 1] in _VOWELS
        ):
            # H next to a consonant (or at the end) and W after a vowel repeat the (already
            # translated) previous letter, so the duplicate check below drops them.
            chars[i] = chars[i - 1]
        if chars[i] != key[-1]:
            key.append(chars[i])
    # Steps 5-7: drop a final S, turn a final AY into Y, drop a final A (never the first letter).
    if len(key) > 1 and key[-1] == "S":
        key.pop()
    if len(key) > 2 and key[-2:] == ["A", "Y"]:
        key[-2:] = ["Y"]
    if len(key) > 1 and key[-1] == "A":
        key.pop()
    code = "".join(key)
    return code[:max_length] if max_length is not None else code
