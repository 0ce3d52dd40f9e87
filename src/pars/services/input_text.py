"""Text that input fields accept: one visible line of bounded length, or several lines."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

__all__ = ["Line20", "Line60", "Line100", "Line120", "Line200", "Line300", "Line500", "multi_line"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_NO_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")


def _visible_text(v: str) -> str:
    """`v` in Unicode NFC, refused if it holds an invisible format character (category Cf):
    the bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), which
    make a name read differently from what is stored, the zero-width characters (U+200B-U+200D,
    U+2060, U+FEFF, the BOM), which make two names that look the same differ, the soft hyphen
    and the rest. NFC makes one spelling of each accented letter, so that "é" typed as one
    character or as e and a combining accent is the same name."""
    if v.isascii():
        return v  # already NFC, and every format character is beyond ASCII (a constant-time test)
    v = unicodedata.normalize("NFC", v)
    for c in v:
        if unicodedata.category(c) == "Cf":
            raise ValueError(
                f"must not contain invisible or bidirectional control characters "
                f"(U+{ord(c):04X} {unicodedata.name(c, 'format character')})"
            )
    return v


def _single_line(v: str) -> str:
    if _CONTROL_NO_NEWLINE.search(v):
        raise ValueError("must be one line without control characters")
    return _visible_text(v)


def _multi_line(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("must not contain control characters")
    return _visible_text(v)


# Trimmed, non-empty, single-line strings of at most N characters.
Line20 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20, strict=True),
    AfterValidator(_single_line),
]
Line60 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60, strict=True),
    AfterValidator(_single_line),
]
Line100 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, strict=True),
    AfterValidator(_single_line),
]
Line120 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120, strict=True),
    AfterValidator(_single_line),
]
Line200 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, strict=True),
    AfterValidator(_single_line),
]
Line300 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300, strict=True),
    AfterValidator(_single_line),
]
Line500 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, strict=True),
    AfterValidator(_single_line),
]

multi_line = _multi_line
