"""The partner feed: the only HTTP route through which arrest data leaves to partners.
Everything it serves went through `pars.sharing.projection` (at enqueue and again here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import InvalidInput, Unauthenticated
from pars.services.app import Pars
from pars.services.feed import Partner, authenticate_partner, feed_page
from pars.services.lookup import lookup
from pars.web.deps import get_pars

router = APIRouter(prefix="/api/v1/feed", tags=["partner feed"])
PARS = Annotated[Pars, Depends(get_pars)]


def _partner(request: Request, pars: PARS) -> Partner:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip().startswith("parsk_"):
        raise Unauthenticated("send 'Authorization: Bearer <partner API key>'")
    return authenticate_partner(pars, key.strip())


@router.get("")
async def feed(
    pars: PARS,
    partner: Annotated[Partner, Depends(_partner)],
    after: Annotated[str, Query(pattern=r"^\d{1,18}$")] = "0",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Events for the calling partner after the cursor, as CloudEvents 1.0, each holding only
    what its agreement grants. Delivery is at least once: de-duplicate by `id`; pass
    `next_cursor` as `after` to continue."""
    page: dict[str, Any] = await run_in_threadpool(feed_page, pars, partner, int(after), limit)
    return page


lookup_router = APIRouter(prefix="/api/v1/lookup", tags=["partner feed"])
_ALLOWED_PARAMS = {"otn", "docket", "state_id", "purpose"}


@lookup_router.get("")
async def lookup_route(
    request: Request,
    pars: PARS,
    partner: Annotated[Partner, Depends(_partner)],
    purpose: Annotated[str, Query(pattern=r"^[^\x00-\x1f\x7f]{3,200}$")],
    otn: Annotated[str | None, Query(pattern=r"^[A-Z]\d{6}-\d$")] = None,
    docket: Annotated[str | None, Query(pattern=r"^[A-Z]{2}-\d{2}-[A-Z]{2}-\d{7}-\d{4}$")] = None,
    state_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,20}$")] = None,
) -> dict[str, Any]:
    """One record (or one person's records) by an exact identifier your agreement allows, with
    the purpose of the look-up. Rate-limited (429 with Retry-After); no other search exists."""
    unknown = sorted(set(request.query_params) - _ALLOWED_PARAMS)
    given = [(k, v) for k, v in (("otn", otn), ("docket", docket), ("state_id", state_id)) if v]
    if unknown or len(given) != 1:
        raise InvalidInput.one(
            f"/{unknown[0]}" if unknown else "/",
            "partners look up by exactly one of otn, docket or state_id; no other search exists",
        )
    kind, value = given[0]
    result: dict[str, Any] = await run_in_threadpool(lookup, pars, partner, kind, value, purpose)
    return result
