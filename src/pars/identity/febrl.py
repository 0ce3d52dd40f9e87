"""The FEBRL benchmark data as PARS persons, and precision / recall / F1 of a linking.

FEBRL (Peter Christen's Freely Extensible Biomedical Record Linkage) data sets are synthetic
person records with corrupted duplicates; FEBRL 4 is two files of 5,000, where ``rec-N-org`` in
the first is the same person as ``rec-N-dup-0`` in the second. The social security number
column is never read: PARS does not match on it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import NamedTuple

from pars.identity.compare import PersonFields

__all__ = ["Quality", "entity", "quality", "read_febrl"]


def _date(text: str) -> date | None:
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def read_febrl(path: Path) -> list[tuple[str, PersonFields]]:
    """(rec_id, person) for each row of a FEBRL CSV file. The address is written as a booking
    officer would ("8 stanley street, miami, winston hills") with the postcode as the ZIP."""
    out: list[tuple[str, PersonFields]] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        for row in reader:
            r = dict(zip(header, (v.strip() for v in row), strict=True))
            street = " ".join(p for p in (r["street_number"], r["address_1"]) if p)
            line = ", ".join(p for p in (street, r["address_2"], r["suburb"]) if p)
            person = PersonFields(
                first=r["given_name"] or None,
                last=r["surname"] or None,
                dob=_date(r["date_of_birth"]),
                address=line or None,
                zip_code=r["postcode"] or None,
            )
            out.append((r["rec_id"], person))
    return out


def entity(rec_id: str) -> str:
    """The person a FEBRL record stands for: ``rec-12-dup-0`` -> ``rec-12``."""
    return "-".join(rec_id.split("-")[:2])


class Quality(NamedTuple):
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def quality(links: Iterable[tuple[str, str]], true_links: int) -> Quality:
    """Precision, recall and F1 of ``links`` (pairs of rec_ids) given how many true links
    there are; a link is true when both records stand for the same person."""
    found = set(links)
    tp = sum(1 for a, b in found if entity(a) == entity(b))
    return Quality(tp, len(found) - tp, true_links - tp)
