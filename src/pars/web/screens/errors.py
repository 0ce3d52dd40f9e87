"""Errors on screens: the page (or HTMX fragment) the one error handler renders for them.

`problems.problem()` calls `error_page` for every request that wants HTML. A signed-out
browser is sent to /signin (and back afterwards); an HTMX request gets a fragment that
replaces the page's `#alerts` region, whatever element it targeted, except a poll (a request
the page made by itself, `security.is_automatic`) whose session has ended, the idle lock
included: it answers `HX-Redirect`, so the whole page goes to the sign-in page (which says the
session was locked) instead of keeping the records on screen and polling on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from pars.web.screens.render import is_htmx, page
from pars.web.screens.security import is_automatic

__all__ = ["error_page", "safe_next"]


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in; '/' for anything else (no open redirect)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _page_path(request: Request) -> str:
    """The path of the page an HTMX request came from (`HX-Current-URL`), else its own."""
    current = request.headers.get("hx-current-url")
    path = urlsplit(current).path if current else ""
    return safe_next(path or request.url.path)


def error_page(
    request: Request, status: int, slug: str, title: str, detail: str, extra: dict[str, Any]
) -> Response:
    """The error as a page with the same status, or a redirect to sign in for a 401."""
    if status == 401 and is_htmx(request) and is_automatic(request):
        target = f"/signin?next={quote(_page_path(request))}&done=locked"
        return Response(status_code=401, headers={"HX-Redirect": target})
    if status == 401 and not is_htmx(request):
        target = request.url.path if request.method == "GET" else "/"
        locked = "&done=locked" if is_automatic(request) else ""  # a page reloading itself
        return RedirectResponse(f"/signin?next={quote(safe_next(target))}{locked}", status_code=303)
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
