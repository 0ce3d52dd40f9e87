"""The OpenAPI document, as a generated client can live with it.

FastAPI's own document is patched in four ways:

- every operation lists the error statuses it really answers, each as
  `application/problem+json` with the one shared `Problem` schema (RFC 9457, with PARS's
  `errors` list of JSON pointers or parameters; see `pars.web.problems`), and FastAPI's default
  422 `HTTPValidationError` body, which PARS never sends, is gone;
- the statuses are derived from what the route depends on (a staff token or a partner key:
  401, and a role check: 403; a JSON body: 400, 413, 415, 422; parameters: 422; a path id:
  404; the database: 503 and 507), plus `_EXTRA` for what the code decides (409, 429, ...);
- the security schemes `staffToken` and `partnerKey` (both HTTP bearer) are declared and
  applied per operation;
- the main resources have typed response schemas (`_RESPONSES`).

`tests/web/conftest.py` records every status the web tests see and fails when one is not
listed for its operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, _iter_routes_with_context

from pars.web import deps
from pars.web.api import BODY_MODELS
from pars.web.api import feed as feed_api

__all__ = ["PROBLEM_SCHEMA", "document", "install", "statuses"]

PROBLEM = "application/problem+json"
_REF = "#/components/schemas/"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details, the body of every PARS error answer. "
    "`instance` is never sent (a path can hold what was typed, and an error echoes no input).",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "description": "`/problems/<slug>`, e.g. /problems/invalid-input",
        },
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "What was wrong, one item a field (`pointer`, an RFC 6901 JSON pointer "
            "into the body) or a parameter (`parameter` and `in`).",
            "items": {"$ref": _REF + "ProblemError"},
        },
        "current_state": {
            "type": "string",
            "description": "With 409 illegal-transition: the record's state.",
        },
        "allowed_actions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "With 409 illegal-transition: what can be done in that state.",
        },
    },
}
PROBLEM_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemError",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "pointer": {
            "type": "string",
            "description": "RFC 6901 pointer into the body, e.g. /person/dob",
        },
        "parameter": {"type": "string", "description": "The parameter's name"},
        "in": {"type": "string", "description": "query, path, header, cookie or body"},
        "detail": {"type": "string"},
    },
}

_DESCRIPTIONS = {
    400: "Malformed JSON: the body is not a JSON object",
    401: "No valid credentials (`WWW-Authenticate: Bearer`)",
    403: "The caller may not do this",
    404: "No such record",
    405: "Method not allowed (`Allow` names the methods)",
    409: "Conflict: the record's state does not allow this step, or it changed meanwhile",
    413: "The body is larger than the limit",
    415: "The body is not application/json",
    422: "Invalid input: `errors` names each field (JSON pointer) or parameter",
    429: "Rate limited (`Retry-After`)",
    503: "The database is busy or unreachable (`Retry-After`)",
    507: "The database's disk is full: nothing was written (`Retry-After`)",
}

# What the code decides beyond what the dependencies say: (method, path) -> statuses.
_ARRESTS = "/api/v1/arrests/{arrest_id}"
_AGREEMENTS = "/api/v1/agreements/{agreement_id}"
_EXTRA: dict[tuple[str, str], set[int]] = {
    ("POST", "/api/v1/auth/token"): {401, 429},
    ("POST", "/api/v1/arrests"): {409},
    ("GET", "/api/v1/lookup"): {403, 404, 429},
    ("GET", "/api/v1/audit/checkpoint"): {404},
    ("GET", "/api/v1/audit/proof/inclusion"): {404},
    ("GET", "/api/v1/audit/proof/consistency"): {404},
    ("POST", "/api/v1/persons/match"): {409},
    ("POST", "/api/v1/agreements"): {409},
    ("GET", "/api/v1/feed/receipts/{index}"): {404},
    ("GET", "/api/v1/transparency"): {422},
    ("GET", f"{_ARRESTS}/complaint"): {409},  # no complaint in this state
    ("GET", f"{_ARRESTS}/complaint.pdf"): {409},
    ("GET", "/api/v1/persons/{person_id}/disclosures"): {422},
    ("GET", "/api/v1/arrests/{arrest_id}/disclosures"): {422},
}
# Never a database answer: the process alone.
_NO_DB = {("GET", "/healthz")}


def _schema(name: str, required: list[str], properties: dict[str, Any], doc: str) -> dict[str, Any]:
    return {
        "title": name,
        "description": doc,
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": True,
    }


_S = {"type": "string"}
_I = {"type": "integer"}
_NS = {"anyOf": [{"type": "string"}, {"type": "null"}]}
_OBJ = {"type": "object", "additionalProperties": True}
_LIST = {"type": "array", "items": _OBJ}
RESOURCE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Arrest": _schema(
        "Arrest",
        ["id", "state", "version"],
        {
            "id": _S,
            "otn": _NS,
            "state": _S,
            "custody": _NS,
            "version": _I,
            "juvenile": {"type": "boolean"},
            "arrested_at": _NS,
            "person": _OBJ,
            "charges": _LIST,
            "redacted": {"type": "array", "items": _S},
            "allowed_actions": {"type": "array", "items": _S},
        },
        "An arrest as the caller's role may see it (fields it may not see are named in "
        "`redacted`); `allowed_actions` are the steps its state allows.",
    ),
    "ArrestPage": _schema(
        "ArrestPage",
        ["items"],
        {"items": {"type": "array", "items": {"$ref": _REF + "Arrest"}}, "next_cursor": _NS},
        "A page of arrests and the cursor of the next (null at the end).",
    ),
    "Agreement": _schema(
        "Agreement",
        ["id", "version", "partner"],
        {
            "id": _S,
            "version": _I,
            "partner": _S,
            "partner_name": _NS,
            "partner_class": _S,
            "state": _S,
            "effective_state": _S,
            "granted_classes": {"type": "array", "items": _S},
        },
        "A data-sharing agreement: the document, its partner and its state in force now.",
    ),
    "FeedPage": _schema(
        "FeedPage",
        ["items", "next_cursor"],
        {"items": _LIST, "next_cursor": _S},
        "CloudEvents after the cursor, in order, and the cursor to go on from.",
    ),
    "Checkpoint": _schema(
        "Checkpoint",
        ["size", "root_hash", "time", "key_id"],
        {
            "id": _I,
            "size": _I,
            "root_hash": _S,
            "time": _S,
            "key_id": _S,
            "key_name": _NS,
            "note": _S,
            "signature": _S,
            "signed_note": _NS,
        },
        "A signed tree head of the disclosure log (JSON view).",
    ),
    "CheckpointList": _schema(
        "CheckpointList",
        ["items"],
        {"items": {"type": "array", "items": {"$ref": _REF + "Checkpoint"}}},
        "Every checkpoint, oldest first.",
    ),
    "InclusionProof": _schema(
        "InclusionProof",
        ["index", "tree_size", "leaf_hash", "root_hash", "proof"],
        {
            "index": _I,
            "tree_size": _I,
            "leaf_hash": _S,
            "root_hash": _S,
            "proof": {"type": "array", "items": _S},
        },
        "RFC 6962 inclusion proof of one log entry (hashes in base64).",
    ),
    "ConsistencyProof": _schema(
        "ConsistencyProof",
        ["first", "second", "first_root_hash", "second_root_hash", "proof"],
        {
            "first": _I,
            "second": _I,
            "first_root_hash": _S,
            "second_root_hash": _S,
            "proof": {"type": "array", "items": _S},
        },
        "RFC 6962 consistency proof between two tree sizes (hashes in base64).",
    ),
    "TransparencyReport": _schema(
        "TransparencyReport",
        ["jurisdiction", "generated_at", "agreements", "disclosures", "withheld", "log"],
        {
            "jurisdiction": _S,
            "generated_at": _S,
            "months": _S,
            "small_counts": _OBJ,
            "warnings": {"type": "array", "items": _S},
            "agreements": _LIST,
            "disclosures": _LIST,
            "withheld": _LIST,
            "log": _OBJ,
        },
        "The public transparency report: counts only, no personal data.",
    ),
}

_A = "application/json"
# (method, path) -> (status, schema name) of the typed success answers.
_RESPONSES: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/api/v1/arrests"): ("201", "Arrest"),
    ("GET", "/api/v1/arrests"): ("200", "ArrestPage"),
    ("GET", _ARRESTS): ("200", "Arrest"),
    ("GET", "/api/v1/agreements/{agreement_id}"): ("200", "Agreement"),
    ("POST", "/api/v1/agreements"): ("201", "Agreement"),
    ("GET", "/api/v1/feed"): ("200", "FeedPage"),
    ("POST", "/api/v1/audit/checkpoint"): ("201", "Checkpoint"),
    ("GET", "/api/v1/audit/checkpoints"): ("200", "CheckpointList"),
    ("GET", "/api/v1/audit/proof/inclusion"): ("200", "InclusionProof"),
    ("GET", "/api/v1/audit/proof/consistency"): ("200", "ConsistencyProof"),
}
# Workflow steps answer the arrest; agreement steps the agreement.
_ARREST_STEPS = [
    "submit",
    "identification",
    "pretrial",
    "charging-review",
    "charging-decision",
    "summons-release",
    "arraignment-session",
    "arraignment",
    "custody",
    "corrections",
    "seal",
    "expunge",
]
_AGREEMENT_STEPS = ["submit", "approve", "suspend", "revoke", "renew"]
_RESPONSES.update({("POST", f"{_ARRESTS}/{s}"): ("200", "Arrest") for s in _ARREST_STEPS})
_RESPONSES.update({("POST", f"{_AGREEMENTS}/{s}"): ("200", "Agreement") for s in _AGREEMENT_STEPS})


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every API route of `app` with its full path, those of included routers too (this
    FastAPI keeps an included router as one entry of `app.routes`)."""
    for route, context in _iter_routes_with_context(app.routes):
        if isinstance(route, APIRoute):
            yield (context.path if context is not None and context.path else route.path), route


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _security(route: APIRoute) -> tuple[str | None, bool]:
    """The route's credentials (`staffToken`, `partnerKey` or None) and whether a role check
    can refuse it."""
    calls = list(_calls(route.dependant))
    scheme = None
    if deps._caller in calls:
        scheme = "staffToken"
    elif feed_api._partner in calls:
        scheme = "partnerKey"
    roles = any(hasattr(c, "pars_roles") for c in calls)
    return scheme, roles


