"""Every field of a fully populated arrest, at every stage, has a class in the sharing catalogue:
a new field without one fails here before it can leak by omission."""

from __future__ import annotations

from typing import Any

from pars.services.views import full_record
from pars.sharing.fields import unclassified
from tests.conftest import Api
from tests.factories import arraignment_body, arrest_body
from tests.web.helpers import arrest_in

# Every field of the interview filled in (the free texts too).
PRETRIAL: dict[str, Any] = {
    "address": {"verified": True, "method": "phone", "detail": "d"},
    "recommendation": "ror",
    "reasons": ["address_verified", "other"],
    "note": "n",
}


def _full(api: Api, arrest_id: str) -> dict[str, Any]:
    with api.pars.uow() as uow:
        return full_record(uow.arrests.get(arrest_id, lock=False))


def _everything() -> dict[str, Any]:
    body = arrest_body()
    body["person"].update({
        "suffix": "JR", "height_inches": 70, "weight_pounds": 180, "eye_color": "BRO",
        "hair_color": "BLK", "scars_marks_tattoos": ["tattoo"], "local_person_id": "L1",
        "state_id": "S1", "fbi_number": "F1",
    })  # fmt: skip
    body["incident_number"] = "I-1"
    body["arresting_officer"]["payroll"] = "P1"
    return body


def test_every_field_of_every_stage_is_classified(api: Api) -> None:
    first = api.as_("officer").post("/api/v1/arrests?submit=true", json=_everything()).json()
    body = _everything()
    body["co_defendants"] = [first["id"]]
    aid = api.as_("officer").post("/api/v1/arrests?submit=true", json=body).json()["id"]
    steps: list[tuple[str, str, Any]] = [
        (
            "supervisor",
            "identification",
            {"state_id": "S1", "fbi_number": "F1", "local_person_id": "L1"},
        ),
        ("pretrial", "pretrial", PRETRIAL),
        ("prosecutor", "charging-review", None),
        (
            "prosecutor",
            "charging-decision",
            {
                "charges": [
                    {"charge_id": 1, "action": "approve", "reason": "r"},
                    {
                        "charge_id": 2,
                        "action": "amend",
                        "statute": "18 3921 A",
                        "grade": "M2",
                        "modifier": "attempt",
                    },
                ],
                "notes": "n",
            },
        ),
        ("clerk", "arraignment-session", {"session_at": "2026-11-20T11:00:00-05:00"}),
        # A second interview replaces the first, once scheduled: the replaced record too.
        ("pretrial", "pretrial", {**PRETRIAL, "recommendation": "monetary"}),
        ("magistrate", "arraignment", {**arraignment_body(), "notes": "n"}),
        ("clerk", "custody", {"status": "committed", "reason": "bail_not_posted", "note": "n"}),
        ("clerk", "corrections", {"reason": "r", "changes": {"narrative": "x"}}),
    ]
    assert unclassified(_full(api, aid)) == []
    for role, path, payload in steps:
        r = api.as_(role).post(f"/api/v1/arrests/{aid}/{path}", json=payload)
        assert r.status_code == 200, (path, r.text)
        assert unclassified(_full(api, aid)) == [], path

    m2 = arrest_in(api, "charged", charges=[{"statute": "18 2701 A1", "grade": "M2"}])
    api.as_("prosecutor").post(
        f"/api/v1/arrests/{m2['id']}/summons-release",
        json={"reason": "r", "no_threat": True, "likely_to_appear": True},
    )
    assert unclassified(_full(api, m2["id"])) == []
    api.as_("clerk").post(f"/api/v1/arrests/{aid}/seal", json={"order": "o"})
    assert unclassified(_full(api, aid)) == []
    api.as_("clerk").post(f"/api/v1/arrests/{aid}/expunge", json={"order": "o"})
    assert unclassified(_full(api, aid)) == []
