"""The charge catalogue: statute citations, how people type them, and the offenses they name."""

from __future__ import annotations

import csv
import functools
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import IO

from pars.domain.grades import Grade

__all__ = ["ChargeCatalogue", "Citation", "Offense", "parse_citation"]

_MAX_LENGTH = 100
_COLUMNS = ("title", "section", "subsection", "description", "default_grade")
_NOT_A_CITATION = (
    "not a statute citation: expected title, section and optional subsection,"
    " e.g. '18 § 2701 §§ A1'"
)

_TITLE = re.compile(r"\d{1,2}")
# A hyphenated part needs three or more digits ("780-113") so that the key form "18-4910-1"
# still reads as section 4910, subsection 1: Pennsylvania subsection numbers are one or two digits.
_SECTION = re.compile(r"\d+(?:-\d{3,})?(?:\.\d+)?")
_SUBSECTION = re.compile(r"[A-Z0-9]+(?:\.[A-Z0-9]+)*")
_PAREN_GROUP = r"\(\s*([A-Z0-9]+(?:\.[A-Z0-9]+)*)\s*\)\s*"
_PAREN_GROUPS = re.compile(f"(?:{_PAREN_GROUP})+")
_DESIGNATION = re.compile(r"(?:PA\.?\s*C\.?\s*S\.?(?:\s*A\.?)?|P\.?\s*S\.?)(?=[\s§\d]|$)")
_SUBSECTION_PARTS = re.compile(r"[A-Z]+|\d+|\.")
_MAX_SUBSECTION_LENGTH = 16


@dataclass(frozen=True)
class Citation:
    """A statute citation: title, section and normalized subsection ("" when none)."""

    title: str
    section: str
    subsection: str = ""

    def __post_init__(self) -> None:
        if not _TITLE.fullmatch(self.title) or not _SECTION.fullmatch(self.section):
            raise ValueError(_NOT_A_CITATION)
        if self.subsection and not _is_subsection(self.subsection):
            raise ValueError(f"not a normalized subsection: {self.subsection!r}, e.g. 'A1I'")

    def __str__(self) -> str:
        base = f"{self.title} § {self.section}"
        return f"{base} §§ {self.subsection}" if self.subsection else base

    @property
    def key(self) -> str:
        """Stable lookup key such as "18-2701-A1"; parse_citation reads it back."""
        parts = (self.title, self.section, self.subsection)
        return "-".join(p for p in parts if p)


def _is_subsection(text: str) -> bool:
    return len(text) <= _MAX_SUBSECTION_LENGTH and bool(_SUBSECTION.fullmatch(text))


def _normalize_subsection(text: str) -> str | None:
    """Normalize "(a)(1)(i)", "(A) (1)" or "a1i" to "A1I"; "" if blank; None if invalid."""
    text = text.strip().upper()
    if not text:
        return ""
    if text.startswith("("):
        if not _PAREN_GROUPS.fullmatch(text):
            return None
        text = "".join(re.findall(_PAREN_GROUP, text))
    return text if _is_subsection(text) else None


def parse_citation(text: str) -> Citation:
    """Read a citation typed in any common form; raise ValueError if it is not one.

    Accepted: "18 § 2701 §§ A1", "18 2701 A1", "18 Pa.C.S. § 2701(a)(1)", "18 Pa.C.S.A.
    2701(a)(1)", "35 P.S. § 780-113(a)(30)", the key form "18-2701-A1" / "35-780-113-A30",
    in any case and with any spacing. The rule that keeps these unambiguous: the title is one
    or two digits; the section is digits, optionally joined by a hyphen to three or more
    digits ("780-113") and optionally followed by ".digits" ("2709.1"); whatever follows is
    the subsection, either parenthesized groups ("(a)(1)(i)") or one bare token ("A1I"),
    normalized to upper case without parentheses ("A1I"). Input over 100 characters is refused.
    """
    if len(text) > _MAX_LENGTH:
        raise ValueError(f"a citation is at most {_MAX_LENGTH} characters")
    s = " ".join(text.upper().split())
    title = _TITLE.match(s)
    if title is None or s[title.end() : title.end() + 1].isdigit():
        raise ValueError(_NOT_A_CITATION)
    rest = s[title.end() :]
    key_form = rest.startswith("-")
    if key_form:
        rest = rest[1:]
    else:
        if not rest.startswith((" ", "§")):
            raise ValueError(_NOT_A_CITATION)
        rest = rest.lstrip()
        designation = _DESIGNATION.match(rest)
        if designation is not None:
            rest = rest[designation.end() :].lstrip()
        rest = rest.removeprefix("§").lstrip()
    section = _SECTION.match(rest)
    if section is None or rest[section.end() : section.end() + 1].isdigit():
        raise ValueError(_NOT_A_CITATION)
    rest = rest[section.end() :]
    if key_form and rest:
        if not rest.startswith("-") or " " in rest or rest == "-":
            raise ValueError(_NOT_A_CITATION)
        rest = rest[1:]
    elif rest.lstrip().startswith("§"):
        rest = rest.lstrip().lstrip("§")
        if not rest.strip():
            raise ValueError(_NOT_A_CITATION)
    subsection = _normalize_subsection(rest)
    if subsection is None:
        raise ValueError(_NOT_A_CITATION)
    return Citation(title.group(), section.group(), subsection)


