"""Who is signed in: dependencies for screen routes.

    @router.get("/charging")
    def charging(request: Request, who: Annotated[Principal, Depends(role(Role.PROSECUTOR))]): ...

`role(*roles)` gives the signed-in Principal, sends anyone signed out to /signin (an HTMX
request gets a 401 fragment instead), and refuses other roles with the 403 page and an audit
row (`page:forbidden`). `Staff` is the same without a role check.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import Forbidden, Unauthenticated
from pars.domain.roles import Role
from pars.services import staff_sessions as ss
from pars.services.app import Pars, Principal
from pars.store.uow import AuditEntry
from pars.web.deps import get_pars, pars_of, record_subject, route_template
from pars.web.screens.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    is_automatic,
)

__all__ = [
    "ALL_STAGES",
    "Staff",
    "StaffSessionDep",
    "any_session",
    "csrf_protect",
    "role",
    "session_at",
]

ALL_STAGES = frozenset({ss.PASSWORD, ss.ENROL, ss.FULL})
_UNSET = object()


async def any_session(request: Request) -> ss.StaffSession | None:
    """The request's session at any stage, or None; read once per request. A request the
    page made by itself (`is_automatic`) does not count as activity: it does not move the
    session's idle deadline, so a screen left open and polling still locks."""
    cached = getattr(request.state, "staff_session", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    pars = pars_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    found: ss.StaffSession | None = None
    if cookie:
        try:
            touch = not is_automatic(request)
            found = await run_in_threadpool(ss.current, pars, cookie, ALL_STAGES, touch)
        except Unauthenticated as e:
            request.state.session_problem = str(e)
    request.state.staff_session = found
    return found


def session_at(
    *stages: str,
) -> Callable[[Request], Coroutine[Any, Any, ss.StaffSession]]:
    """A dependency: the session if it is at one of `stages`; else Unauthenticated (which the
    error handler turns into a redirect to /signin)."""
    wanted = frozenset(stages)

    async def dependency(request: Request) -> ss.StaffSession:
        session = await any_session(request)
        if session is None:
            raise Unauthenticated(getattr(request.state, "session_problem", "sign in to continue"))
        if session.stage not in wanted:
            raise Unauthenticated("finish signing in first")
        return session

    return dependency


StaffSessionDep = Annotated[ss.StaffSession, Depends(session_at(ss.FULL))]


async def _staff(session: StaffSessionDep) -> Principal:
    return session.principal


Staff = Annotated[Principal, Depends(_staff)]


def role(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: the signed-in Principal if their role is one of `roles`; otherwise
    Forbidden, after an audit row `page:forbidden` naming the page's route (its template, never
    the path typed) and the record it is about."""
    allowed = frozenset(roles)

    async def dependency(
        request: Request, who: Staff, pars: Annotated[Pars, Depends(get_pars)]
    ) -> Principal:
        if who.role not in allowed:
            entry = AuditEntry(
                who.username,
                "page:forbidden",
                "denied",
                who.role,
                record_subject(request),
                details={"path": route_template(request)},
            )
            await run_in_threadpool(pars.audit_now, entry)
            raise Forbidden(f"this page is not for the {who.role.replace('_', ' ')} role")
        return who

    return dependency


async def csrf_protect(request: Request) -> None:
    """Refuse (403) a state-changing request whose CSRF token is missing or wrong. Safe
    methods pass. The expected token is the signed-in session's, or else the cookie's."""
    if request.method in SAFE_METHODS:
        return
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
