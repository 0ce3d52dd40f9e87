"""Double Metaphone, after Lawrence Philips (C/C++ Users Journal, June 2000).

A rule-for-rule transcription of Philips' reference C++ implementation (``dmetaph.cpp``),
including its Slavo-Germanic, Spanish, Italian, French, Dutch, Greek, Polish and Chinese special
cases and its quirks, so that codes agree with other faithful implementations (and with codes
stored elsewhere). Two conventions are worth knowing:

- the word is padded with spaces, as in the reference, so rules that look for a trailing space
  ("JOSE ", "IER ", "VAN ") fire at the end of the word: ``Jose`` -> ``("HS", "HS")``;
- the secondary code is always returned; it equals the primary code when no rule offered an
  alternative (the reference leaves it empty then), so callers can compare both codes blindly.

Codes are at most 4 characters; ``0`` stands for "th" and ``X`` for "sh"/"ch".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Final

from pars.identity.normalize import fold

_VOWELS: Final = frozenset("AEIOUY")
_MAX_LENGTH: Final = 4
_NOT_CODED = re.compile(r"[^A-Z ÇÑ]")


def _prepare(name: str) -> str:
    """Upper-case letters and single spaces, accents stripped except Ç and Ñ (which have rules)."""
    upper = name.upper()
    # fold() strips accents; split around Ç/Ñ first so those two survive for their own rules.
    pieces = re.split("([ÇÑ])", upper)
    folded = "".join(p if p in ("Ç", "Ñ") else fold(p) for p in pieces)
    return " ".join(_NOT_CODED.sub("", folded).split())


class _Encoder:
    """State of one encoding: the padded word and the two codes being built."""

    __slots__ = ("last", "length", "primary", "s", "secondary", "slavo")

    def __init__(self, word: str) -> None:
        self.s = word + "     "
        self.length = len(word)
        self.last = self.length - 1
        # Slavo-Germanic words keep hard sounds (SlavoGermanic() in the reference; WITZ has a W).
        self.slavo = "W" in word or "K" in word or "CZ" in word
        self.primary = ""
        self.secondary = ""

    def at(self, start: int, *options: str) -> bool:
        """StringAt(): does one of the (equal-length) ``options`` occur at ``start``?"""
        if start < 0:
            return False
        return self.s[start : start + len(options[0])] in options

    def vowel(self, i: int) -> bool:
        """IsVowel(): A, E, I, O, U or Y, and inside the unpadded word."""
        return 0 <= i < self.length and self.s[i] in _VOWELS

    def add(self, main: str, alt: str | None = None) -> None:
        """MetaphAdd(): append to both codes, or ``main``/``alt`` separately (" " = nothing)."""
        self.primary += main
        if alt is None:
            self.secondary += main
        elif alt:
            if alt[0] != " ":
                self.secondary += alt
        elif main and main[0] != " ":
            self.secondary += main

    def encode(self) -> tuple[str, str]:
        i = 0
        if self.at(0, "GN", "KN", "PN", "WR", "PS"):  # silent first letter
            i = 1
        if self.s[0] == "X":  # initial X sounds like Z: Xavier
            self.add("S")
            i = 1
        while len(self.primary) < _MAX_LENGTH or len(self.secondary) < _MAX_LENGTH:
            if i >= self.length:
                break
            rule = _RULES.get(self.s[i])
            i = rule(self, i) if rule is not None else i + 1
        return self.primary[:_MAX_LENGTH], self.secondary[:_MAX_LENGTH]


def _vowel(e: _Encoder, i: int) -> int:
    if i == 0:  # every initial vowel codes as A
        e.add("A")
    return i + 1


# Letters that always give one code; a doubled letter codes once ("-mb" leaves B silent
# through the M rule). Ç and Ñ never double: they code as S and N and move on one letter.
_SIMPLE: Final = {"B": "P", "F": "F", "K": "K", "N": "N", "Q": "K", "V": "F"}


def _simple(e: _Encoder, i: int) -> int:
    letter = e.s[i]
    e.add(_SIMPLE[letter])
    return i + 2 if e.s[i + 1] == letter else i + 1


def _c_cedilla(e: _Encoder, i: int) -> int:
    e.add("S")
    return i + 1


def _n_tilde(e: _Encoder, i: int) -> int:
    e.add("N")
    return i + 1


def _c(e: _Encoder, i: int) -> int:
    s = e.s
    # Various Germanic: "ACH" after a consonant, e.g. "bacher", "macher", but not "-achi-".
    if (
        i > 1
        and not e.vowel(i - 2)
        and e.at(i - 1, "ACH")
        and s[i + 2] != "I"
        and (s[i + 2] != "E" or e.at(i - 2, "BACHER", "MACHER"))
    ):
        e.add("K")
        return i + 2
    if i == 0 and e.at(i, "CAESAR"):
        e.add("S")
        return i + 2
    if e.at(i, "CHIA"):  # Italian "chianti"
        e.add("K")
        return i + 2
    if e.at(i, "CH"):
        return _ch(e, i)
    if e.at(i, "CZ") and not e.at(i - 2, "WICZ"):  # "czerny"
        e.add("S", "X")
        return i + 2
    if e.at(i + 1, "CIA"):  # "focaccia"
        e.add("X")
        return i + 3
    if e.at(i, "CC") and not (i == 1 and s[0] == "M"):  # double C, but not "McClellan"
        if e.at(i + 2, "I", "E", "H") and not e.at(i + 2, "HU"):  # "bellocchio", not "bacchus"
            if (i == 1 and s[i - 1] == "A") or e.at(i - 1, "UCCEE", "UCCES"):  # "accident"
                e.add("KS")
            else:  # "bacci", "bertucci"
                e.add("X")
            return i + 3
        e.add("K")  # Pierce's rule
        return i + 2
    if e.at(i, "CK", "CG", "CQ"):
        e.add("K")
        return i + 2
    if e.at(i, "CI", "CE", "CY"):
        if e.at(i, "CIO", "CIE", "CIA"):  # Italian vs English
            e.add("S", "X")
        else:
            e.add("S")
        return i + 2
    e.add("K")
    if e.at(i + 1, " C", " Q", " G"):  # "Mac Caffrey", "Mac Gregor"
        return i + 3
    if e.at(i + 1, "C", "K", "Q") and not e.at(i + 1, "CE", "CI"):
        return i + 2
    return i + 1


def _ch(e: _Encoder, i: int) -> int:
    if i > 0 and e.at(i, "CHAE"):  # "michael"
        e.add("K", "X")
    elif (
        i == 0
        and (e.at(i + 1, "HARAC", "HARIS") or e.at(i + 1, "HOR", "HYM", "HIA", "HEM"))
        and not e.at(0, "CHORE")
    ):  # Greek roots: "chemistry", "chorus"
        e.add("K")
    elif (
        e.at(0, "VAN ", "VON ")
        or e.at(0, "SCH")
        or e.at(i - 2, "ORCHES", "ARCHIT", "ORCHID")
        or e.at(i + 2, "T", "S")
        or (
            (e.at(i - 1, "A", "O", "U", "E") or i == 0)
            and e.at(i + 2, "L", "R", "N", "M", "B", "H", "F", "V", "W", " ")
        )
    ):  # Germanic or Greek "ch" as "kh": "wachtler", "wechsler", but not "tichner"
        e.add("K")
    elif i > 0:
        if e.at(0, "MC"):  # "McHugh"
            e.add("K")
        else:
            e.add("X", "K")
    else:
        e.add("X")
    return i + 2


def _d(e: _Encoder, i: int) -> int:
    if e.at(i, "DG"):
        if e.at(i + 2, "I", "E", "Y"):  # "edge"
            e.add("J")
            return i + 3
        e.add("TK")  # "edgar"
        return i + 2
    e.add("T")
    return i + 2 if e.at(i, "DT", "DD") else i + 1


def _gh(e: _Encoder, i: int) -> int:
    s = e.s
    if i > 0 and not e.vowel(i - 1):
        e.add("K")
    elif i == 0:  # "ghislane", "ghiradelli"
        e.add("J" if s[i + 2] == "I" else "K")
    elif (
        (i > 1 and e.at(i - 2, "B", "H", "D"))  # Parker's rule: "hugh"
        or (i > 2 and e.at(i - 3, "B", "H", "D"))  # "bough"
        or (i > 3 and e.at(i - 4, "B", "H"))  # "broughton"
    ):
        pass
    elif i > 2 and s[i - 1] == "U" and e.at(i - 3, "C", "G", "L", "R", "T"):
        e.add("F")  # "laugh", "McLaughlin", "cough", "rough", "tough"
    elif s[i - 1] != "I":
        e.add("K")
    return i + 2


def _g(e: _Encoder, i: int) -> int:
    s = e.s
    if s[i + 1] == "H":
        return _gh(e, i)
    if s[i + 1] == "N":
        if i == 1 and e.vowel(0) and not e.slavo:
            e.add("KN", "N")
        elif not e.at(i + 2, "EY") and not e.slavo:  # not "cagney"
            e.add("N", "KN")
        else:
            e.add("KN")
        return i + 2
    if e.at(i + 1, "LI") and not e.slavo:  # "tagliaro"
        e.add("KL", "L")
        return i + 2
    if i == 0 and (
        s[i + 1] == "Y"
        or e.at(i + 1, "ES", "EP", "EB", "EL", "EY", "IB", "IL", "IN", "IE", "EI", "ER")
    ):  # -ges-, -gep-, -gel-, -gie- at the beginning
        e.add("K", "J")
        return i + 2
    if (
        (e.at(i + 1, "ER") or s[i + 1] == "Y")
        and not e.at(0, "DANGER", "RANGER", "MANGER")
        and not e.at(i - 1, "E", "I")
        and not e.at(i - 1, "RGY", "OGY")
    ):  # -ger-, -gy-
        e.add("K", "J")
        return i + 2
    if e.at(i + 1, "E", "I", "Y") or e.at(i - 1, "AGGI", "OGGI"):  # Italian "biaggi"
        if e.at(0, "VAN ", "VON ") or e.at(0, "SCH") or e.at(i + 1, "ET"):  # obviously Germanic
            e.add("K")
        elif e.at(i + 1, "IER "):  # always soft with a French ending
            e.add("J")
        else:
            e.add("J", "K")
        return i + 2
    e.add("K")
    return i + 2 if s[i + 1] == "G" else i + 1


def _h(e: _Encoder, i: int) -> int:
    # Only sounded when first or after a vowel, and before a vowel; also skips "HH".
    if (i == 0 or e.vowel(i - 1)) and e.vowel(i + 1):
        e.add("H")
        return i + 2
    return i + 1


def _j(e: _Encoder, i: int) -> int:
    s = e.s
    if e.at(i, "JOSE") or e.at(0, "SAN "):  # obviously Spanish: "jose", "san jacinto"
        if (i == 0 and s[i + 4] == " ") or e.at(0, "SAN "):
            e.add("H")
        else:
            e.add("J", "H")
        return i + 1
    if i == 0:
        e.add("J", "A")  # Yankelovich / Jankelowicz
    elif e.vowel(i - 1) and not e.slavo and s[i + 1] in "AO":  # Spanish "bajador"
        e.add("J", "H")
    elif i == e.last:
        e.add("J", " ")
    elif not e.at(i + 1, "L", "T", "K", "S", "N", "M", "B", "Z") and not e.at(i - 1, "S", "K", "L"):
        e.add("J")
    return i + 2 if s[i + 1] == "J" else i + 1


def _l(e: _Encoder, i: int) -> int:
    if e.s[i + 1] != "L":
        e.add("L")
        return i + 1
    if (i == e.length - 3 and e.at(i - 1, "ILLO", "ILLA", "ALLE")) or (
        (e.at(e.last - 1, "AS", "OS") or e.at(e.last, "A", "O")) and e.at(i - 1, "ALLE")
    ):  # Spanish "cabrillo", "gallegos": the LL is a Y sound, absent from the secondary code
        e.add("L", " ")
    else:
        e.add("L")
    return i + 2


def _m(e: _Encoder, i: int) -> int:
    e.add("M")
    # "dumb", "thumb": the B is silent; also skips "MM".
    if (e.at(i - 1, "UMB") and (i + 1 == e.last or e.at(i + 2, "ER"))) or e.s[i + 1] == "M":
        return i + 2
    return i + 1


def _p(e: _Encoder, i: int) -> int:
    if e.s[i + 1] == "H":
        e.add("F")
        return i + 2
    e.add("P")
    return i + 2 if e.at(i + 1, "P", "B") else i + 1  # "campbell", "raspberry"


def _r(e: _Encoder, i: int) -> int:
    # French "rogier", but not "hochmeier": the final R is only in the secondary code.
    if i == e.last and not e.slavo and e.at(i - 2, "IE") and not e.at(i - 4, "ME", "MA"):
        e.add("", "R")
    else:
        e.add("R")
    return i + 2 if e.s[i + 1] == "R" else i + 1


def _s(e: _Encoder, i: int) -> int:
    if e.at(i - 1, "ISL", "YSL"):  # "island", "isle", "carlisle"
        return i + 1
    if i == 0 and e.at(i, "SUGAR"):
        e.add("X", "S")
        return i + 1
    if e.at(i, "SH"):
        e.add("S" if e.at(i + 1, "HEIM", "HOEK", "HOLM", "HOLZ") else "X")  # Germanic
        return i + 2
    if e.at(i, "SIO", "SIA") or e.at(i, "SIAN"):  # Italian and Armenian
        if e.slavo:
            e.add("S")
        else:
            e.add("S", "X")
        return i + 3
    # German and anglicisations: "smith" ~ "schmidt", "snider" ~ "schneider"; Slavic -sz-.
    if (i == 0 and e.at(i + 1, "M", "N", "L", "W")) or e.at(i + 1, "Z"):
        e.add("S", "X")
        return i + 2 if e.at(i + 1, "Z") else i + 1
    if e.at(i, "SC"):
        return _sc(e, i)
    if i == e.last and e.at(i - 2, "AI", "OI"):  # French "resnais", "artois"
        e.add("", "S")
    else:
        e.add("S")
    return i + 2 if e.at(i + 1, "S", "Z") else i + 1


def _sc(e: _Encoder, i: int) -> int:
    s = e.s
    if s[i + 2] == "H":  # Schlesinger's rule
        if e.at(i + 3, "OO", "ER", "EN", "UY", "ED", "EM"):  # Dutch "school", "schooner"
            if e.at(i + 3, "ER", "EN"):  # "schermerhorn", "schenker"
                e.add("X", "SK")
            else:
                e.add("SK")
        elif i == 0 and not e.vowel(3) and s[3] != "W":
            e.add("X", "S")
        else:
            e.add("X")
    elif e.at(i + 2, "I", "E", "Y"):
        e.add("S")
    else:
        e.add("SK")
    return i + 3


def _t(e: _Encoder, i: int) -> int:
    if e.at(i, "TION") or e.at(i, "TIA", "TCH"):
        e.add("X")
        return i + 3
    if e.at(i, "TH") or e.at(i, "TTH"):
        # "thomas", "thames" or Germanic: a plain T.
        if e.at(i + 2, "OM", "AM") or e.at(0, "VAN ", "VON ") or e.at(0, "SCH"):
            e.add("T")
        else:
            e.add("0", "T")
        return i + 2
    e.add("T")
    return i + 2 if e.at(i + 1, "T", "D") else i + 1


def _w(e: _Encoder, i: int) -> int:
    if e.at(i, "WR"):
        e.add("R")
        return i + 2
    if i == 0 and (e.vowel(i + 1) or e.at(i, "WH")):
        # "Wasserman" should match "Vasserman"; "Uomo" should match "Womo".
        if e.vowel(i + 1):
            e.add("A", "F")
        else:
            e.add("A")
    # "Arnow" should match "Arnoff"; Polish -ewski/-owski.
    if (
        (i == e.last and e.vowel(i - 1))
        or e.at(i - 1, "EWSKI", "EWSKY", "OWSKI", "OWSKY")
        or e.at(0, "SCH")
    ):
        e.add("", "F")
        return i + 1
    if e.at(i, "WICZ", "WITZ"):  # Polish "filipowicz"
        e.add("TS", "FX")
        return i + 4
    return i + 1


def _x(e: _Encoder, i: int) -> int:
    # French final X is silent: "breaux".
    if not (i == e.last and (e.at(i - 3, "IAU", "EAU") or e.at(i - 2, "AU", "OU"))):
        e.add("KS")
    return i + 2 if e.at(i + 1, "C", "X") else i + 1


def _z(e: _Encoder, i: int) -> int:
    s = e.s
    if s[i + 1] == "H":  # Chinese pinyin "zhao"
        e.add("J")
        return i + 2
    if e.at(i + 1, "ZO", "ZI", "ZA") or (e.slavo and i > 0 and s[i - 1] != "T"):
        e.add("S", "TS")
    else:
        e.add("S")
    return i + 2 if s[i + 1] == "Z" else i + 1


_RULES: Final[dict[str, Callable[[_Encoder, int], int]]] = {
    **dict.fromkeys("AEIOUY", _vowel), **dict.fromkeys(_SIMPLE, _simple),
    "Ç": _c_cedilla, "C": _c, "D": _d, "G": _g, "H": _h, "J": _j, "L": _l, "M": _m,
    "Ñ": _n_tilde, "P": _p, "R": _r, "S": _s, "T": _t, "W": _w, "X": _x, "Z": _z,
}  # fmt: skip


@lru_cache(maxsize=1 << 16)
def double_metaphone(name: str | None) -> tuple[str, str]:
    """The (primary, secondary) Double Metaphone codes of ``name``, each at most 4 characters.

    ``double_metaphone("Smith") == ("SM0", "XMT")``, ``double_metaphone("Schmidt") == ("XMT",
    "SMT")``: two names sound alike when any code of one equals any code of the other. The
    secondary equals the primary when the name has no alternative pronunciation; ``None``, blank
    or letterless input gives ``("", "")``. Accents are stripped first, except Ç and Ñ.
    """
    word = _prepare(name) if name else ""
    if not word:
        return "", ""
    return _Encoder(word).encode()
