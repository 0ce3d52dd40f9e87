"""Issue 14 items 4 and 7: authorization before validation on every route, and the small leaks.

The first test walks every route of every API router and every role the route refuses, and
sends what a fuzzer would: a malformed JSON body, a query string with wrong and repeated
values, random path ids. Each refusal must be 403, audited, whatever was sent; before the fix
129 route x role pairs answered 422 and left no audit row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from pars.domain.roles import Role
from tests.conftest import Api, rows
from tests.factories import arrest_body
from tests.web.helpers import arrest_in

# Routes every signed-in member of staff may use (their own account, the charge catalogue):
# they have no role guard, and the test checks that this list is all there is.
OPEN_TO_STAFF = {"/api/v1/me", "/api/v1/charges", "/api/v1/charges/{citation}"}


def _api_routes(api: Api) -> Iterator[APIRoute]:
    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes)

    yield from (r for r in walk(api.client.app.routes) if r.path.startswith("/api/"))  # type: ignore[attr-defined]


def _roles(dependant: Dependant) -> list[frozenset[Role]]:
    found = getattr(dependant.call, "pars_roles", None)
    if found is not None:
        return [found]
    return [r for sub in dependant.dependencies for r in _roles(sub)]


def _path(template: str) -> str:
    out = template
    for name in ("arrest_id", "agreement_id", "person_id", "citation", "version", "index"):
        out = out.replace("{" + name + "}", str(uuid.uuid4()))
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        out = out[:start] + str(uuid.uuid4()) + out[end + 1 :]
    return out


def _denied(api: Api, username: str) -> int:
    return sum(
        1
        for a in rows(api.pars, "audit_log")
        if a["action"] == "access:denied" and a["actor"] == username
    )


def test_every_refused_role_gets_403_and_an_audit_row_whatever_it_sent(api: Api) -> None:
    pairs = 0
    unguarded = set()
    for route in _api_routes(api):
        guards = _roles(route.dependant)
        partner_or_public = not any(
            getattr(d.call, "__name__", "") == "_caller" for d in _all(route.dependant)
        )
        if not guards:
            if not partner_or_public:
                unguarded.add(route.path)
            continue
        allowed = frozenset.intersection(*guards)
        for method in sorted(route.methods - {"HEAD"}):
            for role in Role:
                if role in allowed:
                    continue
                user = f"{role.value}1"
                before = _denied(api, user)
                r = api.as_(role.value).request(
                    method,
                    _path(route.path) + "?limit=many&otn=A&otn=B&since=yesterday",
                    content=b'{"arrest": [',
                    headers={"content-type": "application/json"},
                )
                where = (method, route.path, role.value)
                assert r.status_code == 403, (where, r.status_code, r.text)
                assert r.headers["content-type"] == "application/problem+json", where
                assert _denied(api, user) == before + 1, where
                pairs += 1
    assert unguarded <= OPEN_TO_STAFF, unguarded - OPEN_TO_STAFF
    assert pairs >= 300, pairs  # the whole API walked (322 pairs when written), not a corner


def _all(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _all(sub)


def test_the_routes_open_to_staff_answer_every_role(api: Api) -> None:
    for role in Role:
        assert api.as_(role.value).get("/api/v1/me").status_code == 200, role
        assert api.as_(role.value).get("/api/v1/charges?q=theft").status_code == 200, role


@pytest.mark.parametrize(
    "query",
    ["otn=A000001-1&otn=B000002-2", "limit=5&limit=6", "order=newest&order=oldest"],
)
def test_a_repeated_parameter_is_refused_naming_it(api: Api, query: str) -> None:
    arrest_in(api, "submitted")
    r = api.as_("supervisor").get(f"/api/v1/arrests?{query}")
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    name = query.split("=")[0]
    assert any(
        e.get("field", e.get("loc")) in (name, f"query.{name}") or name in str(e)
        for e in problem["errors"]
    ), problem


def test_a_repeated_parameter_still_gets_403_for_a_wrong_role(api: Api) -> None:
    r = api.as_("auditor").get("/api/v1/persons/review?limit=1&limit=2")
    assert r.status_code == 403, r.text


def test_a_single_parameter_is_answered(api: Api) -> None:
    arrest = arrest_in(api, "submitted")
    r = api.as_("supervisor").get(f"/api/v1/arrests?otn={arrest['otn']}")
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["items"]] == [arrest["id"]]


def test_co_defendant_of_an_invisible_draft_answers_as_an_unknown_id(api: Api) -> None:
    other = api.as_("officer2").post("/api/v1/arrests", json=arrest_body()).json()
    before = len(rows(api.pars, "arrests"))
    answers = []
    for target in (other["id"], str(uuid.uuid4())):
        r = api.as_("officer").post("/api/v1/arrests", json=arrest_body(co_defendants=[target]))
        answers.append((r.status_code, r.json()["type"], r.json()["errors"]))
        assert target not in r.text, r.text
    assert answers[0] == answers[1], answers
    assert answers[0][0] == 422, answers
    assert len(rows(api.pars, "arrests")) == before
    # and the author's own draft is a co-defendant it may name
    mine = api.as_("officer").post("/api/v1/arrests", json=arrest_body()).json()
    r = api.as_("officer").post("/api/v1/arrests", json=arrest_body(co_defendants=[mine["id"]]))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/charges/666-12-3456",
        "/api/v1/arrests/666-12-3456",
        "/api/v1/persons/666-12-3456",
        "/api/v1/agreements/666-12-3456",
        "/api/v1/no-such-thing/666-12-3456",
    ],
)
def test_a_404_echoes_no_input(api: Api, path: str) -> None:
    role = "privacy_officer" if "agreements" in path else "supervisor"
    r = api.as_(role).get(path)
    assert r.status_code in (404, 422), (path, r.status_code, r.text)
    assert "666-12-3456" not in r.text, r.text
    assert "instance" not in r.json()


def test_a_405_says_what_is_allowed(api: Api) -> None:
    r = api.as_("supervisor").delete("/api/v1/arrests")
    assert r.status_code == 405, r.text
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("SMITH\u202egnp.exe", "bidi"),
        ("SM\u200bITH", "zero-width"),
        ("\ufeffSMITH", "bom"),
        ("SMI\u2066TH", "bidi isolate"),
    ],
)
def test_invisible_and_bidi_characters_are_refused_naming_the_field(
    api: Api, name: str, why: str
) -> None:
    body = arrest_body()
    body["person"]["last_name"] = name
    before = len(rows(api.pars, "arrests"))
    r = api.as_("officer").post("/api/v1/arrests", json=body)
    assert r.status_code == 422, (why, r.text)
    assert "last_name" in r.text, r.text
    assert len(rows(api.pars, "arrests")) == before


def test_free_text_is_refused_too(api: Api) -> None:
    body = arrest_body()
    body["narrative"] = "ran west\u200d on Market"
    r = api.as_("officer").post("/api/v1/arrests", json=body)
    assert r.status_code == 422, r.text
    assert "narrative" in r.text


def test_names_are_normalised_to_nfc(api: Api) -> None:
    body = arrest_body()
    body["person"]["last_name"] = "Mun\u0303oz"  # n + combining tilde
    r = api.as_("officer").post("/api/v1/arrests", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["person"]["last_name"] == "Mu\u00f1oz"
