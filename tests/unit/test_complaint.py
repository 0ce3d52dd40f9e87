"""The criminal complaint's content and PDF, from a staff view of a charged arrest (no database)."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pypdf

from pars.reports.complaint import NOT_RECORDED, build_complaint, pdf_text
from pars.reports.complaint_pdf import render_pdf

ZONE = ZoneInfo("America/New_York")
VIEW: dict[str, Any] = {
    "id": "4b0c5f6e-0000-4000-8000-000000000001",
    "otn": "Q123456-7",
    "state": "charged",
    "version": 4,
    "arrested_at": "2026-11-20T09:30:00-05:00",
    "location": {"address": "1500 Market St", "district": "6"},
    "arresting_officer": {"badge": "4512", "name": "P/O Rivera"},
    "units": {"arresting": "6th District", "detaining": "PAB Central"},
    "person": {
        "last_name": "Doe",
        "first_name": "John",
        "middle_name": "Q",
        "date_of_birth": "1990-04-02",
        "address": "12 Elm St, Philadelphia PA 19107",
        "aliases": [{"last_name": "Dough", "first_name": "Johnny"}],
        "ssn": "123-45-6789",
    },
    "charges": [
        {
            "id": 1,
            "statute": "18 § 2701 §§ A1",
            "description": "Simple Assault",
            "grade": "M2",
            "counts": 1,
            "modifier": None,
            "decision": "approve",
            "recommended": None,
        },
        {
            "id": 2,
            "statute": "18 § 3921 §§ A",
            "description": "Theft By Unlawful Taking",
            "grade": "M3",
            "counts": 2,
            "modifier": None,
            "decision": "amend",
            "recommended": {
                "statute": "18 § 3925 §§ A",
                "description": "Receiving Stolen Property",
                "grade": "F3",
                "counts": 2,
                "modifier": None,
            },
        },
        {
            "id": 3,
            "statute": "18 § 5503 §§ A1",
            "description": "Disorderly Conduct Engage In Fighting",
            "grade": "M3",
            "counts": 1,
            "modifier": None,
            "decision": "withdraw",
        },
        {
            "id": 4,
            "statute": "18 § 907 §§ A",
            "description": "Possessing Instruments Of Crime",
            "grade": "M1",
            "counts": 1,
            "modifier": "attempt",
            "decision": "add",
            "origin": "prosecutor",
        },
    ],
    "narrative": "Officer observed the defendant strike the complainant at the bus stop.",
    "charging": {
        "outcome": "charge",
        "decided_by": "ada.kim",
        "decided_at": "2026-11-20T17:00:00+00:00",
        "complaint_filed_at": "2026-11-20T17:00:00+00:00",
    },
}


def _complaint(view: dict[str, Any] = VIEW) -> Any:
    return build_complaint(
        view, jurisdiction="Philadelphia, PA", court="Municipal Court", zone=ZONE
    )


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_complaint_lists_only_the_decided_charges_in_their_decided_form() -> None:
    c = _complaint()
    assert [(o.number, o.citation, o.grade, o.counts, o.decision) for o in c.offenses] == [
        (1, "18 § 2701 §§ A1", "M2", 1, "approved"),
        (2, "18 § 3921 §§ A", "M3", 2, "amended"),
        (3, "18 § 907 §§ A", "M1", 1, "added"),
    ]
    assert c.offenses[2].title == "Criminal attempt - Possessing Instruments Of Crime"
    assert c.caption == "Commonwealth of Pennsylvania v. John Q Doe"
    assert c.defendant.date_of_birth == "04/02/1990"
    assert c.offense_date == "November 20, 2026, 9:30 AM EST"
    assert c.approval.by == "ada.kim"
    assert c.approval.at == "November 20, 2026, 12:00 PM EST"


def test_the_preview_is_json_data_without_protected_fields() -> None:
    preview = _complaint().to_dict()
    text = json.dumps(preview, ensure_ascii=False)
    assert preview["caption"].endswith("v. John Q Doe")
    assert preview["offenses"][1]["citation"] == "18 § 3921 §§ A"
    assert preview["affiant"] == {"name": "P/O Rivera", "badge": "4512", "unit": "6th District"}
    for absent in ("123-45-6789", "Disorderly", "Receiving Stolen", "F3"):
        assert absent not in text, absent


def test_the_pdf_holds_every_element_rule_504_lists() -> None:
    text = _text(render_pdf(_complaint()))
    for expected in (
        "PHILADELPHIA, PA",
        "MUNICIPAL COURT",
        "CRIMINAL COMPLAINT",
        "Commonwealth of Pennsylvania v. John Q Doe",
        "Q123456-7",
        "John Q Doe",
        "Johnny Dough",
        "04/02/1990",
        "12 Elm St, Philadelphia PA 19107",
        "18 § 2701 §§ A1",
        "Simple Assault",
        "18 § 3921 §§ A",
        "Theft By Unlawful Taking",
        "18 § 907 §§ A",
        "Criminal attempt - Possessing Instruments Of Crime",
        "amended",
        "November 20, 2026, 9:30 AM EST",
        "1500 Market St (police district 6)",
        "Officer observed the defendant strike the complainant",
        "P/O Rivera",
        "4512",
        "ada.kim",
        "November 20, 2026, 12:00 PM EST",
    ):
        assert expected in text, expected
    # Withdrawn charges and the police version of an amended one are not on the complaint.
    for absent in ("5503", "Disorderly", "3925", "Receiving Stolen", "F3", "123-45-6789"):
        assert absent not in text, absent


def test_the_pdf_is_the_same_for_the_same_input() -> None:
    at = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)
    assert render_pdf(_complaint(), at) == render_pdf(_complaint(), at)


def test_a_name_outside_latin_1_does_not_break_the_pdf() -> None:
    view = copy.deepcopy(VIEW)
    view["person"].update(
        first_name="Łukasz", middle_name="Đorđe", last_name="Nguyễn 李", address="Zürich"
    )
    c = _complaint(view)
    assert c.defendant.name == "Łukasz Đorđe Nguyễn 李"  # the preview keeps the exact spelling
    text = _text(render_pdf(c))
    assert "Lukasz Dorde Nguyen ?" in text
    assert "Zürich" in text  # Latin-1 is kept as it is
    assert "cannot be printed in this document's font" in text
    assert pdf_text("\u200b\x00 ok") == "?? ok"


def test_missing_values_read_not_recorded() -> None:
    view = {"otn": "Q123456-7", "charges": [], "person": {"last_name": "Doe"}}
    c = _complaint(view)
    assert c.defendant.date_of_birth == NOT_RECORDED
    assert c.facts == NOT_RECORDED
    assert c.offenses == ()
    text = _text(render_pdf(c))
    assert "No charge has been approved." in text
    assert "cannot be printed" not in text
