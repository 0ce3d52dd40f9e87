"""Logon and the caller's own account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from pars.services.app import Pars
from pars.services.auth import login
from pars.services.inputs import LoginIn
from pars.web.api import body
from pars.web.deps import Caller, get_pars, read_json, source_address
from pars.web.routing import CheckedRoute

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=CheckedRoute)


@router.post("/auth/token", openapi_extra=body(LoginIn))
async def token(request: Request, pars: Annotated[Pars, Depends(get_pars)]) -> dict[str, Any]:
    """Exchange a username and password for a bearer token. Five failures in a row lock the
    account for ten minutes (CJIS 5.5.3). Every failure answers the same 401; too many tries
    from one address, or for one username from one address, answer 429 with Retry-After."""
    data = await read_json(request, LoginIn, pars.settings.max_body_bytes)
    tok = await run_in_threadpool(
        login, pars, data.username, data.password, source_address(request)
    )
    return {
        "access_token": tok,
        "token_type": "Bearer",
        "expires_in": pars.settings.token_ttl_minutes * 60,
        "idle_timeout": pars.settings.session_idle_minutes * 60,
    }


@router.get("/me")
def me(who: Caller) -> dict[str, Any]:
    return {"username": who.username, "role": who.role}
