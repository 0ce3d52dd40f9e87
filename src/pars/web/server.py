"""The HTTP server `pars serve` runs: uvicorn, with limits against slow and piling-up clients.

uvicorn times out an idle keep-alive connection and caps concurrency, but it has no timeout for
reading a request's headers: a client sending one header byte at a time, or a connection that
sends nothing at all, stays open for ever. `GuardedH11Protocol` adds that timeout: a connection
whose request line and headers are not all in within `serve_header_timeout_seconds` of its
opening (or of the previous answer on a keep-alive connection) is closed. The request body and
the answer are not timed here (a partner's SSE stream stays open); the reverse proxy in front
times out slow bodies (see docs/deployment.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from pars import heap
from pars.config import Settings

__all__ = ["GuardedH11Protocol", "guarded_protocol", "run"]


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose headers take too long."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        # A request whose headers are in has started its cycle; the clock stops until its
        # answer is complete, and starts again for the next request on the connection.
        if self._header_timer is not None and self.conn.their_state is not h11.IDLE:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()


def guarded_protocol(header_timeout: float) -> type[GuardedH11Protocol]:
    """The protocol class with this header timeout (uvicorn instantiates it per connection)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"header_timeout": header_timeout})


def run(app: Any, settings: Settings, host: str, port: int) -> None:
    """Serve `app` with the settings' timeouts and limits until interrupted."""
    heap.settle()  # what startup built stays: keep it out of the collector's full passes
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=guarded_protocol(settings.serve_header_timeout_seconds),
        timeout_keep_alive=settings.serve_keep_alive_seconds,
        limit_concurrency=settings.serve_limit_concurrency,
        h11_max_incomplete_event_size=settings.serve_max_header_bytes,
        log_level=settings.log_level,
        access_log=False,  # the app logs each request itself, without query strings
        log_config=None,  # uvicorn's loggers go through pars.logs: no raw tracebacks
    )
