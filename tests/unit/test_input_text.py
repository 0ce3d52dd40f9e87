"""The text that input fields accept (`pars.services.input_text`): its ASCII shortcut and the
checks beyond it."""

from __future__ import annotations

import unicodedata

import pytest

from pars.services.input_text import _visible_text


def test_ascii_needs_neither_normalising_nor_the_format_character_check() -> None:
    # The shortcut returns ASCII text as given: sound only while no ASCII character is a
    # format character (Cf) or changes under NFC, in the Unicode version Python ships.
    for code in range(128):
        c = chr(code)
        assert unicodedata.category(c) != "Cf", hex(code)
        assert unicodedata.normalize("NFC", c) == c, hex(code)
    text = "O'Brien-Smith, Jr. 12 Elm St #4"
    assert _visible_text(text) is text


@pytest.mark.parametrize("bad", ["SM\u200bITH", "SMITH\u202egnp.exe", "\ufeffSMITH", "Jo\xadhn"])
def test_format_characters_beyond_ascii_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invisible or bidirectional"):
        _visible_text(bad)


def test_text_beyond_ascii_is_normalised() -> None:
    assert _visible_text("Jose\u0301") == "Jos\xe9"  # e and a combining accent: one letter
