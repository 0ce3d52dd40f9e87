"""Browser-facing security: the session and CSRF cookies and the CSRF check. (The response
headers, the CSP among them, are set for every answer in pars.web.headers.)

The CSRF check is one dependency (`pars.web.screens.session.csrf_protect`, which needs the
session), attached to every screen router by
`screen_router()`; a test walks the application and fails for a state-changing page route
without it. The token is the session's (a per-session secret kept on its row); before sign-in
it is a random value in a cookie that the form repeats (double submit). Forms send it as the
hidden field `csrf_token`, HTMX as the `X-CSRF-Token` header (static/pars.js).

A request the page makes by itself (an HTMX poll, `hx-trigger="every ..."`) is marked with the
header `X-PARS-Refresh: auto`, which only the polling element sends (`hx-headers`, with
`hx-disinherit` so that nothing inside it inherits the header); a page without JavaScript that
reloads itself (`<meta http-equiv="refresh">`) adds `refresh=auto` to its URL instead.
`is_automatic()` tells such requests apart: they do not count as the user's activity (the
idle lock runs on) and their reads are audited only for what they show that is new.
"""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from pars.web.headers import SCREEN_CSP

__all__ = [
    "CSP",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "REFRESH_HEADER",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "anonymous_csrf",
    "cookie_secure",
    "is_automatic",
    "set_cookie",
]

SESSION_COOKIE = "pars_session"
CSRF_COOKIE = "pars_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
REFRESH_HEADER = "x-pars-refresh"
_AUTO = "auto"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# The screens' policy, set on every HTML answer by pars.web.headers.SecurityHeaders.
CSP = SCREEN_CSP


def is_automatic(request: Request) -> bool:
    """Whether the page made this request by itself (a poll or a self-reload), not the user:
    a GET carrying `X-PARS-Refresh: auto` or the query `refresh=auto`. Nothing that changes
    state is ever automatic."""
    if request.method not in ("GET", "HEAD"):
        return False
    marked = request.headers.get(REFRESH_HEADER) == _AUTO
    return marked or request.query_params.get("refresh") == _AUTO


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
