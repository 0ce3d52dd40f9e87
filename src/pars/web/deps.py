"""Request plumbing: the application object, the caller and what the caller may do, and
reading JSON bodies strictly.

Authorization comes before validation on every route: a route's role check is a dependency
(`may` for a workflow step, `allowed` for a set of roles), and FastAPI resolves dependencies
before it validates the route's path and query parameters, and before the route reads its
body with `read_json`. A wrong role therefore gets 403 (audited `access:denied`) whatever it
sent, and only an authorized caller learns what was wrong with its input. A request without
valid credentials gets 401, audited `access:unauthenticated` (see `audit_unauthenticated`).
The services check roles again, for the CLI and as a second line.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import Unauthenticated
from pars.domain.roles import STEP_ROLES, Role, Step
from pars.services.app import Pars, Principal
from pars.services.auth import authenticate, authenticate_at_once, require, require_role
from pars.services.logon_guard import TokenBucket
from pars.store.uow import AuditEntry
from pars.web.problems import BadRequest

__all__ = [
    "Caller",
    "allowed",
    "audit_unauthenticated",
    "get_pars",
    "may",
    "pars_of",
    "read_json",
    "record_subject",
    "route_template",
    "source_address",
    "unauthenticated_audits",
]

M = TypeVar("M", bound=BaseModel)


async def get_pars(request: Request) -> Pars:
    # Async (it does no I/O): FastAPI runs a plain `def` dependency in a worker thread, a
    # hand-off per request for a dictionary look-up.
    return pars_of(request)


def source_address(request: Request) -> str:
    """The client's address as the server saw it (behind a reverse proxy, the proxy's unless
    the server is told to trust its forwarded headers: see docs/security.md)."""
    return request.client.host if request.client else "unknown"


def route_template(request: Request) -> str:
    """The matched route's path template (`/api/v1/arrests/{arrest_id}`), never the path
    itself, which can hold whatever was typed; `unmatched` before routing."""
    return getattr(request.scope.get("route"), "path", None) or "unmatched"


def unauthenticated_audits() -> TokenBucket:
    """The bound on `access:unauthenticated` entries, one per application (`create_app` keeps
    it in `app.state`). A request without credentials costs its sender nothing, so beyond 30 a
    minute from one source address a 401 is in the access log only: an anonymous flood cannot
    grow the permanent log at will."""
    return TokenBucket(30, timedelta(minutes=1))


def audit_unauthenticated(pars: Pars, request: Request, reason: str) -> None:
    """Record a 401 as `access:unauthenticated` (actor `anonymous`; `details.route` the route
    template, `details.reason` `no credentials` or `refused`): controlled values only, never
    the token or the path. Bounded per source address (`unauthenticated_audits`)."""
    bucket: TokenBucket = request.app.state.unauthenticated_audits
    if bucket.take(source_address(request), pars.clock.now()):
        return
    pars.audit_now(
        AuditEntry(
            "anonymous",
            "access:unauthenticated",
            "denied",
            details={"route": route_template(request), "reason": reason},
        )
    )


def pars_of(request: Request) -> Pars:
    """What `get_pars` gives, for code that has the request: read without a dependency of its
    own, whose resolution by FastAPI (its cache key included) costs more than the look-up."""
    pars: Pars = request.app.state.pars
    return pars


async def _caller(request: Request) -> Principal:
    pars = pars_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        await run_in_threadpool(audit_unauthenticated, pars, request, "no credentials")
        raise Unauthenticated("send 'Authorization: Bearer <token>'; get one at /api/v1/auth/token")
    # A token seen in the last seconds is answered here, on SQLite without a worker thread
    # (one read that never waits); a hand-off cost more CPU than the whole check. Anything
    # else, a refusal included, is answered by `authenticate` in a worker thread.
    who = authenticate_at_once(pars, token)
    if who is not None:
        return who
    return await run_in_threadpool(_authenticate, pars, request, token)


def _authenticate(pars: Pars, request: Request, token: str) -> Principal:
    try:
        return authenticate(pars, token)
    except Unauthenticated:
        audit_unauthenticated(pars, request, "refused")
        raise


Caller = Annotated[Principal, Depends(_caller)]
_RECORD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def record_subject(request: Request) -> str | None:
    """The record a refusal is about, for its audit entry: the first path parameter that is
    an id PARS issues. Anything else in a path is what was typed, and stays off the log."""
    for value in request.path_params.values():
        if isinstance(value, str) and _RECORD_ID.match(value):
            return value
    return None


def may(step: Step) -> Any:
    """`Depends` on the caller, refused (403, audited) unless its role may take `step`:
    `who: Annotated[Principal, may(Step.READ)]`."""

    roles = STEP_ROLES[step]

    async def guard(request: Request, who: Caller) -> Principal:
        # An allowed role is decided here, without a worker thread; a refusal writes its
        # audit row, so it goes to one.
        if who.role not in roles:
            pars = pars_of(request)
            await run_in_threadpool(require, pars, who, step, record_subject(request))
        return who

    guard.__name__ = f"may_{step.value}"
    guard.pars_roles = STEP_ROLES[step]  # type: ignore[attr-defined]
    return Depends(guard)


def allowed(roles: frozenset[Role], what: str) -> Any:
    """`Depends` on the caller, refused (403, audited `access:denied` with `what`) unless its
    role is one of `roles`: `who: Annotated[Principal, allowed(READ_ROLES, "read agreements")]`.
    `what` is the words the service's own check uses."""

    async def guard(request: Request, who: Caller) -> Principal:
        if who.role not in roles:
            pars = pars_of(request)
            await run_in_threadpool(require_role, pars, who, roles, what, record_subject(request))
        return who

    guard.__name__ = f"allowed_to_{what.replace(' ', '_')}"
    guard.pars_roles = roles  # type: ignore[attr-defined]
    return Depends(guard)


async def read_json(request: Request, model: type[M], max_bytes: int) -> M:
    """The body validated as `model`. 415 unless JSON, 413 when too large, 400 when not JSON,
    422 (pydantic ValidationError, rendered by the error handler) when a field is wrong."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise BadRequest(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BadRequest(413, "too-large", "Request too large", f"the limit is {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise BadRequest(
                413, "too-large", "Request too large", f"the limit is {max_bytes} bytes"
            )
    try:
        return model.model_validate_json(bytes(body))
    except ValidationError as e:
        whole_body = [err["type"] for err in e.errors() if not err["loc"]]
        if "json_invalid" in whole_body:
            raise BadRequest(
                400, "malformed-json", "Malformed JSON", "the body is not valid JSON"
            ) from None
        if "model_type" in whole_body:
            raise BadRequest(
                400, "malformed-json", "Malformed JSON", "the body must be a JSON object"
            ) from None
        raise
