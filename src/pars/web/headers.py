"""The response headers every answer carries, set in one place (`SecurityHeaders`).

It wraps the whole application, outside Starlette's ServerErrorMiddleware, so that the 500
answer, the 404 of an unknown path and every other error get the same headers as a page.

- `Cache-Control: no-store` unless the response chose its own (only the public transparency
  report does) or it is a static file: no copy of personal data in a browser's or a shared
  cache, nor behind a shared station's back button. A request that carries credentials (a
  bearer token, a partner key or the screens' session cookie) gets `no-store` whatever the
  route chose: what a signed-in user sees may hold their name;
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`;
- a Content-Security-Policy unless the response set its own (the transparency page's is
  stricter): HTML (the screens, their error pages, the Swagger UI at /docs) gets `SCREEN_CSP`,
  which allows scripts, styles, fonts and images from PARS itself and nothing inline; anything
  else (JSON, problem+json, PDF, CSV, event streams) gets `API_CSP`, which allows nothing;
- `Strict-Transport-Security` when the operator says TLS is terminated in front
  (`PARS_TLS_IN_FRONT`).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["API_CSP", "HSTS", "SCREEN_CSP", "SecurityHeaders"]

# No inline script or style anywhere; data: images for the QR code and Swagger UI's icons;
# connect-src for HTMX and for Swagger UI's fetch of /openapi.json.
SCREEN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
# A JSON answer is never a document to render: nothing may load, nothing may frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000"

_ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
_UNLESS_SET = {
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}
# Static files (style sheets, scripts, icons) hold no data and may be cached.
_CACHEABLE_PREFIX = "/static/"
_SESSION_COOKIE = b"pars_session="  # pars.web.screens.security.SESSION_COOKIE


def _carries_credentials(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return True
        if name == b"cookie" and _SESSION_COOKIE in value:
            return True
    return False


class SecurityHeaders:
    """Plain ASGI: adds the headers above to the start of every HTTP response."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(_CACHEABLE_PREFIX)
        signed_in = _carries_credentials(scope)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS.items():
                    headers[name] = value
                for name, value in _UNLESS_SET.items():
                    if name not in headers:
                        headers[name] = value
                if "content-security-policy" not in headers:
                    html = headers.get("content-type", "").startswith("text/html")
                    headers["content-security-policy"] = SCREEN_CSP if html else API_CSP
                if signed_in or ("cache-control" not in headers and not cacheable):
                    headers["cache-control"] = "no-store"
                if self.hsts:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, sending)
