"""Person records and identity resolution: matching, the review queue, merge and unmerge."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from pars.services import identity as svc
from pars.services import identity_merge as merges
from pars.services.app import Pars, Principal
from pars.services.identity import MATCH_ROLES, RECORDS_ROLES
from pars.web.api import body
from pars.web.deps import allowed, get_pars, read_json
from pars.web.routing import CheckedRoute

router = APIRouter(prefix="/api/v1/persons", tags=["persons"], route_class=CheckedRoute)
PARS = Annotated[Pars, Depends(get_pars)]
# The services' own words, so that a refusal here is audited as the service would audit it.
Matcher = Annotated[Principal, allowed(MATCH_ROLES, "match persons")]
PersonReader = Annotated[Principal, allowed(MATCH_ROLES, "read person records")]
QueueReader = Annotated[Principal, allowed(RECORDS_ROLES, "read the identity review queue")]
Decider = Annotated[Principal, allowed(RECORDS_ROLES, "decide identity reviews")]
Merger = Annotated[Principal, allowed(RECORDS_ROLES, "merge persons")]
Unmerger = Annotated[Principal, allowed(RECORDS_ROLES, "unmerge persons")]


@router.post("/match", openapi_extra=body(svc.MatchIn))
async def match(request: Request, who: Matcher, pars: PARS) -> dict[str, Any]:
    """Ranked candidate person records for a person block, each with its match probability,
    its tier (auto_link, review, new_person) and a per-field explanation."""
    data = await read_json(request, svc.MatchIn, pars.settings.max_body_bytes)
    result: dict[str, Any] = await run_in_threadpool(svc.match_person, pars, who, data)
    return result


@router.get("/reviews")
def reviews(
    who: QueueReader,
    pars: PARS,
    status: Literal["open", "closed", "all"] = "open",
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The records staff's review queue (open items, oldest first), or all decisions."""
    return merges.list_reviews(pars, who, None if status == "all" else status, after, limit)


@router.post("/reviews/{decision_id}/decision", openapi_extra=body(merges.ReviewIn))
async def decide(decision_id: str, request: Request, who: Decider, pars: PARS) -> dict[str, Any]:
    """Settle a review item: `link` the arrest to its candidate, `merge` a duplicate pair, or
    `reject` the candidate."""
    data = await read_json(request, merges.ReviewIn, pars.settings.max_body_bytes)
    result: dict[str, Any] = await run_in_threadpool(
        merges.decide_review, pars, who, decision_id, data
    )
    return result


@router.post("/merges/{merge_id}/undo")
async def undo(merge_id: str, who: Unmerger, pars: PARS) -> dict[str, Any]:
    """Unmerge: the merged person's records go back to it, exactly as before the merge."""
    result: dict[str, Any] = await run_in_threadpool(merges.unmerge, pars, who, merge_id)
    return result


@router.get("/{person_id}")
def read(person_id: str, who: PersonReader, pars: PARS) -> dict[str, Any]:
    """A person record: identifiers, matching records, merges."""
    return merges.get_person(pars, who, person_id)


@router.post("/{person_id}/merge", openapi_extra=body(merges.MergeIn))
async def merge(person_id: str, request: Request, who: Merger, pars: PARS) -> dict[str, Any]:
    """Merge another person record (`merged_id`) into this one."""
    data = await read_json(request, merges.MergeIn, pars.settings.max_body_bytes)
    result: dict[str, Any] = await run_in_threadpool(
        merges.merge_persons, pars, who, person_id, data
    )
    return result
