"""A person's home address as text or in parts, over HTTP on both stores: stored as one line
with the parts beside it, matched the same way, and bad parts refused naming the part."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import arrest_body
from tests.web.helpers import identify

PROBLEM = "application/problem+json"
PARTS = {"street": "12 Elm Street", "unit": "#3B", "city": "Philadelphia", "state": "PA",
         "zip": "19107-1234"}  # fmt: skip


def _book(api: Api, **person: Any) -> dict[str, Any]:
    body = arrest_body()
    body["person"] = {**body["person"], **person}
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def test_a_structured_address_is_stored_as_its_line_and_parts(api: Api, backend: str) -> None:
    arrest = _book(api, address=PARTS)
    person = api.as_("supervisor").get(f"/api/v1/arrests/{arrest['id']}").json()["person"]
    assert person["address"] == "12 Elm Street #3B, Philadelphia, PA 19107-1234"
    assert person["address_parts"] == PARTS
    # A correction to text clears the parts.
    r = api.as_("supervisor").post(
        f"/api/v1/arrests/{arrest['id']}/corrections",
        json={"reason": "moved", "changes": {"person": {"address": "14 Oak Ave 19104"}}},
    )
    assert r.status_code == 200, r.text
    person = api.as_("supervisor").get(f"/api/v1/arrests/{arrest['id']}").json()["person"]
    assert person["address"] == "14 Oak Ave 19104" and not person.get("address_parts")


def test_structured_and_text_addresses_match_alike(api: Api, backend: str) -> None:
    identify(api, _book(api, address=PARTS)["id"], local_person_id="L1")
    base = {"last_name": "Doe", "first_name": "John", "date_of_birth": "1990-04-02"}
    levels = []
    for address in (PARTS, "12 Elm St Apt 3B, Philadelphia, PA 19107"):
        query = {"person": {**base, "address": address}}
        r = api.as_("officer").post("/api/v1/persons/match", json=query)
        assert r.status_code == 200, r.text
        (best,) = r.json()["candidates"]
        levels.append(next(f["level"] for f in best["fields"] if f["field"] == "address"))
    assert levels == ["EXACT", "EXACT"]


@pytest.mark.parametrize(
    ("address", "pointer"),
    [
        ({**PARTS, "zip": "1910"}, None),  # a 4-digit postcode is accepted
        ({**PARTS, "zip": "191"}, "/person/address/zip"),
        ({**PARTS, "zip": 19107}, "/person/address/zip"),
        ({**PARTS, "state": "P4"}, "/person/address/state"),
        ({**PARTS, "unit": "3\tB"}, "/person/address/unit"),
        ({**PARTS, "street": "x" * 121}, "/person/address/street"),
        ({**PARTS, "country": "US"}, "/person/address/country"),
        ({"city": "Philadelphia"}, "/person/address"),
        ("x" * 201, "/person/address"),
    ],
)
def test_bad_address_parts_are_refused_naming_the_part(
    api: Api, address: Any, pointer: str | None
) -> None:
    body = arrest_body()
    body["person"]["address"] = address
    r = api.as_("officer").post("/api/v1/arrests", json=body)
    if pointer is None:
        assert r.status_code == 201, r.text
        return
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert [e["pointer"] for e in r.json()["errors"]] == [pointer]
    query = {"person": {"last_name": "Doe", "first_name": "J", "address": address}}
    r = api.as_("officer").post("/api/v1/persons/match", json=query)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
