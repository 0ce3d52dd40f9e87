"""A partner look-up names a purpose code its agreement declares (issue 14, item 5): the code
is all the append-only log keeps of why; free text is refused (422 naming `/purpose`) and never
written to any entry, answered or refused."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pars.domain.errors import InvalidInput
from pars.services import agreements as ag
from pars.sharing.agreements import Lookup, from_document, to_document
from pars.sharing.policy import JurisdictionPolicy
from tests.conftest import START, Api, rows
from tests.factories import active_agreement, arrest_body

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL
FREE_TEXT = "checking on my ex Jane Roe"


def _partner(api: Api, name: str) -> dict[str, str]:
    _pid, key = ag.add_partner(api.pars, name, "state_repository")
    return {"Authorization": f"Bearer {key}"}


def _otn(api: Api) -> str:
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
    assert r.status_code == 201, r.text
    otn: str = r.json()["otn"]
    return otn


def _log(api: Api) -> list[dict[str, Any]]:
    return [r for r in rows(api.pars, "audit_log") if r["action"].startswith(("lookup:", "disc"))]


def _dump(api: Api) -> str:
    with api.pars.engine.connect() as conn:
        return "\n".join(
            repr(tuple(row)) for row in conn.exec_driver_sql("SELECT * FROM audit_log")
        )


def test_a_look_up_names_a_declared_purpose_code_and_the_log_keeps_only_it(api: Api) -> None:
    headers = _partner(api, "PSP")
    lookup = {"identifiers": ["otn"], "per_minute": 30, "purposes": ["warrant-check"]}
    aid = active_agreement(api.pars, "PSP", lookup=lookup)
    otn = _otn(api)

    r = api.client.get(
        "/api/v1/lookup", params={"otn": otn, "purpose": "warrant-check"}, headers=headers
    )
    assert r.status_code == 200, r.text
    answered = {e["action"]: e["details"]["purpose"] for e in _log(api)}
    assert answered == {"disclosure:lookup": "warrant-check", "lookup:answered": "warrant-check"}

    before = len(_log(api))
    for purpose in (FREE_TEXT, "records-check"):  # free text; a code the agreement lacks
        r = api.client.get(
            "/api/v1/lookup", params={"otn": otn, "purpose": purpose}, headers=headers
        )
        assert r.status_code == 422, r.text
        assert [e["pointer"] for e in r.json()["errors"]] == ["/purpose"]
        assert "warrant-check" in r.json()["errors"][0]["detail"]
    refused = _log(api)[before:]
    assert [(e["action"], e["details"]) for e in refused] == [
        ("lookup:refused", {"by": "otn", "refused": "/purpose"})
    ] * 2
    assert FREE_TEXT not in _dump(api)

    # The codes are part of the agreement's document.
    with api.pars.reader() as reader:
        agreement = reader.sharing.get(aid)
    assert agreement is not None
    assert from_document(to_document(agreement)).lookup.purposes == {"warrant-check"}


def test_without_codes_or_without_an_agreement_no_purpose_is_logged(api: Api) -> None:
    headers = _partner(api, "PSP")
    active_agreement(api.pars, "PSP", lookup={"identifiers": ["otn"], "per_minute": 30})
    otn = _otn(api)
    r = api.client.get("/api/v1/lookup", params={"otn": otn, "purpose": FREE_TEXT}, headers=headers)
    assert r.status_code == 422
    assert "declares no purpose codes" in r.json()["errors"][0]["detail"]
    r = api.client.get(
        "/api/v1/lookup", params={"docket": "MC-51-CR-0000001-2026", "purpose": FREE_TEXT},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 403  # no agreement allows look-up by docket
    assert [e["details"] for e in _log(api)] == [
        {"by": "otn", "refused": "/purpose"},
        {"by": "docket"},
    ]
    assert FREE_TEXT not in _dump(api)


@pytest.mark.parametrize("code", ["Warrant Check", "wc", "x" * 41, "1check"])
def test_purpose_codes_are_validated_with_the_agreement(api: Api, code: str) -> None:
    _partner(api, "PSP")
    body = {
        "partner": "PSP",
        "purpose": "criminal history",
        "legal_basis": "18 Pa.C.S. § 9112",
        "event_types": ["pars.arrest.submitted"],
        "granted": ["case"],
        "starts_at": "2026-11-19T00:00:00-05:00",
        "ends_at": "2026-12-19T00:00:00-05:00",
        "lookup": {"identifiers": ["otn"], "per_minute": 5, "purposes": [code]},
    }
    r = api.as_("privacy_officer").post("/api/v1/agreements", json=body)
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["/lookup/purposes/0"]
    assert rows(api.pars, "agreements") == []


def test_the_agreement_model_refuses_a_bad_code() -> None:
    doc = {
        "id": "a1", "version": 1, "partner": "p1", "partner_class": "state_repository",
        "purpose": "criminal history", "legal_basis": "law",
        "event_types": ["pars.arrest.submitted"], "granted": ["case"],
        "starts_at": START.isoformat(), "ends_at": START.replace(year=2027).isoformat(),
        "lookup": {"identifiers": ["otn"], "per_minute": 5, "purposes": ["warrant-check"]},
    }  # fmt: skip
    agreement = from_document(doc)
    policy = JurisdictionPolicy.shipped("default")
    agreement.validate(policy)
    bad = replace(agreement, lookup=Lookup(frozenset({"otn"}), 5, frozenset({"free text"})))
    with pytest.raises(InvalidInput) as e:
        bad.validate(policy)
    assert [f.pointer for f in e.value.errors] == ["/lookup/purposes"]
