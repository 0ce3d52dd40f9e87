"""The partner feed: the only HTTP route through which arrest data leaves to partners.
Everything it serves went through `pars.sharing.projection` (at enqueue and again here)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import InvalidInput, Unauthenticated
from pars.services import audit
from pars.services.app import Pars
from pars.services.delivery.feed import Ask, Partner, page_of
from pars.services.delivery.lookup import lookup
from pars.services.input_text import Line100
from pars.services.inputs import Instant, RecordId
from pars.services.lifecycle.attest import attest
from pars.web.api import feed_rounds as rounds
from pars.web.deps import audit_unauthenticated, get_pars
from pars.web.json_response import FastJSONResponse, json_bytes
from pars.web.routing import CheckedRoute

router = APIRouter(prefix="/api/v1/feed", tags=["partner feed"], route_class=CheckedRoute)
PARS = Annotated[Pars, Depends(get_pars)]
_POLL = 0.25  # seconds between looks at the queue while the stream is idle (the fallback)
_KEEPALIVE = 15.0
_MAX_WAIT = 30  # the longest long-poll (`wait`), within common proxies' read timeouts
_LONG_POLL_LOOK = 1.0  # a long-poll looks at the queue at least this often


async def _partner(request: Request, pars: PARS) -> Partner:
    # Async, the key read in a round with the keys of the requests that arrive with this one
    # (`feed_rounds.partner`): a plain `def` would be a worker thread's hand-off and a
    # statement per request.
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip().startswith("parsk_"):
        await run_in_threadpool(audit_unauthenticated, pars, request, "no credentials")
        raise Unauthenticated("send 'Authorization: Bearer <partner API key>'")
    partner = await rounds.partner(pars, key.strip())
    if partner is None:
        await run_in_threadpool(audit_unauthenticated, pars, request, "refused")
        raise Unauthenticated("unknown or revoked partner key")
    return partner


@router.get("", response_model=dict[str, Any])
async def feed(
    pars: PARS,
    partner: Annotated[Partner, Depends(_partner)],
    after: Annotated[str, Query(pattern=r"^\d{1,18}$")] = "0",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    wait: Annotated[
        int,
        Query(
            ge=0,
            le=_MAX_WAIT,
            description="Long-poll: when nothing is queued after the cursor, hold the request "
            f"up to this many seconds (at most {_MAX_WAIT}) and answer as soon as something is.",
        ),
    ] = 0,
) -> Response:
    """Events for the calling partner after the cursor, as CloudEvents 1.0, each holding only
    what its agreement grants. Delivery is at least once: de-duplicate by `id`; pass
    `next_cursor` as `after` to continue. With `wait`, an empty page is answered only once
    that many seconds passed with nothing new."""
    deadline = asyncio.get_running_loop().time() + wait
    woken = False
    while True:
        generation = pars.queue_generation
        ask = Ask(partner, int(after), limit, "feed", woken=woken)
        served, cursor = await rounds.serve(pars, ask)
        page = page_of(served, cursor)
        left = deadline - asyncio.get_running_loop().time()
        if page["items"] or page["next_cursor"] != after or left <= 0:
            # JSON-ready already (the relay stored it as JSON): encoded once, not validated
            # and walked again by FastAPI; ten partners woken together wait for each other's.
            return FastJSONResponse(page)
        # Look again when the relay says so, and at least every _LONG_POLL_LOOK seconds (the
        # fallback for a wake-up missed, e.g. while the listener reconnected).
        woken = await rounds.queue_moved(pars, generation, min(left, _LONG_POLL_LOOK))


lookup_router = APIRouter(prefix="/api/v1/lookup", tags=["partner feed"], route_class=CheckedRoute)
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


@router.get("/stream", response_class=StreamingResponse)
async def stream(
    request: Request,
    pars: PARS,
    partner: Annotated[Partner, Depends(_partner)],
    after: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
    max_events: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> StreamingResponse:
    """The same events as Server-Sent Events, as they arrive. Each SSE `id` is the cursor;
    reconnect with `Last-Event-ID` (or `after`) to resume. `max_events` ends the stream after
    that many events (for batch pulls)."""
    header = request.headers.get("last-event-id", "")
    start = int(header) if header.isdigit() and len(header) <= 18 else int(after or 0)

    async def events() -> AsyncIterator[bytes]:
        cursor, sent, idle, woken = start, 0, 0.0, False
        yield b": connected\n\n"
        while max_events is None or sent < max_events:
            if await request.is_disconnected():
                return
            want = 100 if max_events is None else min(100, max_events - sent)
            # Read before the round: a queueing while it is served is not missed by the wait.
            generation = pars.queue_generation
            before = cursor
            ask = Ask(partner, cursor, want, "sse", woken=woken)
            served, cursor = await rounds.serve(pars, ask)
            woken = False
            for item_cursor, payload in served:
                # The data as the feed's pages write it: compact UTF-8 JSON.
                head = f"id: {item_cursor}\nevent: {payload['type']}\ndata: ".encode()
                yield head + json_bytes(payload) + b"\n\n"
                sent += 1
            if served:
                idle = 0.0
            if len(served) == want or (cursor != before and not served):
                continue  # a full page (more may wait), or only withheld items: look again now
            # Drained: look again when the relay queued something since the round began (in
            # this process, or in another through LISTEN/NOTIFY), or after _POLL.
            started = asyncio.get_running_loop().time()
            woken = await rounds.queue_moved(pars, generation, _POLL)
            idle += asyncio.get_running_loop().time() - started
            if idle >= _KEEPALIVE:
                idle = 0.0
                yield b": keep-alive\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class AttestationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    attested_at: Instant = Field(description="when the partner carried out the recall")
    by: Line100 = Field(description="who on the partner's side attests (name or role)")
    done: Literal["destroyed", "restricted", "replaced"]


@router.post("/recalls/{recall_id}/attestation", status_code=201)
def attestation(
    recall_id: RecordId,
    body: AttestationIn,
    pars: PARS,
    partner: Annotated[Partner, Depends(_partner)],
) -> dict[str, Any]:
    """The partner attests that it destroyed, restricted or replaced its copies as a recall
    notice asked: a `recall:attested` entry on the log. 404 for a recall not sent to it, 409
    if already attested."""
    return attest(pars, partner, recall_id, body.attested_at, body.by, body.done)


@router.get("/receipts/{index}")
def receipt(
    index: Annotated[int, Path(ge=0, le=2**62)],
    pars: PARS,
    partner: Annotated[Partner, Depends(_partner)],
) -> dict[str, Any]:
    """For the partner that received it: the log entry of one of its disclosures (the
    `parslogindex` of a delivered event), the salt of its payload hash, and its inclusion
    proof against the latest checkpoint once one covers it."""
    return audit.receipt(pars, partner["id"], index)
