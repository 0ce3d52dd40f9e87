"""Property-based fuzzing over /openapi.json (issue 14): any operation, as any staff role, a
partner key or nobody, with drawn path ids, query parameters and bodies. No answer is a 5xx,
every status is one the operation documents, and every error is problem+json."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pars.domain.roles import Role
from pars.services import agreements as ag
from tests.conftest import Api
from tests.factories import arrest_body
from tests.web.test_fuzz import json_values, mutated

# The SSE stream never ends by itself; a long-poll's `wait` only slows the run.
_SKIP = {("get", "/api/v1/feed/stream")}
_NO_DRAW = {"wait"}

text = st.text(max_size=20)


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in sorted(doc["paths"].items())
        for method, op in sorted(ops.items())
        if (method, path) not in _SKIP
    ]


def _value(known: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(known) | st.uuids().map(str) | text | st.integers(-5, 10**6).map(str)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_every_operation_answers_a_documented_status(api: Api, data: st.DataObject) -> None:
    doc = api.client.get("/openapi.json").json()
    if not hasattr(api, "fuzz_known"):
        arrest = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body()).json()
        _, key = ag.add_partner(api.pars, "FUZZ", "state_repository")
        api.fuzz_known = [arrest["id"], arrest["otn"], "0", "1"]  # type: ignore[attr-defined]
        api.fuzz_key = key  # type: ignore[attr-defined]
    known: list[str] = api.fuzz_known  # type: ignore[attr-defined]
    method, path, op = data.draw(st.sampled_from(_operations(doc)), label="operation")
    caller = data.draw(st.sampled_from([*(r.value for r in Role), "partner", "nobody"]))
    headers = {}
    if caller == "partner":
        headers["Authorization"] = f"Bearer {api.fuzz_key}"  # type: ignore[attr-defined]
    elif caller != "nobody":
        headers["Authorization"] = f"Bearer {api.token(f'{caller}1')}"

    url = path
    query: dict[str, str] = {}
    for param in op.get("parameters", []):
        name = param["name"]
        if param["in"] == "path":
            value = data.draw(_value(known), label=name)
            url = url.replace("{" + name + "}", quote(value, safe="") or "x")
        elif param["in"] == "query" and name not in _NO_DRAW and data.draw(st.booleans()):
            query[name] = data.draw(_value(known), label=name)
    request: dict[str, Any] = {"params": query, "headers": headers}
    if "requestBody" in op:
        body = data.draw(mutated(arrest_body()) | json_values, label="body")
        request["content"] = json.dumps(body)
        request["headers"] = {**headers, "content-type": "application/json"}

    api.client.headers.pop("Authorization", None)
    r = api.client.request(method.upper(), url, **request)

    assert r.status_code < 500, (method, url, r.status_code, r.text[:300])
    assert str(r.status_code) in op["responses"], (method, path, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", (method, path)
        problem = r.json()
        assert {"type", "title", "status", "detail"} <= problem.keys()
        assert problem["status"] == r.status_code
        assert re.fullmatch(r"/problems/[a-z-]+", problem["type"])
