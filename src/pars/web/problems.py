"""One place that turns errors into RFC 9457 problem details (`application/problem+json`), or,
for the staff screens and other pages, into an HTML error page or HTMX fragment."""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pars.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    InvalidParameter,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from pars.logs import error_name, safe_traceback
from pars.services.inputs import ADDRESS_FORMS

__all__ = [
    "BadRequest",
    "allowed_methods",
    "input_errors",
    "install",
    "pointer",
    "problem",
    "validation_errors",
    "wants_html",
]

log = structlog.get_logger("pars.web")
PROBLEM_JSON = "application/problem+json"


class BadRequest(Exception):
    """A request the API cannot read at all: wrong content type, too large, not JSON."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail


# Paths that always answer JSON, whatever the Accept header says.
_JSON_ONLY = ("/api/", "/openapi.json", "/healthz", "/readyz", "/metrics")


def wants_html(request: Request) -> bool:
    """Whether an error should be a page (or an HTMX fragment) rather than problem+json: never
    under /api/; otherwise unless the client asks for JSON and not for HTML."""
    if request.url.path.startswith(_JSON_ONLY):
        return False
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept or "json" not in accept


def problem(
    request: Request, status: int, slug: str, title: str, detail: str, **extra: Any
) -> Response:
    """The error as RFC 9457 problem details, or, for a screen, as the error page the screens
    install (`app.state.error_page`) with the same status, title and detail."""
    render = getattr(request.app.state, "error_page", None)
    if render is not None and wants_html(request):
        response: Response = render(request, status, slug, title, detail, extra)
        return response
    # No `instance`: the path can hold what was typed (an SSN where an id belongs), and an
    # error answer echoes no input.
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at this request's path (a 405's `Allow`). Starlette
    names only the first route that matched the path, and one path can have several (the
    checkpoint's GET and POST)."""
    found = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            found.append(method)
    return found


def pointer(loc: tuple[int | str, ...]) -> str:
    """RFC 6901 pointer for a pydantic error location."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def _safe_msg(err: dict[str, Any]) -> str:
    # Never echo the input value: it could be an SSN or a victim's name.
    return str(err.get("msg", "invalid"))


def input_errors(exc: InvalidInput) -> list[dict[str, str]]:
    """A domain refusal's fields as the problem details' `errors`."""
    return [{"pointer": e.pointer, "detail": e.detail} for e in exc.errors]


# Parts of pydantic's error locations that name a validator or a union's branch, not a field.
_NOT_IN_POINTERS = frozenset({"function-after[_single_line()]", *ADDRESS_FORMS})


def _disk_full(orig: object) -> bool:
    """SQLite's SQLITE_FULL (13) or PostgreSQL's disk_full (53100)."""
    return (
        getattr(orig, "sqlite_errorcode", None) == 13 or getattr(orig, "sqlstate", None) == "53100"
    )


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for e in exc.errors(include_input=False, include_url=False):
        loc = tuple(p for p in e["loc"] if p not in _NOT_IN_POINTERS)
        out.append({"pointer": pointer(loc), "detail": _safe_msg(dict(e))})
    return out


_DOMAIN_STATUS: list[tuple[type[DomainError], int, str]] = [
    (InvalidInput, 422, "invalid-input"),
    (InvalidParameter, 422, "invalid-parameter"),
    (IllegalTransition, 409, "illegal-transition"),
    (Conflict, 409, "conflict"),
    (NotFound, 404, "not-found"),
    (Forbidden, 403, "forbidden"),
    (Unauthenticated, 401, "unauthenticated"),
    (RateLimited, 429, "rate-limited"),
]


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        status, slug = next(
            ((st, sl) for cls, st, sl in _DOMAIN_STATUS if isinstance(exc, cls)), (400, "refused")
        )
        extra: dict[str, Any] = {}
        if isinstance(exc, InvalidInput):
            extra["errors"] = input_errors(exc)
        if isinstance(exc, InvalidParameter):
            extra["errors"] = [{"parameter": exc.name, "in": "query", "detail": exc.reason}]
        if isinstance(exc, IllegalTransition):
            extra["current_state"] = exc.current
            extra["allowed_actions"] = exc.allowed
        resp = problem(request, status, slug, exc.title, exc.detail, **extra)
        if isinstance(exc, RateLimited):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest) -> Response:
        return problem(request, exc.status, exc.slug, exc.title, exc.detail)

    @app.exception_handler(ValidationError)
    async def _body(request: Request, exc: ValidationError) -> Response:
        errors = validation_errors(exc)
        return problem(
            request,
            422,
            "invalid-input",
            "Invalid input",
            f"{len(errors)} invalid field(s)",
            errors=errors,
        )

    @app.exception_handler(RequestValidationError)
    async def _params(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for e in exc.errors():
            loc = list(e.get("loc", ()))
            where = loc[0] if loc else "request"
            name = ".".join(str(p) for p in loc[1:])
            errors.append({"parameter": name, "in": where, "detail": _safe_msg(dict(e))})
        return problem(
            request,
            422,
            "invalid-parameter",
            "Invalid parameter",
            f"{len(errors)} invalid parameter(s)",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        resp = problem(request, exc.status_code, slug, str(exc.detail), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            resp.headers[name] = value
        if exc.status_code == 405:
            resp.headers["Allow"] = ", ".join(allowed_methods(request))
        return resp

    async def _db(request: Request, exc: Exception) -> Response:
        # The database is down, restarting, cut off, busy past the timeout, or out of space: the
        # transaction did not commit, so nothing changed. 503 (507 when the disk is full), with
        # Retry-After, never 500, so clients and load balancers retry instead of giving up.
        orig = getattr(exc, "orig", None)
        log.error("database unavailable", error=type(orig or exc).__name__)
        if _disk_full(orig):
            resp = problem(
                request,
                507,
                "insufficient-storage",
                "Insufficient storage",
                "the database is out of space; nothing was saved; retry after space is freed",
            )
            resp.headers["Retry-After"] = "30"
            return resp
        resp = problem(
            request,
            503,
            "unavailable",
            "Service unavailable",
            "the database is busy or unreachable; nothing was saved; retry shortly",
        )
        resp.headers["Retry-After"] = "2"
        return resp

    app.add_exception_handler(sqlalchemy.exc.OperationalError, _db)
    app.add_exception_handler(sqlalchemy.exc.InterfaceError, _db)

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    async def _dbapi(request: Request, exc: sqlalchemy.exc.DBAPIError) -> Response:
        if exc.connection_invalidated:
            return await _db(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The exception text could carry data; log its classes and frames only.
        log.error(
            "unhandled error",
            error=error_name(exc),
            traceback=safe_traceback(exc),
            path=request.url.path,
        )
        return problem(
            request, 500, "internal", "Internal error", "an unexpected error; it has been logged"
        )