@dataclass(frozen=True)
class Offense:
    """One catalogue entry: the statute, what it is called, and its usual grade."""

    citation: Citation
    description: str
    default_grade: Grade


class ChargeCatalogue:
    """The offenses a jurisdiction charges, looked up by citation or searched by words."""

    def __init__(self, offenses: Iterable[Offense]) -> None:
        """Index the offenses; raise ValueError if two share a citation."""
        self._by_key: dict[str, Offense] = {}
        for offense in offenses:
            key = offense.citation.key
            if key in self._by_key:
                raise ValueError(f"duplicate citation {offense.citation}")
            self._by_key[key] = offense
        self._haystacks = [
            f"{o.description}\n{o.citation}\n{o.citation.key}".lower()
            for o in self._by_key.values()
        ]

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str]) -> ChargeCatalogue:
        """Load a catalogue CSV; raise ValueError naming the file and line of any bad row."""
        with open(path, encoding="utf-8", newline="") as f:
            return cls._read(f, os.fspath(path))

    @classmethod
    def default(cls) -> ChargeCatalogue:
        """The Pennsylvania catalogue shipped with PARS, loaded once per process."""
        return _default_catalogue()

    @classmethod
    def _read(cls, stream: IO[str], source: str) -> ChargeCatalogue:
        reader = csv.DictReader(stream)
        header = reader.fieldnames or []
        missing = [c for c in _COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{source}: line 1: missing column(s): {', '.join(missing)}")
        offenses: list[Offense] = []
        first_line: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            offense = _offense_from_row(row, f"{source}: line {line}")
            key = offense.citation.key
            if key in first_line:
                raise ValueError(
                    f"{source}: line {line}: duplicate citation {offense.citation}"
                    f" (first on line {first_line[key]})"
                )
            first_line[key] = line
            offenses.append(offense)
        return cls(offenses)

    def get(self, citation: Citation | str) -> Offense | None:
        """The offense at exactly this citation; None if absent or if a string won't parse."""
        if isinstance(citation, str):
            try:
                citation = parse_citation(citation)
            except ValueError:
                return None
        return self._by_key.get(citation.key)

    def search(self, words: str, limit: int = 20) -> list[Offense]:
        """Up to `limit` offenses matching a citation (or its prefix) or all the given words.

        A query that reads as a citation returns the exact match first, then that section's
        subsections under it ("18 2701" gives every 2701 subsection). Otherwise every word must
        occur, case-insensitively, in the description, display form or key; offenses where the
        first word occurs earliest come first, then catalogue order.
        """
        if limit <= 0:
            return []
        try:
            cited = self._by_citation(parse_citation(words))
        except ValueError:
            cited = []
        if cited:
            return cited[:limit]
        terms = words.lower().split()
        if not terms:
            return []
        ranked: list[tuple[bool, int, int, Offense]] = []
        for i, (offense, hay) in enumerate(
            zip(self._by_key.values(), self._haystacks, strict=True)
        ):
            if all(t in hay for t in terms):
                # A word found only in the citation ranks after every description match.
                pos = offense.description.lower().find(terms[0])
                ranked.append((pos < 0, pos, i, offense))
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked[:limit]]

    def _by_citation(self, citation: Citation) -> list[Offense]:
        exact = self._by_key.get(citation.key)
        wanted = _SUBSECTION_PARTS.findall(citation.subsection)
        under = [
            o
            for o in self._by_key.values()
            if o is not exact
            and (o.citation.title, o.citation.section) == (citation.title, citation.section)
            and _SUBSECTION_PARTS.findall(o.citation.subsection)[: len(wanted)] == wanted
        ]
        return ([exact] if exact else []) + under

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Offense]:
        return iter(self._by_key.values())

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Citation | str):
            return self.get(item) is not None
        return False


def _offense_from_row(row: dict[str | None, str | None], where: str) -> Offense:
    if None in row or any(row.get(c) is None for c in _COLUMNS):
        raise ValueError(f"{where}: expected the {len(_COLUMNS)} columns {', '.join(_COLUMNS)}")
    values = {c: (row[c] or "").strip() for c in _COLUMNS}
    subsection = _normalize_subsection(values["subsection"])
    if subsection is None:
        raise ValueError(f"{where}: bad subsection {values['subsection']!r}")
    try:
        citation = Citation(values["title"], values["section"], subsection)
    except ValueError:
        cited = f"{values['title']} {values['section']}"
        raise ValueError(
            f"{where}: bad citation {cited!r}: title 1-2 digits, section digits"
        ) from None
    if not values["description"]:
        raise ValueError(f"{where}: empty description")
    try:
        grade = Grade(values["default_grade"].upper())
    except ValueError:
        allowed = " ".join(g.value for g in Grade)
        raise ValueError(
            f"{where}: unknown grade {values['default_grade']!r}; expected one of {allowed}"
        ) from None
    return Offense(citation, values["description"], grade)


@functools.cache
def _default_catalogue() -> ChargeCatalogue:
    data = resources.files("pars.data.charges").joinpath("pa.csv").read_bytes()
    return ChargeCatalogue._read(
        io.StringIO(data.decode("utf-8"), newline=""), "pars/data/charges/pa.csv"
    )
