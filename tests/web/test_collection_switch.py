"""A jurisdiction that does not collect place of birth or citizenship refuses them, naming the
field, and writes nothing; an arrest without them is accepted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Api, rows
from tests.factories import arrest_body

ARRESTS = "/api/v1/arrests"
UNTOUCHED = ("arrests", "arrest_versions", "outbox", "otn_sequence")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"collect_place_of_birth": False, "collect_citizenship": False}


def _counts(api: Api) -> dict[str, int]:
    return {t: len(rows(api.pars, t)) for t in UNTOUCHED}


def _person(**fields: Any) -> dict[str, Any]:
    body = arrest_body()
    for key in ("place_of_birth", "citizenship"):
        body["person"].pop(key)
    body["person"].update(fields)
    return body


@pytest.mark.parametrize(
    ("fields", "pointers"),
    [
        pytest.param(
            {"place_of_birth": "Kingston, Jamaica"}, {"/person/place_of_birth"}, id="place_of_birth"
        ),
        pytest.param({"citizenship": "JM"}, {"/person/citizenship"}, id="citizenship"),
        pytest.param(
            {"place_of_birth": "Kingston, Jamaica", "citizenship": "JM"},
            {"/person/place_of_birth", "/person/citizenship"},
            id="both",
        ),
    ],
)
def test_switched_off_fields_are_refused(
    api: Api, fields: dict[str, Any], pointers: set[str]
) -> None:
    client = api.as_("officer")
    before = _counts(api)
    audit_before = {a["id"] for a in rows(api.pars, "audit_log")}

    r = client.post(f"{ARRESTS}?submit=true", json=_person(**fields))

    assert r.status_code == 422, r.text
    assert r.headers["content-type"].split(";")[0] == "application/problem+json"
    body = r.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert {e["pointer"] for e in body["errors"]} == pointers
    for value in fields.values():
        assert value not in r.text
    assert _counts(api) == before
    new = [a for a in rows(api.pars, "audit_log") if a["id"] not in audit_before]
    assert [a["outcome"] for a in new] == ["failure"]
    for value in fields.values():
        assert value not in json.dumps(new, default=str)


def test_switched_off_fields_are_refused_in_corrections(api: Api) -> None:
    created = api.as_("officer").post(f"{ARRESTS}?submit=true", json=_person())
    assert created.status_code == 201, created.text
    aid = created.json()["id"]
    client = api.as_("clerk")
    before = _counts(api)

    r = client.post(
        f"{ARRESTS}/{aid}/corrections",
        json={"reason": "added", "changes": {"person": {"citizenship": "JM"}}},
    )

    assert r.status_code == 422, r.text
    assert r.headers["content-type"].split(";")[0] == "application/problem+json"
    assert [e["pointer"] for e in r.json()["errors"]] == ["/changes/person/citizenship"]
    assert _counts(api) == before


def test_arrest_without_them_is_accepted(api: Api) -> None:
    r = api.as_("officer").post(f"{ARRESTS}?submit=true", json=_person())
    assert r.status_code == 201, r.text
    assert "place_of_birth" not in r.json()["person"]
    assert "citizenship" not in r.json()["person"]
    assert len(rows(api.pars, "arrests")) == 1
    assert [e["type"] for e in rows(api.pars, "outbox")] == ["pars.arrest.submitted"]


def test_explicit_nulls_are_accepted(api: Api) -> None:
    r = api.as_("officer").post(ARRESTS, json=_person(place_of_birth=None, citizenship=None))
    assert r.status_code == 201, r.text
