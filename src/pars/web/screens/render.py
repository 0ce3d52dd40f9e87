"""Templates and the one way a screen answers: `page()`.

    return page(request, "admin/users.html", {"users": users})

renders the whole page, or, when the request comes from HTMX (`HX-Request`, not a boosted
navigation), only the template's `content` block (or the block named by `block=`). Every
value is autoescaped. The context always has `principal` (or None), `jobs` (the menu),
`csrf_token`, `csrf_field` (the hidden input, ready to put in a form), `jurisdiction`, `require_mfa`
and `site_notice` (why changes are refused for now, or None).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.routing import Match

import pars
from pars.web.deps import pars_of
from pars.web.routing import CheckedRoute
from pars.web.screens.jobs import jobs_for
from pars.web.screens.security import CSRF_COOKIE, CSRF_FIELD, anonymous_csrf, set_cookie
from pars.web.screens.session import csrf_protect

__all__ = ["TEMPLATES", "env", "has_page", "is_htmx", "page", "render_block", "screen_router"]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt variable is an error, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals["version"] = pars.__version__


def screen_router(**kwargs: Any) -> APIRouter:
    """The router every screen module uses: CSRF checked on every state-changing route, and
    kept out of the OpenAPI document (screens are not API)."""
    return APIRouter(
        dependencies=[Depends(csrf_protect)],
        include_in_schema=False,
        route_class=CheckedRoute,
        **kwargs,
    )


def is_htmx(request: Request) -> bool:
    """An HTMX request that wants a fragment (a boosted link or form wants the whole page)."""
    h = request.headers
    return h.get("hx-request") == "true" and h.get("hx-boosted") != "true"


def _base(request: Request) -> dict[str, Any]:
    app_pars = pars_of(request)
    session = getattr(request.state, "staff_session", None)
    principal = session.principal if session is not None and session.stage == "full" else None
    token = session.csrf_token if session is not None else anonymous_csrf(request)
    notice = getattr(request.app.state, "site_notice", None)
    field = Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)
    return {
        "request": request,
        "principal": principal,
        "jobs": _open_jobs(request, principal.role) if principal else [],
        "csrf_token": token,
        "csrf_field": field,
        "jurisdiction": app_pars.settings.jurisdiction,
        "require_mfa": app_pars.settings.require_mfa,
        "path": request.url.path,
        # Why PARS is not taking changes yet (`pars demo` building its history), or None.
        "site_notice": notice() if notice is not None else None,
        # What `_errors.html` shows, unless the screen passes its own.
        "message": None,
        "errors": [],
    }


def _open_jobs(request: Request, role: str) -> list[Any]:
    """The role's jobs whose screens exist in this application (the menu links only those)."""
    return [j for j in jobs_for(role) if has_page(request, j.path)]


def has_page(request: Request, path: str) -> bool:
    """Whether the application answers GET `path` (so links to screens not yet built are
    not shown). Remembered per application."""
    known: dict[str, bool] = request.app.state.__dict__.setdefault("_screen_paths", {})
    if path not in known:
        scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "headers": []}
        known[path] = any(r.matches(scope)[0] == Match.FULL for r in request.app.routes)
    return known[path]


def render_block(template: str, block: str, context: dict[str, Any]) -> str:
    """One block of a template, rendered alone."""
    tpl = env.get_template(template)
    return "".join(tpl.blocks[block](tpl.new_context(context)))


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    block: str = "content",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The whole page from `template`, or its `block` alone for an HTMX request."""
    ctx = _base(request) | (context or {})
    if is_htmx(request):
        body = render_block(template, block, ctx)
    else:
        body = env.get_template(template).render(ctx)
    response = HTMLResponse(body, status_code=status, headers=headers)
    response.headers["Vary"] = "HX-Request"
    new = getattr(request.state, "new_csrf", None)
    if new:
        set_cookie(response, request, CSRF_COOKIE, new, max_age=12 * 3600)
    return response
