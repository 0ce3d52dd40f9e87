"""Browser-facing security: response headers, the session and CSRF cookies, the CSRF check.

The CSRF check is one dependency (`csrf_protect`), attached to every screen router by
`screen_router()`; a test walks the application and fails for a state-changing page route
without it. The token is the session's (a per-session secret kept on its row); before sign-in
it is a random value in a cookie that the form repeats (double submit). Forms send it as the
hidden field `csrf_token`, HTMX as the `X-CSRF-Token` header (static/pars.js).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pars.domain.errors import Forbidden

__all__ = [
    "CSP",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SecurityHeaders",
    "anonymous_csrf",
    "cookie_secure",
    "csrf_protect",
    "set_cookie",
]

SESSION_COOKIE = "pars_session"
CSRF_COOKIE = "pars_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# No inline script or style anywhere; data: images for the QR code and Swagger UI's icons.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Adds the headers above to every response that does not set its own (the public
    transparency page keeps its stricter CSP), and `Cache-Control: no-store` to HTML pages
    without one, so a shared station's back button does not show a signed-out user's pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                html = headers.get("content-type", "").startswith("text/html")
                if html and "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, sending)


def cookie_secure(request: Request) -> bool:
    """Cookies are Secure unless the server is reached over plain http on this machine
    (localhost, 127.0.0.1, ::1), where browsers would not send a Secure cookie back. Behind a
    TLS proxy the browser sees https, so Secure is right there too."""
    return not (request.url.scheme == "http" and request.url.hostname in _LOCAL_HOSTS)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Strict cookie for the whole site (Secure as `cookie_secure`)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
    )


def anonymous_csrf(request: Request) -> str:
    """The pre-sign-in CSRF token: the cookie's, or a new one (which `page()` then sets)."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and len(token) >= 32:
        return token
    new: str = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
    request.state.new_csrf = new
    return new


async def csrf_protect(request: Request) -> None:
    """Refuse (403) a state-changing request whose CSRF token is missing or wrong. Safe
    methods pass. The expected token is the signed-in session's, or else the cookie's."""
    if request.method in _SAFE:
        return
    from pars.web.screens.session import any_session  # late: session imports this module

    given = request.headers.get(CSRF_HEADER)
    if given is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # cached on the request: the route reads it again
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    session = await any_session(request)
    expected = session.csrf_token if session is not None else request.cookies.get(CSRF_COOKIE)
    if not given or not expected or not hmac.compare_digest(given, expected):
        raise Forbidden(
            "the form had expired or did not come from PARS; reload the page and try again"
        )
