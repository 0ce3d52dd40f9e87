"""The persons API: matching, the review queue, merge and unmerge, over HTTP on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, rows
from tests.factories import arrest_body
from tests.web.helpers import identify

PROBLEM = "application/problem+json"


def _book(api: Api, **person: Any) -> str:
    body = arrest_body()
    body["person"] = {**body["person"], **person}
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=body)
    assert r.status_code == 201, r.text
    arrest_id: str = r.json()["id"]
    return arrest_id


def _identify(api: Api, arrest_id: str, local_id: str) -> str:
    return identify(api, arrest_id, local_person_id=local_id)


def test_match_returns_ranked_explained_candidates(api: Api, backend: str) -> None:
    person = _identify(api, _book(api), "L1")
    query = {"person": {"last_name": "Doe", "first_name": "Johnny", "date_of_birth": "1990-04-02"}}
    r = api.as_("officer").post("/api/v1/persons/match", json=query)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == 0 and body["thresholds"]["auto_link"] is None
    (best,) = body["candidates"]
    assert best["person_id"] == person and best["tier"] in ("review", "auto_link")
    assert {f["field"] for f in best["fields"]} == {
        "first", "last", "dob", "sex", "address", "phone",
    }  # fmt: skip
    assert best["record"]["last"] == "Doe"
    assert any(a["action"] == "person:match" for a in rows(api.pars, "audit_log"))


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"person": {"first_name": "Bill"}}, "/person/last_name"),
        ({"person": {"last_name": "Doe", "first_name": "B", "date_of_birth": "2-4-1990"}},
         "/person/date_of_birth"),
        ({"person": {"last_name": "Doe", "first_name": "B"}, "limit": 0}, "/limit"),
        ({"person": {"last_name": "Doe", "first_name": "B", "shoe": 9}}, "/person/shoe"),
    ],
)  # fmt: skip
def test_match_refuses_bad_input_naming_the_field(
    api: Api, body: dict[str, Any], pointer: str
) -> None:
    r = api.as_("officer").post("/api/v1/persons/match", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert pointer in [e["pointer"] for e in r.json()["errors"]]


def test_roles(api: Api) -> None:
    query = {"person": {"last_name": "Doe", "first_name": "John"}}
    assert api.as_("clerk").post("/api/v1/persons/match", json=query).status_code == 403
    assert api.as_("officer").get("/api/v1/persons/reviews").status_code == 403
    assert (
        api.client.post(
            "/api/v1/persons/match", json=query, headers={"Authorization": ""}
        ).status_code
        == 401
    )


def test_review_queue_link(api: Api, backend: str) -> None:
    person = _identify(api, _book(api), "L1")
    again = _book(api, first_name="Jon", aliases=[])
    r = api.as_("supervisor").get("/api/v1/persons/reviews")
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert (item["arrest_id"], item["person_id"], item["outcome"]) == (again, person, "review")
    r = api.as_("supervisor").post(
        f"/api/v1/persons/reviews/{item['id']}/decision", json={"resolution": "link"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["resolution"] == "linked"
    arrest = api.as_("supervisor").get(f"/api/v1/arrests/{again}").json()
    assert arrest["identification"]["person_id"] == person
    assert api.as_("supervisor").get("/api/v1/persons/reviews").json()["items"] == []
    r = api.as_("supervisor").post(
        f"/api/v1/persons/reviews/{item['id']}/decision", json={"resolution": "reject"}
    )
    assert r.status_code == 409
    r = api.as_("supervisor").post(
        "/api/v1/persons/reviews/999999/decision", json={"resolution": "maybe"}
    )
    assert r.status_code == 422 and "/resolution" in [e["pointer"] for e in r.json()["errors"]]


def test_merge_and_unmerge(api: Api, backend: str) -> None:
    keep = _identify(api, _book(api), "L1")
    dup = _identify(api, _book(api, first_name="Johnny"), "L2")
    sup = api.as_("supervisor")
    r = sup.post(f"/api/v1/persons/{keep}/merge", json={"merged_id": dup})
    assert r.status_code == 200, r.text
    merge_id = r.json()["merge_id"]
    view = sup.get(f"/api/v1/persons/{keep}").json()
    assert view["merged"] == [dup] and len(view["records"]) == 2
    assert sup.get(f"/api/v1/persons/{dup}").json()["merged_into"] == keep
    assert sup.post(f"/api/v1/persons/{keep}/merge", json={"merged_id": dup}).status_code == 409
    r = sup.post(f"/api/v1/persons/{keep}/merge", json={"merged_id": "nope"})
    assert r.status_code == 422
    assert sup.post(f"/api/v1/persons/merges/{merge_id}/undo").status_code == 200
    assert sup.get(f"/api/v1/persons/{dup}").json()["merged_into"] is None
    assert sup.post(f"/api/v1/persons/merges/{merge_id}/undo").status_code == 409
    assert sup.post("/api/v1/persons/merges/x/undo").status_code == 404
    assert sup.get("/api/v1/persons/" + "0" * 36).status_code == 404
    assert (
        api.as_("officer")
        .post(f"/api/v1/persons/{keep}/merge", json={"merged_id": dup})
        .status_code
        == 403
    )


def test_a_year_of_birth_alone_is_accepted_and_compared_by_year(api: Api, backend: str) -> None:
    person = _identify(
        api, _book(api, last_name="Okafor", first_name="Mary", date_of_birth=None,
                   birth_year=1962, aliases=[]), "L1",
    )  # fmt: skip
    query = {"person": {"last_name": "Okafor", "first_name": "Mary", "date_of_birth": "1962-11-30"}}
    r = api.as_("officer").post("/api/v1/persons/match", json=query)
    assert r.status_code == 200, r.text
    (best,) = r.json()["candidates"]
    assert best["person_id"] == person and best["record"]["dob_year"] == 1962
    dob = next(f for f in best["fields"] if f["field"] == "dob")
    assert dob["level"] == "SAME_YEAR" and dob["agrees"]


def test_an_unknown_name_is_missing_not_a_match(api: Api, backend: str) -> None:
    _identify(api, _book(api, last_name="UNKNOWN", first_name="Felicity", aliases=[]), "L1")
    query = {"person": {"last_name": "UNKNOWN", "first_name": "Felicity"}}
    r = api.as_("officer").post("/api/v1/persons/match", json=query)
    assert r.status_code == 200, r.text
    assert r.json()["candidates"] == []  # no name pair, no date: nothing shares a key


@pytest.mark.parametrize(
    ("person", "pointer", "detail"),
    [
        ({"date_of_birth": "1901-06-01"}, "/person/date_of_birth", "more than 120 years ago"),
        ({"date_of_birth": None, "birth_year": 1904}, "/person/birth_year", "more than 120"),
        ({"date_of_birth": None, "birth_year": 2099}, "/person/birth_year", "in the future"),
        ({"birth_year": 1991}, "/person", "birth_year must be the year of date_of_birth"),
        ({"birth_year": "1990"}, "/person/birth_year", ""),
    ],
)
def test_dates_of_birth_out_of_range_are_refused(
    api: Api, person: dict[str, Any], pointer: str, detail: str
) -> None:
    body = arrest_body()
    body["person"] = {**body["person"], **person}
    body["person"] = {k: v for k, v in body["person"].items() if v is not None}
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=body)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert any(e["pointer"] == pointer and detail in e["detail"] for e in errors), errors
    assert rows(api.pars, "arrests") == []


def test_the_booking_screen_asks_with_an_unknown_name(api: Api, backend: str) -> None:
    from pars.services.app import Principal
    from pars.web.screens.booking_records import candidates

    unknown = {"last_name": "UNKNOWN", "first_name": "Felicity", "aliases": []}
    person = _identify(api, _book(api, **unknown, date_of_birth="1984-07-19"), "L1")
    form = {"person.last_name": "UNKNOWN", "person.first_name": "Felicity",
            "person.date_of_birth": "1984-07-19"}  # fmt: skip
    officer = Principal("officer1", "officer")
    found = candidates(api.pars, officer, form)
    assert found["asked"] and [i["person_id"] for i in found["items"]] == [person]
    last = next(f for f in found["items"][0]["fields"] if f["field"] == "last")
    assert last["level"] == "MISSING"
    other_day = candidates(api.pars, officer, {**form, "person.date_of_birth": "1991-03-02"})
    assert other_day == {"asked": True, "items": []}  # "Felicity" alone makes no block
