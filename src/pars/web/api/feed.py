"""The partner feed: the only HTTP route through which arrest data leaves to partners.
Everything it serves went through `pars.sharing.projection` (at enqueue and again here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import Unauthenticated
from pars.services.app import Pars
from pars.services.feed import Partner, authenticate_partner, feed_page
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
