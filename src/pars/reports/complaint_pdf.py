"""The criminal complaint as a PDF (US Letter), drawn from a `Complaint`
(`pars.reports.complaint`, which says what it holds and how text is fitted to the PDF's
Latin-1 fonts)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from pars.reports.complaint import Complaint, Offense, pdf_text

__all__ = ["render_pdf"]


class _Pdf(FPDF):
    def __init__(self, otn: str) -> None:
        super().__init__(format="Letter")
        self.otn = otn

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.cell(
            0,
            5,
            f"Criminal complaint - OTN {self.otn} - page {self.page_no()} of {{nb}}",
            align="C",
        )


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, pdf_text(title), border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font("Helvetica", "", 10)


def _field(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(42, 5.5, pdf_text(label))
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5.5, pdf_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _offense_table(pdf: FPDF, offenses: Sequence[Offense]) -> None:
    with pdf.table(
        col_widths=(8, 34, 76, 14, 14, 22),
        line_height=5.5,
        text_align=("CENTER", "LEFT", "LEFT", "CENTER", "CENTER", "LEFT"),
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for h in ("#", "Citation", "Offense", "Grade", "Counts", "Decision"):
            header.cell(h)
        for o in offenses:
            row = table.row()
            for value in (o.number, o.citation, o.title, o.grade, o.counts, o.decision):
                row.cell(pdf_text(str(value)))


def render_pdf(complaint: Complaint, created_at: datetime | None = None) -> bytes:
    """The complaint as PDF bytes (US Letter). Deterministic for the same `complaint` and
    `created_at` (the document's creation date; fpdf2's default is the current time)."""
    c = complaint
    pdf = _Pdf(pdf_text(c.otn))
    pdf.set_title(pdf_text(f"Criminal complaint, OTN {c.otn}"))
    pdf.set_creator("PARS")
    pdf.set_producer("PARS (fpdf2)")
    pdf.set_lang("en-US")
    if created_at is not None:
        pdf.set_creation_date(created_at)
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 12)
    for line in (c.jurisdiction, c.court):
        pdf.cell(0, 6, pdf_text(line.upper()), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, "CRIMINAL COMPLAINT", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 6, pdf_text(c.caption), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    _field(pdf, "OTN", c.otn)
    if c.docket_number:
        _field(pdf, "Docket number", c.docket_number)
    _field(pdf, "Complaint filed", c.filed_at)

    _section(pdf, "Defendant")
    _field(pdf, "Name", c.defendant.name)
    if c.defendant.aliases:
        _field(pdf, "Also known as", "; ".join(c.defendant.aliases))
    _field(pdf, "Date of birth", c.defendant.date_of_birth)
    _field(pdf, "Address", c.defendant.address)

    _section(pdf, "Offenses charged")
    if c.offenses:
        _offense_table(pdf, c.offenses)
    else:
        pdf.multi_cell(0, 5.5, "No charge has been approved.")

    _section(pdf, "Date and place of the offense")
    _field(pdf, "Date and time", c.offense_date)
    _field(pdf, "Place", c.offense_place)

    _section(pdf, "Summary of the facts")
    pdf.multi_cell(0, 5.5, pdf_text(c.facts), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    _section(pdf, "Affiant")
    _field(pdf, "Name", c.affiant.name)
    _field(pdf, "Badge", c.affiant.badge)
    _field(pdf, "Unit", c.affiant.unit)

    _section(pdf, "Prosecutor's approval")
    _field(pdf, "Approved by", c.approval.by)
    _field(pdf, "Approved at", c.approval.at)

    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 8)
    note = f"Drawn from PARS record version {c.record_version}."
    shown = json.dumps(c.to_dict(), ensure_ascii=False)
    if pdf_text(shown) != shown:
        note += (
            " Some characters cannot be printed in this document's font and are shown folded"
            " or as '?'; the record holds the exact spelling."
        )
    pdf.multi_cell(0, 4, note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
