"""Sign-in (password, then a TOTP code or a recovery code), enrolment, sign-out."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import RateLimited, Unauthenticated
from pars.services import staff_sessions as ss
from pars.services.app import Pars
from pars.web.deps import get_pars, source_address
from pars.web.screens.errors import safe_next
from pars.web.screens.render import page, screen_router
from pars.web.screens.security import SESSION_COOKIE, set_cookie
from pars.web.screens.session import ALL_STAGES, any_session, session_at

__all__ = ["router"]

router = screen_router()
PARS = Annotated[Pars, Depends(get_pars)]
_NOTICES = {
    "signed-out": "You are signed out.",
    "everywhere": "You are signed out everywhere: every session of yours has ended.",
    "locked": "Your session has ended (it locks after a time without use). Sign in again.",
}


def _to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _with_session(request: Request, response: Response, s: ss.StaffSession, pars: Pars) -> None:
    assert s.cookie is not None
    minutes = pars.settings.token_ttl_minutes if s.stage == ss.FULL else 10
    set_cookie(response, request, SESSION_COOKIE, s.cookie, max_age=minutes * 60)


def _after_password(s: ss.StaffSession, nxt: str) -> str:
    if s.stage == ss.PASSWORD:
        return f"/signin/code?next={nxt}"
    if s.stage == ss.ENROL:
        return f"/signin/enrol?next={nxt}"
    return nxt


@router.get("/signin")
async def signin_form(request: Request, next: str = "/", done: str = "") -> Response:
    session = await any_session(request)
    if session is not None and session.stage == ss.FULL:
        return _to(safe_next(next))
    context = {"next": safe_next(next), "username": "", "notice": _NOTICES.get(done)}
    return page(request, "signin/password.html", context)


@router.post("/signin")
async def signin(
    request: Request,
    pars: PARS,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    nxt = safe_next(next)
    try:
        s = await run_in_threadpool(
            ss.sign_in, pars, username.strip(), password, source_address(request)
        )
    except (Unauthenticated, RateLimited) as e:
        context = {"next": nxt, "username": username, "notice": None, "message": str(e)}
        if isinstance(e, RateLimited):
            throttled = page(request, "signin/password.html", context, status=429)
            throttled.headers["Retry-After"] = str(e.retry_after)
            return throttled
        return page(request, "signin/password.html", context, status=401)
    response = _to(_after_password(s, nxt))
    _with_session(request, response, s, pars)
    return response


@router.get("/signin/code")
async def code_form(
    request: Request,
    session: Annotated[ss.StaffSession, Depends(session_at(ss.PASSWORD))],
    next: str = "/",
) -> Response:
    return page(request, "signin/code.html", {"next": safe_next(next)})


@router.post("/signin/code")
async def code(
    request: Request,
    pars: PARS,
    session: Annotated[ss.StaffSession, Depends(session_at(ss.PASSWORD))],
    code: Annotated[str, Form(max_length=40)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    nxt = safe_next(next)
    try:
        full = await run_in_threadpool(ss.verify_second_factor, pars, session, code)
    except Unauthenticated as e:
        context = {"next": nxt, "message": str(e)}
        return page(request, "signin/code.html", context, status=401)
    response = _to(nxt)
    _with_session(request, response, full, pars)
    return response


def _qr(uri: str) -> str:
    """The otpauth URI as a QR code in a data: URL (an image, not a script)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


@router.get("/signin/enrol")
async def enrol_form(
    request: Request,
    pars: PARS,
    session: Annotated[ss.StaffSession, Depends(session_at(ss.ENROL))],
) -> Response:
    enrolment = await run_in_threadpool(ss.begin_enrolment, pars, session)
    return page(request, "signin/enrol.html", _enrol_context(enrolment))


def _enrol_context(enrolment: ss.Enrolment) -> dict[str, str]:
    key = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
    return {"qr": _qr(enrolment.uri), "key": key}


@router.post("/signin/enrol")
async def enrol(
    request: Request,
    pars: PARS,
    session: Annotated[ss.StaffSession, Depends(session_at(ss.ENROL))],
    code: Annotated[str, Form(max_length=40)],
    next: str = "/",
) -> Response:
    try:
        full, codes = await run_in_threadpool(ss.confirm_enrolment, pars, session, code)
    except Unauthenticated as e:
        enrolment = await run_in_threadpool(ss.begin_enrolment, pars, session)
        context = _enrol_context(enrolment) | {"message": str(e)}
        return page(request, "signin/enrol.html", context, status=401)
    request.state.staff_session = full  # the page's forms carry the new session's token
    response = page(request, "signin/recovery.html", {"codes": codes, "next": safe_next(next)})
    _with_session(request, response, full, pars)
    return response


@router.post("/signout")
async def signout(
    request: Request,
    pars: PARS,
    session: Annotated[ss.StaffSession, Depends(session_at(*ALL_STAGES))],
) -> Response:
    await run_in_threadpool(ss.sign_out, pars, session)
    response = _to("/signin?done=signed-out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/signout/everywhere")
async def signout_everywhere(
    request: Request,
    pars: PARS,
    session: Annotated[ss.StaffSession, Depends(session_at(ss.FULL))],
) -> Response:
    await run_in_threadpool(ss.sign_out_everywhere, pars, session)
    response = _to("/signin?done=everywhere")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
