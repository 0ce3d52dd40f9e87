"""Account administration screens (role admin): the same service handlers as the CLI/API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import InvalidInput
from pars.domain.roles import Role
from pars.services import accounts_admin as svc
from pars.services.app import Pars, Principal
from pars.web.deps import get_pars
from pars.web.problems import input_errors
from pars.web.screens.render import page, screen_router
from pars.web.screens.session import role

__all__ = ["router"]

router = screen_router(prefix="/admin")
PARS = Annotated[Pars, Depends(get_pars)]
Admin = Annotated[Principal, Depends(role(Role.ADMIN))]
Username = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,60}$")]
_DONE = {
    "disabled": "{} is disabled; their sessions and tokens have ended.",
    "enabled": "{} is enabled again.",
    "unlocked": "{} is unlocked; they can sign in now.",
    "reset": "{}'s second factor is reset; they set up a new one at their next sign-in.",
    "role": "{}'s role is changed; their sessions have ended.",
}


async def _users_page(
    request: Request, pars: Pars, who: Principal, status: int = 200, **context: Any
) -> Response:
    users = await run_in_threadpool(svc.list_users, pars, who)
    base = {
        "users": users,
        "roles": [r.value for r in Role],
        "owners": list(pars.policy.owners),
        "created": None,
        "done": None,
        "message": None,
        "errors": [],
        "form": {"username": "", "role": Role.OFFICER.value, "owner": ""},
    }
    return page(request, "admin/users.html", base | context, status=status)


@router.get("/users")
async def users(
    request: Request, pars: PARS, who: Admin, done: str = "", user: str = ""
) -> Response:
    message = _DONE[done].format(user) if done in _DONE and user else None
    return await _users_page(request, pars, who, done=message)


@router.post("/users")
async def add(
    request: Request,
    pars: PARS,
    who: Admin,
    username: Annotated[str, Form(max_length=100)],
    role_: Annotated[str, Form(alias="role", max_length=40)],
    owner: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    username = username.strip()
    try:
        password = await run_in_threadpool(
            svc.add_with_initial_password, pars, who, username, role_, owner or None
        )
    except InvalidInput as e:
        errors = input_errors(e)
        form = {"username": username, "role": role_, "owner": owner}
        return await _users_page(request, pars, who, 422, errors=errors, form=form)
    created = {"username": username, "password": password}
    return await _users_page(request, pars, who, 201, created=created)


def _back(done: str, username: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users?done={done}&user={quote(username)}", status_code=303)


@router.post("/users/{username}/disable")
async def disable(pars: PARS, who: Admin, username: Username) -> Response:
    await run_in_threadpool(svc.set_disabled, pars, who, username, True)
    return _back("disabled", username)


@router.post("/users/{username}/enable")
async def enable(pars: PARS, who: Admin, username: Username) -> Response:
    await run_in_threadpool(svc.set_disabled, pars, who, username, False)
    return _back("enabled", username)


@router.post("/users/{username}/unlock")
async def unlock(pars: PARS, who: Admin, username: Username) -> Response:
    await run_in_threadpool(svc.unlock, pars, who, username)
    return _back("unlocked", username)


@router.post("/users/{username}/reset-second-factor")
async def reset_second_factor(pars: PARS, who: Admin, username: Username) -> Response:
    await run_in_threadpool(svc.reset_second_factor, pars, who, username)
    return _back("reset", username)


@router.post("/users/{username}/role")
async def change_role(
    pars: PARS, who: Admin, username: Username, role_: Annotated[str, Form(alias="role")]
) -> Response:
    await run_in_threadpool(svc.change_role, pars, who, username, role_)
    return _back("role", username)
