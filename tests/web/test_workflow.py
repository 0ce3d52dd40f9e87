"""The whole life of an arrest through the HTTP API, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from pars.domain.clock import FakeClock
from pars.domain.identifiers import valid_otn
from tests.conftest import Api, rows
from tests.factories import approve_all, arraignment_body, arrest_body


def test_report_to_arraignment_and_custody(api: Api, backend: str) -> None:
    r = api.as_("officer").post("/api/v1/arrests", json=arrest_body())
    assert r.status_code == 201, r.text
    arrest = r.json()
    assert arrest["state"] == "draft"
    assert arrest["version"] == 0
    assert valid_otn(arrest["otn"])
    assert r.headers["location"] == f"/api/v1/arrests/{arrest['id']}"
    aid = arrest["id"]

    # A draft is the officer's own: another officer cannot see it, nor can a prosecutor.
    assert api.as_("officer2").get(f"/api/v1/arrests/{aid}").status_code == 404

    r = api.as_("officer").post(f"/api/v1/arrests/{aid}/submit")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["version"]) == ("submitted", 1)

    r = api.as_("supervisor").post(
        f"/api/v1/arrests/{aid}/identification", json={"state_id": "SID12345", "fbi_number": "FBI9"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "identified"
    person_id = r.json()["identification"]["person_id"]

    r = api.as_("prosecutor").post(f"/api/v1/arrests/{aid}/charging-review")
    assert r.json()["state"] == "charging_review"

    current = r.json()
    decision = {
        "charges": [
            {"charge_id": current["charges"][0]["id"], "action": "approve"},
            {
                "charge_id": current["charges"][1]["id"],
                "action": "amend",
                "statute": "18 § 3921 §§ A",
                "grade": "M2",
            },
            {"action": "add", "statute": "18 § 907 §§ A"},
        ]
    }
    r = api.as_("prosecutor").post(f"/api/v1/arrests/{aid}/charging-decision", json=decision)
    assert r.status_code == 200, r.text
    charged = r.json()
    assert charged["state"] == "charged"
    assert [c["decision"] for c in charged["charges"]] == ["approve", "amend", "add"]
    assert charged["charges"][1]["recommended"]["grade"] == "M1"
    assert charged["charges"][1]["grade"] == "M2"
    assert charged["charges"][2]["origin"] == "prosecutor"
    assert charged["charging"]["complaint_filed_at"]

    r = api.as_("clerk").post(
        f"/api/v1/arrests/{aid}/arraignment-session",
        json={"session_at": "2026-11-20T11:30:00-05:00"},
    )
    assert r.json()["state"] == "arraignment_scheduled"

    r = api.as_("magistrate").post(f"/api/v1/arrests/{aid}/arraignment", json=arraignment_body())
    assert r.status_code == 200, r.text
    arraigned = r.json()
    assert arraigned["state"] == "arraigned"
    assert arraigned["arraignment"]["docket_number"].startswith("MC-51-CR-")
    assert arraigned["arraignment"]["docket_number"].endswith("-2026")
    assert arraigned["arraignment"]["bail"]["deposit_due"] == "500.00"
    assert arraigned["arraignment"]["arrest_to_arraignment_minutes"] == 120
    assert arraigned["custody_indicator"] == "hold"

    r = api.as_("clerk").post(
        f"/api/v1/arrests/{aid}/custody", json={"status": "released", "reason": "bail_posted"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["custody"] == "released"
    assert r.json()["custody_indicator"] is None

    # The list finds it by every filter.
    docket = arraigned["arraignment"]["docket_number"]
    for query in (
        f"otn={arrest['otn']}",
        f"docket={docket}",
        "name=doe, jo",
        "district=6",
        "state=arraigned",
        f"person_id={person_id}",
        "arrested_from=2026-11-20T00:00:00Z&arrested_to=2026-11-21T00:00:00Z",
    ):
        r = api.as_("defender").get(f"/api/v1/arrests?{query}")
        assert r.status_code == 200, (query, r.text)
        assert [a["id"] for a in r.json()["items"]] == [aid], query
    assert api.as_("defender").get("/api/v1/arrests?state=declined").json()["items"] == []

    # Every change after submission is a version; the old ones stay readable.
    versions = api.as_("clerk").get(f"/api/v1/arrests/{aid}/versions").json()["items"]
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5, 6, 7]
    assert [v["action"] for v in versions] == [
        "submit",
        "identify",
        "open_charging_review",
        "decide_charges",
        "schedule_arraignment",
        "arraign",
        "change_custody",
    ]
    v1 = api.as_("clerk").get(f"/api/v1/arrests/{aid}/versions/1").json()
    assert v1["state"] == "submitted"
    assert v1["charges"][1]["grade"] == "M1"

    # Every committed step left one outbox event and one audit row.
    events = [e["type"] for e in rows(api.pars, "outbox")]
    assert events == [
        "pars.arrest.submitted",
        "pars.arrest.identified",
        "pars.charging.review_opened",
        "pars.charging.decided",
        "pars.complaint.filed",
        "pars.arraignment.scheduled",
        "pars.arraignment.completed",
        "pars.custody.changed",
    ]
    actions = [a["action"] for a in rows(api.pars, "audit_log") if a["subject"] == aid]
    for expected in (
        "arrest:created",
        "arrest:submitted",
        "arrest:identified",
        "charging:decided",
        "arraignment:completed",
        "custody:changed",
    ):
        assert expected in actions


def test_create_and_submit_in_one_call(api: Api, backend: str) -> None:
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
    assert r.status_code == 201, r.text
    assert (r.json()["state"], r.json()["version"]) == ("submitted", 1)
    assert [e["type"] for e in rows(api.pars, "outbox")] == ["pars.arrest.submitted"]


def test_decline_and_release(api: Api, backend: str) -> None:
    aid = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body()).json()["id"]
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{aid}/charging-decision",
        json={"outcome": "decline", "reason": "insufficient evidence"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["custody_indicator"]) == ("declined", "release")
    r = api.as_("supervisor").post(
        f"/api/v1/arrests/{aid}/custody", json={"status": "released", "reason": "declined"}
    )
    assert r.json()["custody"] == "released"


def test_release_without_arraignment(api: Api, backend: str) -> None:
    body = arrest_body(charges=[{"statute": "18 § 2701 §§ A1", "grade": "M2"}])
    aid = api.as_("officer").post("/api/v1/arrests?submit=true", json=body).json()["id"]
    arrest = api.as_("prosecutor").get(f"/api/v1/arrests/{aid}").json()
    api.as_("prosecutor").post(f"/api/v1/arrests/{aid}/charging-decision", json=approve_all(arrest))
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{aid}/summons-release",
        json={"reason": "M2, local address verified", "no_threat": True, "likely_to_appear": True},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["custody"]) == ("released_for_summons", "released")


def test_magistrate_finds_no_probable_cause(api: Api, backend: str, clock: FakeClock) -> None:
    aid = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body()).json()["id"]
    arrest = api.as_("prosecutor").get(f"/api/v1/arrests/{aid}").json()
    api.as_("prosecutor").post(f"/api/v1/arrests/{aid}/charging-decision", json=approve_all(arrest))
    clock.advance(timedelta(hours=1))
    r = api.as_("magistrate").post(
        f"/api/v1/arrests/{aid}/arraignment",
        json={"magistrate": "ACM Lee", "probable_cause_found": False},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["custody_indicator"]) == ("dismissed", "release")
    assert r.json()["arraignment"]["docket_number"] is None


ILLEGAL = [
    ("submit", None, "submitted"),
    ("charging-review", None, "charged"),
    ("charging-decision", {"outcome": "decline", "reason": "r"}, "charged"),
    ("summons-release", {"reason": "r", "no_threat": True, "likely_to_appear": True}, "submitted"),
    ("arraignment-session", {"session_at": "2026-11-20T16:00:00-05:00"}, "submitted"),
    ("arraignment", arraignment_body(), "submitted"),
]
ROLE_FOR = {
    "submit": "officer",
    "charging-review": "prosecutor",
    "charging-decision": "prosecutor",
    "summons-release": "prosecutor",
    "arraignment-session": "clerk",
    "arraignment": "magistrate",
}


def test_illegal_steps_are_409_naming_state_and_allowed_actions(api: Api) -> None:
    from tests.web.helpers import arrest_in

    for path, body, state in ILLEGAL:
        arrest = arrest_in(api, state)
        r = api.as_(ROLE_FOR[path]).post(f"/api/v1/arrests/{arrest['id']}/{path}", json=body)
        assert r.status_code == 409, (path, r.text)
        problem = r.json()
        assert problem["type"] == "/problems/illegal-transition"
        assert problem["current_state"] == state
        assert f"'{state}'" in problem["detail"]
        assert problem["allowed_actions"]
        for action in problem["allowed_actions"]:
            assert action in problem["detail"]
        after = api.as_("supervisor").get(f"/api/v1/arrests/{arrest['id']}").json()
        assert (after["state"], after["version"]) == (state, arrest["version"])


def test_corrections_make_versions_and_keep_the_old_ones(api: Api, backend: str) -> None:
    aid = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body()).json()["id"]
    r = api.as_("officer").post(
        f"/api/v1/arrests/{aid}/corrections",
        json={
            "reason": "DOB typo",
            "changes": {
                "person": {"date_of_birth": "1990-04-03", "ssn": "123-45-6780"},
                "narrative": "Corrected.",
            },
        },
    )
    assert r.status_code == 200, r.text
    now = r.json()
    assert now["version"] == 2
    assert now["person"]["date_of_birth"] == "1990-04-03"
    assert now["person"]["ssn"] == "123-45-6780"
    assert now["person"]["last_name"] == "Doe"  # untouched fields stay
    old = api.as_("officer").get(f"/api/v1/arrests/{aid}/versions/1").json()
    assert old["person"]["date_of_birth"] == "1990-04-02"
    assert old["person"]["ssn"] == "123-45-6789"
    assert old["narrative"].startswith("Officer observed")
    versions = api.as_("officer").get(f"/api/v1/arrests/{aid}/versions").json()["items"]
    assert versions[-1]["reason"] == "DOB typo"
    corrected = [e for e in rows(api.pars, "outbox") if e["type"] == "pars.record.corrected"]
    assert corrected[0]["data"]["fields"] == ["narrative", "person", "person.ssn"]
    assert "1990" not in str(corrected[0]["data"])


def test_seal_hides_and_expunge_destroys(api: Api, backend: str) -> None:
    aid = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body()).json()["id"]
    r = api.as_("clerk").post(f"/api/v1/arrests/{aid}/seal", json={"order": "CP-51-MD-7-2026"})
    assert r.status_code == 200, r.text
    sealed = api.as_("magistrate").get(f"/api/v1/arrests/{aid}")
    assert sealed.json()["state"] == "sealed"
    for secret in ("Doe", "123-45-6789", "Market", "Jane Roe"):
        assert secret not in sealed.text
    # Roles that PARS_SEALED_READ_ROLES does not name: as if it did not exist.
    assert api.as_("prosecutor").get(f"/api/v1/arrests/{aid}").status_code == 404
    assert api.as_("prosecutor").get("/api/v1/arrests?name=doe").json()["items"] == []
    assert api.as_("magistrate").get(f"/api/v1/arrests/{aid}/versions").json()["items"] == []
    assert api.as_("magistrate").get(f"/api/v1/arrests/{aid}/versions/1").status_code == 404
    r = api.as_("clerk").post(f"/api/v1/arrests/{aid}/expunge", json={"order": "CP-51-MD-8-2026"})
    assert r.json()["state"] == "expunged"
    assert r.json()["allowed_actions"] == []
    assert [e["type"] for e in rows(api.pars, "outbox")][-2:] == [
        "pars.record.sealed",
        "pars.record.expunged",
    ]


def test_identification_links_the_same_person_across_arrests(api: Api) -> None:
    first = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body()).json()
    second = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body()).json()
    p1 = (
        api.as_("supervisor")
        .post(f"/api/v1/arrests/{first['id']}/identification", json={"state_id": "SID1"})
        .json()["identification"]
    )
    p2 = (
        api.as_("supervisor")
        .post(
            f"/api/v1/arrests/{second['id']}/identification",
            json={"state_id": "SID1", "fbi_number": "F77"},
        )
        .json()
    )
    assert p2["identification"]["person_id"] == p1["person_id"]
    assert len(rows(api.pars, "persons")) == 1
    third = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body()).json()
    r = api.as_("supervisor").post(
        f"/api/v1/arrests/{third['id']}/identification",
        json={"person_id": p1["person_id"], "fbi_number": "F78"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "/fbi_number"
