"""The criminal complaint through the API: drawn from the decided charges, for readers of the
record only, once the case is charged, every read audited."""

from __future__ import annotations

import io
import uuid

import pypdf

from tests.conftest import Api, rows
from tests.factories import approve_all, arrest_body
from tests.web.helpers import arrest_in

THREE_CHARGES = [
    {"statute": "18 § 2701 §§ A1", "grade": "M2"},
    {"statute": "18 § 3921 §§ A", "counts": 2},
    {"statute": "18 § 5503 §§ A1"},
]


def _charged(api: Api) -> dict[str, object]:
    """An arrest charged with one charge approved, one amended, one withdrawn and one added."""
    arrest = arrest_in(api, "submitted", charges=THREE_CHARGES)
    ids = [c["id"] for c in arrest["charges"]]
    decision = {
        "charges": [
            {"charge_id": ids[0], "action": "approve"},
            {"charge_id": ids[1], "action": "amend", "statute": "18 § 3921 §§ A", "grade": "M2"},
            {"charge_id": ids[2], "action": "withdraw", "reason": "no independent witness"},
            {"action": "add", "statute": "18 § 907 §§ A"},
        ]
    }
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{arrest['id']}/charging-decision", json=decision
    )
    assert r.status_code == 200, r.text
    charged: dict[str, object] = r.json()
    return charged


def _pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_prosecutor_downloads_the_complaint_of_the_decided_charges(api: Api) -> None:
    arrest = _charged(api)
    aid, otn = arrest["id"], arrest["otn"]
    r = api.as_("prosecutor").get(f"/api/v1/arrests/{aid}/complaint.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="complaint-{otn}.pdf"'
    assert r.headers["cache-control"] == "no-store"
    text = _pdf_text(r.content)
    for expected in (
        "CRIMINAL COMPLAINT",
        "PHILADELPHIA, PA",
        "Commonwealth of Pennsylvania v. John Q Doe",
        str(otn),
        "04/02/1990",
        "12 Elm St, Philadelphia PA 19107",
        "18 § 2701 §§ A1",
        "18 § 3921 §§ A",
        "18 § 907 §§ A",
        "amended",
        "added",
        "1500 Market St (police district 6)",
        "November 20, 2026, 9:30 AM EST",
        "Officer observed the defendant strike the complainant.",
        "P/O Rivera",
        "4512",
        "prosecutor1",
    ):
        assert expected in text, expected
    # The withdrawn charge, the police grade of the amended one and protected fields are not on it.
    for absent in ("5503", "Disorderly", "M1 2", "123-45-6789", "Jamaica", "Jane Roe"):
        assert absent not in text, absent

    audit = [a for a in rows(api.pars, "audit_log") if a["action"] == "complaint:downloaded"]
    assert [(a["actor"], a["subject"], a["outcome"]) for a in audit] == [
        ("prosecutor1", aid, "success")
    ]


def test_the_preview_is_the_same_content_as_json(api: Api) -> None:
    arrest = _charged(api)
    r = api.as_("magistrate").get(f"/api/v1/arrests/{arrest['id']}/complaint")
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["otn"] == arrest["otn"]
    assert preview["caption"] == "Commonwealth of Pennsylvania v. John Q Doe"
    assert [(o["citation"], o["grade"], o["decision"]) for o in preview["offenses"]] == [
        ("18 § 2701 §§ A1", "M2", "approved"),
        ("18 § 3921 §§ A", "M2", "amended"),
        ("18 § 907 §§ A", "M1", "added"),
    ]
    assert preview["affiant"]["badge"] == "4512"
    assert preview["approval"]["by"] == "prosecutor1"
    assert "123-45-6789" not in r.text
    audit = [a for a in rows(api.pars, "audit_log") if a["action"] == "complaint:previewed"]
    assert [(a["actor"], a["outcome"]) for a in audit] == [("magistrate1", "success")]


def test_every_reader_of_the_record_may_have_it_and_no_one_else(api: Api) -> None:
    arrest = _charged(api)
    for role in ("prosecutor", "magistrate", "clerk", "defender", "officer", "pretrial"):
        r = api.as_(role).get(f"/api/v1/arrests/{arrest['id']}/complaint.pdf")
        assert r.status_code == 200, (role, r.text)
    for role in ("auditor", "privacy_officer", "admin"):
        for path in ("complaint", "complaint.pdf"):
            r = api.as_(role).get(f"/api/v1/arrests/{arrest['id']}/{path}")
            assert r.status_code == 403, (role, path, r.text)
            assert r.headers["content-type"] == "application/problem+json"
    denied = [a for a in rows(api.pars, "audit_log") if a["action"] == "access:denied"]
    assert {a["actor"] for a in denied} == {"auditor1", "privacy_officer1", "admin1"}


def test_no_complaint_before_the_charging_decision_or_without_a_charge(api: Api) -> None:
    submitted = arrest_in(api, "submitted")
    declined = arrest_in(api, "submitted")
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{declined['id']}/charging-decision",
        json={"outcome": "decline", "reason": "insufficient evidence"},
    )
    assert r.status_code == 200, r.text
    sealed = arrest_in(api, "charged")
    r = api.as_("clerk").post(
        f"/api/v1/arrests/{sealed['id']}/seal", json={"order": "CP-51-MD-7-2026"}
    )
    assert r.status_code == 200, r.text
    for arrest, state in ((submitted, "submitted"), (declined, "declined"), (sealed, "sealed")):
        for path in ("complaint", "complaint.pdf"):
            r = api.as_("prosecutor").get(f"/api/v1/arrests/{arrest['id']}/{path}")
            assert r.status_code == 409, (state, path, r.text)
            problem = r.json()
            assert problem["type"] == "/problems/conflict"
            assert f"'{state}'" in problem["detail"]
            assert "Doe" not in r.text
    refused = [a for a in rows(api.pars, "audit_log") if a["outcome"] == "failure"]
    assert {(a["action"], a["details"]["state"]) for a in refused} >= {
        ("complaint:downloaded", "submitted"),
        ("complaint:previewed", "declined"),
        ("complaint:downloaded", "sealed"),
    }


def test_unknown_arrest_and_someone_elses_draft_are_404(api: Api) -> None:
    r = api.as_("prosecutor").get(f"/api/v1/arrests/{uuid.uuid4()}/complaint.pdf")
    assert r.status_code == 404, r.text
    assert r.json()["type"] == "/problems/not-found"
    draft = api.as_("officer").post("/api/v1/arrests", json=arrest_body()).json()
    r = api.as_("prosecutor").get(f"/api/v1/arrests/{draft['id']}/complaint")
    assert r.status_code == 404, r.text


def test_the_complaint_follows_the_case_to_arraignment(api: Api) -> None:
    arrest = arrest_in(api, "submitted")
    api.as_("prosecutor").post(
        f"/api/v1/arrests/{arrest['id']}/charging-decision", json=approve_all(arrest)
    )
    r = api.as_("clerk").post(
        f"/api/v1/arrests/{arrest['id']}/arraignment-session",
        json={"session_at": "2026-11-20T11:30:00-05:00"},
    )
    assert r.json()["state"] == "arraignment_scheduled", r.text
    r = api.as_("defender").get(f"/api/v1/arrests/{arrest['id']}/complaint")
    assert r.status_code == 200, r.text
    assert len(r.json()["offenses"]) == 2
