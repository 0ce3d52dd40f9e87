"""Test data: request bodies that the API accepts, to be varied per test."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.inputs import AgreementIn, ApprovalIn
from tests.conftest import START

_ARREST: dict[str, Any] = {
    "arrested_at": "2026-11-20T09:30:00-05:00",
    "arrest_type": "on_view",
    "location": {"address": "1500 Market St", "district": "6"},
    "arresting_officer": {"badge": "4512", "name": "P/O Rivera"},
    "units": {"arresting": "6th District", "detaining": "PAB Central"},
    "report_number": "2026-06-012345",
    "person": {
        "last_name": "Doe",
        "first_name": "John",
        "middle_name": "Q",
        "date_of_birth": "1990-04-02",
        "sex": "M",
        "race": "W",
        "ethnicity": "N",
        "aliases": [{"last_name": "Dough", "first_name": "Johnny"}],
        "address": "12 Elm St, Philadelphia PA 19107",
        "phone": "215-555-0100",
        "ssn": "123-45-6789",
        "place_of_birth": "Kingston, Jamaica",
        "citizenship": "JM",
    },
    "charges": [
        {"statute": "18 § 2701 §§ A1", "grade": "M2"},
        {"statute": "18 § 3921 §§ A", "counts": 2},
    ],
    "narrative": "Officer observed the defendant strike the complainant.",
    "victims": [{"name": "Jane Roe", "address": "14 Elm St", "phone": "215-555-0101"}],
    "witnesses": [{"name": "Sam Poe"}],
}


def arrest_body(**overrides: Any) -> dict[str, Any]:
    """A complete, valid arrest; top-level keys replaced by `overrides`."""
    body = copy.deepcopy(_ARREST)
    body.update(overrides)
    return body


ARRAIGNMENT: dict[str, Any] = {
    "session_at": "2026-11-20T11:30:00-05:00",
    "magistrate": "Arraignment Court Magistrate Lee",
    "defense_counsel": "Defender Association",
    "prosecutor": "ADA Kim",
    "probable_cause_found": True,
    "bail": {"type": "monetary", "amount": "5000.00", "deposit_percent": "10"},
    "preliminary_hearing_date": "2026-11-27",
}


def arraignment_body(**overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(ARRAIGNMENT)
    body.update(overrides)
    return body


def approve_all(arrest: dict[str, Any]) -> dict[str, Any]:
    return {"charges": [{"charge_id": c["id"], "action": "approve"} for c in arrest["charges"]]}


PRIVACY_OFFICER = Principal("privacy_officer1", "privacy_officer")
# Two of the three owners of the default policy: its quorum.
OWNERS = [Principal(f"owner_{o}", "privacy_officer", o) for o in ("district_attorney", "courts")]


def active_agreement(pars: Pars, partner: str, **fields: Any) -> str:
    """The id of an agreement for `partner`, drafted, submitted and approved by the quorum.
    `fields` override the defaults (datetimes may be given as such)."""
    doc: dict[str, Any] = {
        "partner": partner,
        "purpose": "criminal history",
        "legal_basis": "18 Pa.C.S. § 9112",
        "event_types": ["pars.arrest.submitted"],
        "granted": ["case", "identity"],
        "starts_at": START - timedelta(days=1),
        "ends_at": START + timedelta(days=30),
        **fields,
    }
    doc = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in doc.items()}
    aid: str = ag.create_agreement(pars, PRIVACY_OFFICER, AgreementIn.model_validate(doc))["id"]
    ag.submit(pars, PRIVACY_OFFICER, aid)
    for owner in OWNERS:
        ag.approve(pars, owner, aid, ApprovalIn())
    return aid
