"""Issue 12, items 1 and 6: queued copies die with the record (sealed, expunged), a correction
reaches queued copies, a sealed or expunged record is looked up as one that does not exist, and
sealed records are read only by the roles the setting names."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from pars.domain.identifiers import otn_from_sequence
from pars.services import agreements as ag
from pars.services import arrests as svc
from pars.services import audit
from pars.services.app import Principal
from pars.services.audit_verify import verify
from pars.services.delivery.relay import relay_once
from pars.services.inputs import CorrectionIn, CourtOrderIn
from tests.conftest import START, Api, raw_rows, rows
from tests.factories import active_agreement, arrest_body

CLERK = Principal("clerk1", "clerk")
ORDER = CourtOrderIn(order="CP-51-MD-0001234-2026")
# What a partner granted `identity` receives of the test arrest, and must never get once the
# record is sealed or expunged (or, for the old name, corrected).
CANARIES = ("Doe", "John", "1990-04-02")


@pytest.fixture
def psp(api: Api) -> dict[str, Any]:
    partner_id, key = ag.add_partner(api.pars, "PSP", "state_repository")
    return {"id": partner_id, "key": key, "headers": {"Authorization": f"Bearer {key}"}}


def _agreement(api: Api, **kw: Any) -> str:
    kw.setdefault("event_types", ["pars.arrest.submitted", "pars.record.corrected"])
    return active_agreement(api.pars, "PSP", ends_at=START + timedelta(days=30), **kw)


def _submit(api: Api) -> dict[str, Any]:
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
    assert r.status_code == 201, r.text
    arrest: dict[str, Any] = r.json()
    return arrest


def _feed_bytes(api: Api, psp: dict[str, Any], after: str = "0") -> bytes:
    r = api.client.get("/api/v1/feed", params={"after": after}, headers=psp["headers"])
    assert r.status_code == 200, r.text
    return r.content


def _deliveries_of(api: Api, arrest_id: str) -> list[dict[str, Any]]:
    """The arrest's deliveries, recall notices (identifiers only) left out."""
    return [
        d
        for d in raw_rows(api.pars, "deliveries")
        if d["subject"] == arrest_id and d["event_type"] != "pars.record.recall"
    ]


@pytest.mark.parametrize("close", [svc.seal, svc.expunge])
def test_a_queued_copy_is_never_served_after_the_record_closes(
    api: Api, psp: dict[str, Any], backend: str, close: Any
) -> None:
    _agreement(api)
    arrest = _submit(api)
    assert relay_once(api.pars) == 1
    (queued,) = _deliveries_of(api, arrest["id"])
    assert queued["status"] == "queued" and "Doe" in str(queued["payload"])

    close(api.pars, CLERK, arrest["id"], ORDER)

    (row,) = _deliveries_of(api, arrest["id"])
    assert row["status"] == "withheld" and row["payload"] is None
    assert row["withheld_reason"] in ("record sealed", "record expunged")
    served = _feed_bytes(api, psp)
    for canary in CANARIES:
        assert canary.encode() not in served
    assert b'"items":[]' in served.replace(b" ", b"")
    withheld = [a for a in rows(api.pars, "audit_log") if a["action"] == "disclosure:withheld"]
    assert [(w["subject"], w["details"]["count"]) for w in withheld] == [(psp["id"], 1)]
    assert withheld[0]["details"]["record"] == arrest["id"]
    assert not [a for a in rows(api.pars, "audit_log") if a["action"] == "disclosure:delivered"]
    audit.checkpoint(api.pars)
    report = verify(api.pars)
    assert report.ok, report.problems


def test_a_delivered_copy_is_not_served_again_after_sealing(
    api: Api, psp: dict[str, Any], backend: str
) -> None:
    _agreement(api)
    arrest = _submit(api)
    relay_once(api.pars)
    assert b"Doe" in _feed_bytes(api, psp)
    svc.seal(api.pars, CLERK, arrest["id"], ORDER)
    # A re-read from the start (at-least-once delivery) serves nothing of it again.
    again = _feed_bytes(api, psp)
    assert b"Doe" not in again
    # Only the recall notice (identifiers only) is there, not the delivered event again.
    types = [e["type"] for e in json.loads(again)["items"]]
    assert types == ["pars.record.recall"]
    (row,) = _deliveries_of(api, arrest["id"])
    assert row["status"] == "delivered" and row["payload"] is None


