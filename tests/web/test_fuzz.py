"""No request, however malformed, produces a 500 or a half-written record (property-based)."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api, rows
from tests.factories import approve_all, arraignment_body, arrest_body
from tests.web.helpers import arrest_in

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WRITES = ("arrests", "arrest_versions", "outbox", "otn_sequence", "docket_sequence", "persons")

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "",
            "\x00",
            "2026-02-30",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01",
            "-1",
            "1e400",
            "18 § 2701 §§ A1",
            "F9",
            "monetary",
            "ror",
            "\ud7ff",
        ]
    )
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    body = copy.deepcopy(body)
    target = body
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return body


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """A valid body with one node replaced by arbitrary JSON, or arbitrary JSON outright."""
    if draw(st.booleans()):
        return draw(json_values)
    path = draw(st.sampled_from(_paths(valid)))
    return _mutate(valid, path, draw(json_values))


def _counts(api: Api) -> dict[str, int]:
    return {t: len(rows(api.pars, t)) for t in WRITES}


def _check(api: Api, r: Any, before: dict[str, int]) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", r.text
        problem = r.json()
        assert {"type", "title", "status", "detail"} <= problem.keys()
        assert _counts(api) == before


def _send(api: Api, role: str, path: str, body: Any) -> Any:
    before = _counts(api)
    r = api.as_(role).post(
        path, content=json.dumps(body), headers={"content-type": "application/json"}
    )
    _check(api, r, before)
    return r


@FUZZ
@given(data=st.data())
def test_fuzz_create(api: Api, data: st.DataObject) -> None:
    body = data.draw(mutated(arrest_body()))
    _send(api, "officer", "/api/v1/arrests?submit=true", body)


@pytest.mark.parametrize(
    ("path", "role", "state", "valid"),
    [
        ("charging-decision", "prosecutor", "submitted", None),
        ("arraignment", "magistrate", "charged", arraignment_body()),
        ("custody", "supervisor", "submitted", {"status": "released", "reason": "ror"}),
        (
            "corrections",
            "officer",
            "submitted",
            {"reason": "fix", "changes": {"narrative": "x", "person": {"last_name": "Doe"}}},
        ),
        ("identification", "supervisor", "submitted", {"state_id": "S1", "fbi_number": "F1"}),
        ("arraignment-session", "clerk", "charged", {"session_at": "2026-11-20T16:00:00-05:00"}),
        (
            "summons-release",
            "prosecutor",
            "charged",
            {"reason": "r", "no_threat": True, "likely_to_appear": True},
        ),
        ("seal", "clerk", "submitted", {"order": "CP-1"}),
    ],
)
@FUZZ
@given(data=st.data())
def test_fuzz_steps(
    api: Api, data: st.DataObject, path: str, role: str, state: str, valid: dict[str, Any] | None
) -> None:
    arrest = arrest_in(api, state)
    body = data.draw(mutated(valid if valid is not None else approve_all(arrest)))
    _send(api, role, f"/api/v1/arrests/{arrest['id']}/{path}", body)


@FUZZ
@given(
    arrest_id=st.text(min_size=1, max_size=60),
    tail=st.sampled_from(
        ["", "/versions", "/versions/1", "/versions/99999999999999999999", "/submit", "/nope"]
    ),
)
def test_fuzz_paths(api: Api, arrest_id: str, tail: str) -> None:
    before = _counts(api)
    client = api.as_("supervisor")
    r = client.get(f"/api/v1/arrests/{quote(arrest_id, safe='')}{tail}")
    _check(api, r, before)
    r = client.post(f"/api/v1/arrests/{quote(arrest_id, safe='')}{tail}")
    _check(api, r, before)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "state",
                "district",
                "custody",
                "arrested_from",
                "arrested_to",
                "name",
                "otn",
                "docket",
                "person_id",
                "order",
                "limit",
                "cursor",
                "bogus",
            ]
        ),
        st.text(max_size=40)
        | st.sampled_from(
            [
                "\x00",
                "0",
                "-1",
                "999999999999999999999",
                "2026-13-01T00:00:00Z",
                "0001-01-01T00:00:00+14:00",
            ]
        ),
        max_size=4,
    )
)
def test_fuzz_list(api: Api, params: dict[str, str]) -> None:
    before = _counts(api)
    r = api.as_("defender").get("/api/v1/arrests", params=params)
    _check(api, r, before)


@FUZZ
@given(body=json_values)
def test_fuzz_login(api: Api, body: Any) -> None:
    api.client.headers.pop("Authorization", None)
    r = api.client.post(
        "/api/v1/auth/token", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert r.status_code in (400, 401, 422), r.text
