"""The criminal complaint (Pa.R.Crim.P. 504), built from the prosecutor's decided charges.

`build_complaint` turns the staff view of a charged arrest (what `services.views.render` returns)
into a `Complaint`: the document's whole content as plain data, text ready to show. A screen shows
`Complaint.to_dict()` as the preview; `pars.reports.complaint_pdf.render_pdf` draws the same
`Complaint` as a PDF (a module of its own: fpdf2 and its font tools take seconds to import, so
only the first PDF pays for them). One source
of content, two renderings.

The PDF uses fpdf2's core fonts (Helvetica), which hold Latin-1 only; fpdf2 ships no Unicode font.
`pdf_text` keeps every Latin-1 character, folds other Latin letters to their base letter (Nguyễn
becomes Nguyen) and replaces what it cannot fold with '?', so no name can make rendering fail; the
PDF then says that the record holds the exact spelling.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, tzinfo
from typing import Any

__all__ = [
    "Affiant",
    "Approval",
    "Complaint",
    "Defendant",
    "Offense",
    "build_complaint",
    "pdf_text",
]

NOT_RECORDED = "not recorded"
# The charging decisions that put a charge on the complaint, and how the complaint names them.
_DECIDED = {"approve": "approved", "amend": "amended", "add": "added"}
_MODIFIER = {
    "attempt": "Criminal attempt",
    "conspiracy": "Criminal conspiracy",
    "solicitation": "Criminal solicitation",
}
# Letters that Unicode does not decompose into a base letter plus marks.
_FOLD = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ı": "i",
        "Œ": "OE",
        "œ": "oe",
        "ſ": "s",
        "‘": "'",
        "’": "'",
        "‚": ",",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "•": "-",
    }
)


@dataclass(frozen=True)
class Defendant:
    name: str
    aliases: tuple[str, ...]
    date_of_birth: str
    address: str


@dataclass(frozen=True)
class Offense:
    """One charge as the prosecutor decided it. `title` includes the inchoate modifier, if any;
    `decision` is 'approved', 'amended' or 'added'."""

    number: int
    citation: str
    title: str
    grade: str
    counts: int
    decision: str


@dataclass(frozen=True)
class Affiant:
    name: str
    badge: str
    unit: str


@dataclass(frozen=True)
class Approval:
    by: str
    at: str


@dataclass(frozen=True)
class Complaint:
    """Everything the complaint shows, in the order it shows it. Times are in the courts' zone."""

    jurisdiction: str
    court: str
    plaintiff: str
    otn: str
    docket_number: str | None
    record_version: int
    filed_at: str
    defendant: Defendant
    offenses: tuple[Offense, ...]
    offense_date: str
    offense_place: str
    facts: str
    affiant: Affiant
    approval: Approval

    @property
    def caption(self) -> str:
        return f"{self.plaintiff} v. {self.defendant.name}"

    def to_dict(self) -> dict[str, Any]:
        """The preview as JSON-ready data: every field, plus `caption`."""
        return {"caption": self.caption, **asdict(self)}


def _text(value: Any) -> str:
    return str(value).strip() if value not in (None, "") else NOT_RECORDED


def _when(iso: str | None, zone: tzinfo) -> str:
    """'November 20, 2026, 9:30 AM EST' in `zone`; NOT_RECORDED when absent."""
    if not iso:
        return NOT_RECORDED
    t = datetime.fromisoformat(iso).astimezone(zone)
    hour = t.hour % 12 or 12
    return f"{t:%B} {t.day}, {t.year}, {hour}:{t:%M} {t:%p} {t.tzname() or ''}".rstrip()


def _day(iso: str | None) -> str:
    """MM/DD/YYYY, as US court forms print a date of birth; NOT_RECORDED when absent."""
    if not iso:
        return NOT_RECORDED
    return f"{date.fromisoformat(iso):%m/%d/%Y}"


def _full_name(p: Mapping[str, Any]) -> str:
    parts = (p.get("first_name"), p.get("middle_name"), p.get("last_name"), p.get("suffix"))
    return " ".join(str(x).strip() for x in parts if x) or NOT_RECORDED


def _offenses(charges: Sequence[Mapping[str, Any]]) -> tuple[Offense, ...]:
    """The charges the prosecutor approved, amended (in their amended form) or added; withdrawn
    and undecided charges are not on the complaint."""
    out: list[Offense] = []
    for c in charges:
        decision = _DECIDED.get(c.get("decision") or "")
        if decision is None:
            continue
        title = _text(c.get("description"))
        if c.get("modifier") in _MODIFIER:
            title = f"{_MODIFIER[c['modifier']]} - {title}"
        out.append(
            Offense(
                number=len(out) + 1,
                citation=_text(c.get("statute")),
                title=title,
                grade=_text(c.get("grade")),
                counts=int(c.get("counts") or 1),
                decision=decision,
            )
        )
    return tuple(out)


def build_complaint(
    view: Mapping[str, Any],
    *,
    jurisdiction: str,
    court: str,
    zone: tzinfo,
    plaintiff: str = "Commonwealth of Pennsylvania",
) -> Complaint:
    """The complaint's content from the staff view of an arrest. Total: a missing value reads
    NOT_RECORDED. Whether the arrest may have a complaint at all (its state) is the caller's
    decision; here only decided charges are listed, so an undecided arrest lists none."""
    person: Mapping[str, Any] = view.get("person") or {}
    location: Mapping[str, Any] = view.get("location") or {}
    officer: Mapping[str, Any] = view.get("arresting_officer") or {}
    units: Mapping[str, Any] = view.get("units") or {}
    charging: Mapping[str, Any] = view.get("charging") or {}
    arraignment: Mapping[str, Any] = view.get("arraignment") or {}
    place = _text(location.get("address"))
    if location.get("district"):
        place = f"{place} (police district {location['district']})"
    return Complaint(
        jurisdiction=jurisdiction,
        court=court,
        plaintiff=plaintiff,
        otn=str(view["otn"]),
        docket_number=arraignment.get("docket_number"),
        record_version=int(view.get("version") or 0),
        filed_at=_when(charging.get("complaint_filed_at"), zone),
        defendant=Defendant(
            name=_full_name(person),
            aliases=tuple(_full_name(a) for a in person.get("aliases") or ()),
            date_of_birth=_day(person.get("date_of_birth")),
            address=_text(person.get("address")),
        ),
        offenses=_offenses(view.get("charges") or ()),
        offense_date=_when(view.get("arrested_at"), zone),
        offense_place=place,
        facts=_text(view.get("narrative")),
        affiant=Affiant(
            name=_text(officer.get("name")),
            badge=_text(officer.get("badge")),
            unit=_text(units.get("arresting")),
        ),
        approval=Approval(
            by=_text(charging.get("decided_by")), at=_when(charging.get("decided_at"), zone)
        ),
    )


def pdf_text(text: str) -> str:
    """`text` in the core fonts' Latin-1: Latin-1 characters kept, other Latin letters folded to
    their base letter, anything else '?'. Never raises."""
    out: list[str] = []
    for ch in text.translate(_FOLD):
        if ch in "\n\t" or (ch.isprintable() and ord(ch) < 256):
            out.append(ch)
            continue
        base = "".join(
            b
            for b in unicodedata.normalize("NFKD", ch)
            if not unicodedata.combining(b) and ord(b) < 256 and b.isprintable()
        )
        out.append(base or "?")
    return "".join(out)
