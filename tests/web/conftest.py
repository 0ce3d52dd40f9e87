"""Every answer the web tests get is checked against the OpenAPI document.

Every app built in this test session (`create_app`, whoever calls it) is wrapped in a
recorder that notes (route template, method, status) of each response. When the session's
web tests are done, each recorded status must be listed for its operation in `/openapi.json`
(a status of a method the path has no operation for must be 405). A route that answers a
status its operation does not document fails the session (an error at the last test's
teardown, naming the triples).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pars.web import app as web_app

SEEN: set[tuple[str, str, int]] = set()
APPS: list[Any] = []


class _Recorder:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route is not None and status:
                SEEN.add((route, scope["method"], status[0]))


_build = web_app._App.build_middleware_stack


def _recording(self: Any) -> ASGIApp:
    if not APPS:
        APPS.append(self)
    return _Recorder(_build(self))


web_app._App.build_middleware_stack = _recording  # type: ignore[method-assign]


def undocumented(doc: dict[str, Any], seen: set[tuple[str, str, int]]) -> list[str]:
    """The recorded (route, method, status) triples `doc` does not list."""
    out = []
    for route, method, status in sorted(seen):
        if status == 500:
            # An internal error is a defect, never an answer to document: the tests that cause
            # one on purpose (the 500 problem's own test) check it, and the fuzz test fails on it.
            continue
        operations = doc["paths"].get(route)
        if operations is None:
            continue  # a screen or page, outside the API document
        op = operations.get("get" if method == "HEAD" else method.lower())
        if op is None:
            if status != 405:
                out.append(f"{method} {route} -> {status} (no such operation; expected 405)")
            continue
        if str(status) not in op.get("responses", {}):
            out.append(f"{method} {route} -> {status}")
    return out


@pytest.fixture(scope="session", autouse=True)
def documented_statuses() -> Iterator[None]:
    """At the end of the session: every status seen is documented for its operation."""
    yield
    if not APPS or not SEEN:
        return
    missing = undocumented(APPS[0].openapi(), SEEN)
    assert not missing, "statuses answered but not in /openapi.json:\n" + "\n".join(missing)
