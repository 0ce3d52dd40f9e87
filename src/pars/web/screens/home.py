"""`/` (to sign-in or the role's start screen) and `/home`, the jobs the role may open."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from pars.domain.roles import Role
from pars.web.screens.jobs import HOME, jobs_for
from pars.web.screens.render import has_page, page, screen_router
from pars.web.screens.session import Staff, any_session

__all__ = ["router"]

router = screen_router()


@router.get("/")
async def root(request: Request) -> Response:
    """Signed out: the sign-in page. Signed in: the role's start screen, or /home while that
    screen does not exist."""
    session = await any_session(request)
    if session is None or session.stage != "full":
        return RedirectResponse("/signin", status_code=303)
    try:
        target = HOME.get(Role(session.principal.role), "/home")
    except ValueError:
        target = "/home"
    return RedirectResponse(target if has_page(request, target) else "/home", status_code=303)


@router.get("/home")
async def home(request: Request, who: Staff) -> Response:
    jobs = jobs_for(who.role)
    context = {"all_jobs": jobs, "open_paths": {j.path for j in jobs if has_page(request, j.path)}}
    return page(request, "home.html", context)
