"""Transparency: the public report (`/transparency` as HTML, `/api/v1/transparency` as JSON or
CSV; no login, no personal data) and, for privacy officers and auditors, the disclosure history
of one person or one arrest."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from pars.services import transparency as svc
from pars.services.app import Pars, Principal
from pars.web.deps import allowed, get_pars
from pars.web.pages.transparency import CSP, render
from pars.web.routing import CheckedRoute

__all__ = ["page_router", "router"]

router = APIRouter(prefix="/api/v1", tags=["transparency"], route_class=CheckedRoute)
page_router = APIRouter(tags=["transparency"], route_class=CheckedRoute)
PARS = Annotated[Pars, Depends(get_pars)]
Historian = Annotated[Principal, allowed(svc.HISTORY_ROLES, "read disclosure histories")]
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# Public, no personal data: the one kind of answer that may be cached (pars.web.headers).
_PUBLIC_HEADERS = {"Cache-Control": "public, max-age=60"}


def _only(request: Request, allowed: set[str]) -> None:
    """422 naming the first query parameter this route does not take."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise RequestValidationError(
            [{"loc": ("query", unknown[0]), "msg": "unknown parameter", "type": "extra_forbidden"}]
        )


def _wants_csv(accept: str) -> bool:
    """Whether the Accept header prefers text/csv to JSON (JSON wins ties and */*)."""
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best[media.lower()] = max(q, best.get(media.lower(), 0.0))
    csv_q = best.get("text/csv", 0.0)
    return csv_q > 0 and csv_q > max(best.get("application/json", 0.0), best.get("*/*", 0.0))


@page_router.get("/transparency", response_class=HTMLResponse)
async def page(pars: PARS) -> HTMLResponse:
    """The public transparency page: every agreement, disclosure counts with charts, withheld
    counts, the end-of-agreement checks and the signed log checkpoint. No login."""
    report: dict[str, Any] = await run_in_threadpool(svc.report, pars)
    return HTMLResponse(
        render(report, pars.settings.zone),
        headers={**_PUBLIC_HEADERS, "Content-Security-Policy": CSP},
    )


@router.get(
    "/transparency",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
async def transparency(
    request: Request,
    pars: PARS,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
) -> Response:
    """The public transparency report as JSON; `?format=csv` (or `Accept: text/csv`) gives the
    counts table as CSV. No login, no personal data; counts from 1 to 4 read "fewer than 5"."""
    _only(request, {"format"})
    report: dict[str, Any] = await run_in_threadpool(svc.report, pars)
    if format == "csv" or (format is None and _wants_csv(request.headers.get("accept", ""))):
        return Response(
            svc.counts_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                **_PUBLIC_HEADERS,
                "Content-Disposition": 'attachment; filename="pars-disclosures.csv"',
            },
        )
    return JSONResponse(report, headers=_PUBLIC_HEADERS)


async def _history(request: Request, pars: Pars, who: Principal, **subject: str) -> dict[str, Any]:
    _only(request, set())
    result: dict[str, Any] = await run_in_threadpool(
        lambda: svc.disclosure_history(pars, who, **subject)
    )
    return result


@router.get("/persons/{person_id}/disclosures")
async def person_disclosures(
    request: Request,
    who: Historian,
    pars: PARS,
    person_id: Annotated[str, Path(pattern=_UUID)],
) -> dict[str, Any]:
    """Every disclosure of this person's arrests: partner, time, field classes, agreement,
    transport or look-up, and the log leaf. Privacy officers and auditors; audited."""
    return await _history(request, pars, who, person_id=person_id)


@router.get("/arrests/{arrest_id}/disclosures")
async def arrest_disclosures(
    request: Request,
    who: Historian,
    pars: PARS,
    arrest_id: Annotated[str, Path(pattern=_UUID)],
) -> dict[str, Any]:
    """Every disclosure of this arrest, as for a person. Privacy officers and auditors;
    audited."""
    return await _history(request, pars, who, arrest_id=arrest_id)
