"""Read-only while a reason holds: PARS answers every read, and refuses every change with 503
(problem details naming the reason, `Retry-After`), except signing in and out. `pars demo` uses
it to serve at once while it builds its history in the background (the build is the database's
only writer of records then); the pages show the same reason (`site_notice`).

A pure ASGI middleware, so that streamed answers (the partner feed's SSE) pass through as they
are.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from pars.web.problems import problem

__all__ = ["ReadOnly"]

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# Signing in and out writes only the staff session (and its audit entry), never a record.
_ALWAYS = ("/signin", "/signout", "/api/v1/auth/token")
RETRY_AFTER_SECONDS = 30


class ReadOnly:
    """Refuse changes while `reason()` returns text; pass everything once it returns None."""

    def __init__(self, app: ASGIApp, reason: Callable[[], str | None]) -> None:
        self.app, self.reason = app, reason

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE:
            path: str = scope["path"]
            why = None if path.startswith(_ALWAYS) else self.reason()
            if why is not None:
                response = problem(
                    Request(scope, receive), 503, "read-only", "Not taking changes yet", why
                )
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
