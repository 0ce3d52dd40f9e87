"""Errors on screens: the page (or HTMX fragment) the one error handler renders for them.

`problems.problem()` calls `error_page` for every request that wants HTML. A signed-out
browser is sent to /signin (and back afterwards); an HTMX request gets a fragment that
replaces the page's `#alerts` region, whatever element it targeted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from pars.web.screens.render import is_htmx, page

__all__ = ["error_page", "safe_next"]


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in; '/' for anything else (no open redirect)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def error_page(
    request: Request, status: int, slug: str, title: str, detail: str, extra: dict[str, Any]
) -> Response:
    """The error as a page with the same status, or a redirect to sign in for a 401."""
    if status == 401 and not is_htmx(request):
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/signin?next={quote(safe_next(target))}", status_code=303)
    headers = {"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"} if is_htmx(request) else None
    context = {
        "status": status,
        "slug": slug,
        "title": title,
        "detail": detail,
        "errors": extra.get("errors", []),
    }
    response = page(request, "error.html", context, status=status, headers=headers)
    if "Retry-After" in extra:
        response.headers["Retry-After"] = str(extra["Retry-After"])
    return response
