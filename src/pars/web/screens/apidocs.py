"""`/docs`: the API's OpenAPI document in a self-hosted Swagger UI (nothing from a CDN)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from pars.web.routing import CheckedRoute
from pars.web.screens.render import env

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=CheckedRoute)


@router.get("/docs")
def docs() -> HTMLResponse:
    return HTMLResponse(env.get_template("apidocs.html").render())
