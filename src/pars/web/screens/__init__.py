"""The staff screens: server-rendered pages (Jinja2 + HTMX, USWDS), one module per job.

How to add a screen (see docs/screens.md):

    # web/screens/charging.py
    router = screen_router()                       # CSRF checked on every POST, in one place

    @router.get("/charging")
    async def queue(request: Request, who: Annotated[Principal, Depends(role(Role.PROSECUTOR))]):
        items = await run_in_threadpool(service_handler, pars, who)   # the API's handler
        return page(request, "charging/queue.html", {"items": items})

then add the router to `ROUTERS` below and the route to tests/web/test_routes.py.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from pars.web.screens import admin, apidocs, home, signin
from pars.web.screens import agreements as agreements_screen
from pars.web.screens import audit as audit_screen
from pars.web.screens import booking as booking_screen
from pars.web.screens import charging as charging_screen
from pars.web.screens import custody as custody_screen
from pars.web.screens import dashboard as dashboard_screen
from pars.web.screens import docket as docket_screen
from pars.web.screens import identification as identification_screen
from pars.web.screens import pretrial as pretrial_screen
from pars.web.screens.errors import error_page
from pars.web.screens.render import page, screen_router
from pars.web.screens.session import Staff, role, session_at

__all__ = ["ROUTERS", "Staff", "install", "page", "role", "screen_router", "session_at"]

STATIC = Path(__file__).resolve().parents[1] / "static"
ROUTERS = [signin.router, home.router, admin.router, apidocs.router]
ROUTERS.append(custody_screen.router)
ROUTERS.append(agreements_screen.router)
ROUTERS.append(pretrial_screen.router)
ROUTERS.append(identification_screen.router)
ROUTERS.append(charging_screen.router)
ROUTERS.append(dashboard_screen.router)
ROUTERS.append(booking_screen.router)
ROUTERS.append(audit_screen.router)
ROUTERS.append(docket_screen.router)


def install(app: FastAPI) -> None:
    """Mount the static files, add the screens' routes, and make the one error handler render
    pages for them (every answer's headers are set in pars.web.headers)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.state.error_page = error_page