def _has_params(dependant: Dependant) -> tuple[bool, bool]:
    path = bool(dependant.path_params) or any(_has_params(d)[0] for d in dependant.dependencies)
    query = bool(dependant.query_params) or any(_has_params(d)[1] for d in dependant.dependencies)
    return path, query


def statuses(route: APIRoute, method: str, path: str) -> set[int]:
    """The error statuses `method` on `route` (at `path`) can answer."""
    out: set[int] = set()
    scheme, roles = _security(route)
    if scheme is not None:
        out.add(401)
    if roles:
        out.add(403)
    if (route.openapi_extra or {}).get("requestBody"):
        out |= {400, 413, 415, 422}
    in_path, in_query = _has_params(route.dependant)
    if in_path:
        out |= {404, 422}
    if in_query:
        out.add(422)
    if method == "POST" and in_path:
        out.add(409)  # a workflow step in the wrong state, or a record changed meanwhile
    if (method, path) not in _NO_DB:
        # Reads write too (audit rows, disclosures), so a full disk can refuse any of them.
        out |= {503, 507}
    return out | _EXTRA.get((method, path), set())


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {PROBLEM: {"schema": {"$ref": _REF + "Problem"}}},
    }


def document(app: FastAPI) -> dict[str, Any]:
    """The patched OpenAPI document of `app`."""
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in BODY_MODELS:
        js = model.model_json_schema(ref_template=_REF + "{model}")
        schemas.update(js.pop("$defs", {}))
        schemas[model.__name__] = js
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemError"] = PROBLEM_ERROR_SCHEMA
    schemas.update(RESOURCE_SCHEMAS)
    components["securitySchemes"] = {
        "staffToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "A staff member's token from POST /api/v1/auth/token.",
        },
        "partnerKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner agency's API key (`parsk_...`), issued with "
            "`pars partners add`.",
        },
    }
    routes = {
        (m, path): r
        for path, r in api_routes(app)
        if r.include_in_schema
        for m in (r.methods or ())
    }
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            found = routes.get((method.upper(), path))
            if found is None:
                continue
            scheme, _ = _security(found)
            if scheme is not None:
                op["security"] = [{scheme: []}]
            typed = _RESPONSES.get((method.upper(), path))
            if typed is not None:
                ok_status, name = typed
                ok = responses.setdefault(ok_status, {"description": "OK"})
                ok.setdefault("content", {})[_A] = {"schema": {"$ref": _REF + name}}
            elif (method.upper(), path) == ("GET", "/api/v1/transparency"):
                responses["200"]["content"][_A] = {"schema": {"$ref": _REF + "TransparencyReport"}}
            elif (method.upper(), path) == ("GET", "/api/v1/audit/checkpoint"):
                responses["200"]["content"][_A] = {"schema": {"$ref": _REF + "Checkpoint"}}
            for code in sorted(statuses(found, method.upper(), path)):
                responses[str(code)] = _problem_response(code)
    return schema


def install(app: FastAPI) -> None:
    """Serve `document(app)` (built once) at /openapi.json."""

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