def test_an_event_committed_before_sealing_is_never_relayed(
    api: Api, psp: dict[str, Any], backend: str
) -> None:
    _agreement(api, event_types=["pars.arrest.submitted", "pars.record.sealed"])
    arrest = _submit(api)
    svc.seal(api.pars, CLERK, arrest["id"], ORDER)  # before the relay ran
    relay_once(api.pars)
    kinds = [d["event_type"] for d in _deliveries_of(api, arrest["id"])]
    assert kinds == ["pars.record.sealed"]
    served = _feed_bytes(api, psp)
    assert b"pars.record.sealed" in served
    for canary in CANARIES:
        assert canary.encode() not in served


def test_a_correction_reaches_the_queued_copy(api: Api, psp: dict[str, Any], backend: str) -> None:
    _agreement(api)
    arrest = _submit(api)
    relay_once(api.pars)
    change = CorrectionIn.model_validate(
        {"reason": "misspelt at booking", "changes": {"person": {"last_name": "Dhoe"}}}
    )
    svc.correct(api.pars, CLERK, arrest["id"], change)
    (row,) = _deliveries_of(api, arrest["id"])
    assert "Dhoe" in str(row["payload"]) and "'Doe'" not in str(row["payload"])
    relay_once(api.pars)  # the correction's own event
    served = _feed_bytes(api, psp)
    assert b'"Dhoe"' in served and b'"Doe"' not in served


def test_an_expunged_otn_is_looked_up_as_an_unknown_one(
    api: Api, psp: dict[str, Any], backend: str
) -> None:
    lookup = {"identifiers": ["otn"], "per_minute": 30, "purposes": ["warrant-check"]}
    _agreement(api, lookup=lookup)
    arrest = _submit(api)

    def ask(otn: str) -> tuple[int, Any]:
        r = api.client.get(
            "/api/v1/lookup",
            params={"otn": otn, "purpose": "warrant-check"},
            headers=psp["headers"],
        )
        return r.status_code, r.json()

    status, before = ask(arrest["otn"])
    assert status == 200 and before["items"]
    svc.expunge(api.pars, CLERK, arrest["id"], ORDER)
    unknown = otn_from_sequence("Q", 999_999)
    assert ask(arrest["otn"]) == ask(unknown)
    assert ask(arrest["otn"])[1]["items"] == []


def test_a_sealed_otn_is_looked_up_as_an_unknown_one(
    api: Api, psp: dict[str, Any], backend: str
) -> None:
    lookup = {"identifiers": ["otn"], "per_minute": 30, "purposes": ["warrant-check"]}
    _agreement(api, lookup=lookup)
    arrest = _submit(api)
    svc.seal(api.pars, CLERK, arrest["id"], ORDER)
    params = {"otn": arrest["otn"], "purpose": "warrant-check"}
    r = api.client.get("/api/v1/lookup", params=params, headers=psp["headers"])
    params["otn"] = otn_from_sequence("Q", 999_999)
    u = api.client.get("/api/v1/lookup", params=params, headers=psp["headers"])
    assert (r.status_code, r.json()) == (u.status_code, u.json()) == (200, u.json())
    assert r.json()["items"] == []


def test_sealed_records_are_read_by_the_named_roles_only(api: Api, backend: str) -> None:
    arrest = _submit(api)
    svc.seal(api.pars, CLERK, arrest["id"], ORDER)
    unknown = api.as_("officer").get("/api/v1/arrests/00000000-0000-4000-8000-000000000000")
    for role in ("officer", "prosecutor", "pretrial", "defender"):
        r = api.as_(role).get(f"/api/v1/arrests/{arrest['id']}")
        assert (r.status_code, r.json()) == (unknown.status_code, unknown.json()), role
        assert r.status_code == 404
        listed = api.as_(role).get("/api/v1/arrests").json()["items"]
        assert arrest["id"] not in {a["id"] for a in listed}, role
        versions = api.as_(role).get(f"/api/v1/arrests/{arrest['id']}/versions")
        assert versions.status_code == 404, role
    for role in ("clerk", "magistrate"):
        r = api.as_(role).get(f"/api/v1/arrests/{arrest['id']}")
        assert r.status_code == 200 and r.json()["state"] == "sealed", role
    reads = [
        (a["actor"], a["subject"])
        for a in rows(api.pars, "audit_log")
        if a["action"] == "arrest:read_sealed"
    ]
    assert reads == [("clerk1", arrest["id"]), ("magistrate1", arrest["id"])]


class TestNamedRoles:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"sealed_read_roles": "clerk"}

    def test_the_setting_names_who_reads(self, api: Api) -> None:
        arrest = _submit(api)
        svc.seal(api.pars, CLERK, arrest["id"], ORDER)
        assert api.as_("magistrate").get(f"/api/v1/arrests/{arrest['id']}").status_code == 404
        assert api.as_("clerk").get(f"/api/v1/arrests/{arrest['id']}").status_code == 200


def test_an_unknown_role_in_the_setting_is_refused() -> None:
    from pars.config import Settings

    with pytest.raises(ValueError, match="sheriff"):
        Settings(sealed_read_roles="clerk,sheriff")


def test_attestation_over_http(api: Api, psp: dict[str, Any], backend: str) -> None:
    _agreement(api)
    arrest = _submit(api)
    relay_once(api.pars)
    _feed_bytes(api, psp)
    svc.expunge(api.pars, CLERK, arrest["id"], ORDER)
    recall = api.client.get("/api/v1/feed", params={"after": "0"}, headers=psp["headers"])
    (notice,) = [e for e in recall.json()["items"] if e["type"] == "pars.record.recall"]
    url = f"/api/v1/feed/recalls/{notice['data']['recall']}/attestation"
    body = {"attested_at": "2026-11-20T15:00:00Z", "by": "Records Unit", "done": "destroyed"}
    bad = api.client.post(url, json={**body, "done": "kept"}, headers=psp["headers"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "done"
    unknown = url.replace(notice["data"]["recall"], "00000000-0000-4000-8000-000000000000")
    assert api.client.post(unknown, json=body, headers=psp["headers"]).status_code == 404
    assert api.client.post(url, json=body).status_code == 401
    r = api.client.post(url, json=body, headers=psp["headers"])
    assert r.status_code == 201, r.text
    assert api.client.post(url, json=body, headers=psp["headers"]).status_code == 409
    listed = api.as_("privacy_officer").get(f"/api/v1/partners/{psp['id']}/recalls").json()
    assert [(x["state"], x["attested_by"]) for x in listed["items"]] == [
        ("attested", "Records Unit")
    ]
    assert api.as_("officer").get("/api/v1/partners/recalls").status_code == 403


def test_a_batch_with_an_expunged_event_is_relayed_whole(
    api: Api, psp: dict[str, Any], backend: str, relay_tries: list[bool]
) -> None:
    """The expunged event's record is read before the batch's rows stream into the database (on
    PostgreSQL, one COPY that nothing else may interrupt): the batch goes through in one piece,
    not by the item-by-item fallback, and every partner row is there."""
    _agreement(api, event_types=["pars.arrest.submitted", "pars.record.expunged"])
    first, second = _submit(api), _submit(api)
    svc.expunge(api.pars, CLERK, first["id"], ORDER)
    assert relay_once(api.pars) >= 3
    assert relay_tries == [False]  # no fallback
    delivered = {(d["subject"], d["event_type"]) for d in raw_rows(api.pars, "deliveries")}
    assert (first["id"], "pars.record.expunged") in delivered
    assert (second["id"], "pars.arrest.submitted") in delivered
    assert (first["id"], "pars.arrest.submitted") not in delivered  # closed before it was sent
    assert not raw_rows(api.pars, "quarantine")
