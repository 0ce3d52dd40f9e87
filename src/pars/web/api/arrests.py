"""Arrest routes: creation, every workflow step, reads, versions and the filtered list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pars.domain.arrest import Arrest, ArrestState, Custody
from pars.domain.errors import InvalidInput
from pars.domain.roles import Step
from pars.services import arrests as svc
from pars.services import inputs as i
from pars.services.app import Pars, Principal
from pars.services.inputs import Instant
from pars.services.views import get_arrest, get_version, list_arrests, list_versions, render
from pars.store.arrests import ArrestFilter
from pars.web.api import body, command_route
from pars.web.deps import get_pars, may, pars_of, read_json
from pars.web.json_response import FastJSONResponse
from pars.web.routing import CheckedRoute

router = APIRouter(prefix="/api/v1/arrests", tags=["arrests"], route_class=CheckedRoute)
PARS = Annotated[Pars, Depends(get_pars)]
M = TypeVar("M", bound=BaseModel)
Reader = Annotated[Principal, may(Step.READ)]
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@router.post("", status_code=201, response_model=dict[str, Any], openapi_extra=body(i.ArrestIn))
async def create(
    request: Request,
    who: Annotated[Principal, may(Step.CREATE)],
    submit: Annotated[bool, Query(description="create and submit in one call")] = False,
) -> Response:
    """Create an arrest report as a draft, or created and submitted with `?submit=true`."""
    pars = pars_of(request)  # not a dependency: the hottest route
    data = await read_json(request, i.ArrestIn, pars.settings.max_body_bytes)
    arrest = await _threaded(svc.create_arrest, pars, who, data, submit)
    # The view is JSON-ready (strings, numbers, lists): encoded once, here, instead of being
    # validated against `dict[str, Any]` and walked by FastAPI's jsonable_encoder first.
    return FastJSONResponse(
        render(arrest, who),
        status_code=201,
        headers={"Location": f"/api/v1/arrests/{arrest.id}"},
    )


async def _threaded(fn: Callable[..., Arrest], *args: Any) -> Arrest:
    return await run_in_threadpool(fn, *args)


def _step(
    path: str, step: Step, model: type[M] | None, handler: Callable[..., Arrest], summary: str
) -> None:
    command_route(router, "arrest_id", path, model, handler, summary, render, may(step))


S = Step
_step("submit", S.SUBMIT, None, svc.submit, "Submit a draft (save and send)")
_step("identification", S.IDENTIFY, i.IdentificationIn, svc.identify, "Link to a person record")
_step(
    "pretrial",
    S.RECORD_PRETRIAL,
    i.PretrialIn,
    svc.record_pretrial,
    "Record pretrial's interview: address check and release recommendation",
)
_step(
    "charging-review",
    S.OPEN_CHARGING_REVIEW,
    None,
    svc.open_charging_review,
    "Open the charging review",
)
_step(
    "charging-decision",
    S.DECIDE_CHARGES,
    i.ChargingDecisionIn,
    svc.decide_charges,
    "Charge (approve/amend/withdraw/add each charge), decline or divert",
)
_step(
    "summons-release",
    S.RELEASE_FOR_SUMMONS,
    i.SummonsReleaseIn,
    svc.release_for_summons,
    "Release without arraignment, to proceed by summons",
)
_step(
    "arraignment-session",
    S.SCHEDULE_ARRAIGNMENT,
    i.ScheduleIn,
    svc.schedule_arraignment,
    "Place on an arraignment session",
)
_step(
    "arraignment",
    S.ARRAIGN,
    i.ArraignmentIn,
    svc.arraign,
    "Record the preliminary arraignment and bail",
)
_step("custody", S.CHANGE_CUSTODY, i.CustodyIn, svc.change_custody, "Change custody status")
_step("corrections", S.CORRECT, i.CorrectionIn, svc.correct, "Correct the record (a new version)")
_step("seal", S.SEAL, i.CourtOrderIn, svc.seal, "Seal by court order")
_step(
    "expunge",
    S.EXPUNGE,
    i.CourtOrderIn,
    svc.expunge,
    "Expunge by court order: destroys personal data",
)


@router.get("")
def list_(
    who: Reader,
    pars: PARS,
    state: Annotated[list[ArrestState] | None, Query()] = None,
    district: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{1,10}$")] = None,
    custody: Custody | None = None,
    arrested_from: Instant | None = None,
    arrested_to: Instant | None = None,
    name: Annotated[
        str | None,
        Query(pattern=r"^[^\x00-\x1f\x7f]{1,120}$", description="'Last' or 'Last, First'"),
    ] = None,
    otn: Annotated[str | None, Query(pattern=r"^[A-Z]\d{6}-\d$")] = None,
    docket: Annotated[str | None, Query(pattern=r"^[A-Z]{2}-\d{2}-[A-Z]{2}-\d{7}-\d{4}$")] = None,
    person_id: Annotated[str | None, Query(pattern=_UUID)] = None,
    order: Literal["newest", "oldest"] = "newest",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Arrests matching every filter given, newest arrest first (or oldest, for a queue)."""
    last, first = None, None
    if name:
        last, _, first_part = name.partition(",")
        last, first = last.strip() or None, first_part.strip() or None
    if arrested_from and arrested_to and arrested_to <= arrested_from:
        raise InvalidInput.one("/arrested_to", "must be after arrested_from")
    f = ArrestFilter(
        states=tuple(s.value for s in state or ()),
        district=district,
        custody=custody.value if custody else None,
        arrested_from=arrested_from,
        arrested_to=arrested_to,
        last_name=last,
        first_name=first,
        otn=otn,
        docket_number=docket,
        person_id=person_id,
        oldest_first=order == "oldest",
    )
    return list_arrests(pars, who, f, limit, cursor)


@router.get("/{arrest_id}")
def read(arrest_id: str, who: Reader, pars: PARS) -> dict[str, Any]:
    return get_arrest(pars, who, arrest_id)


@router.get("/{arrest_id}/versions")
def versions(arrest_id: str, who: Reader, pars: PARS) -> dict[str, Any]:
    return {"items": list_versions(pars, who, arrest_id)}


@router.get("/{arrest_id}/versions/{version}")
def version(
    arrest_id: str, version: Annotated[int, Path(ge=1, le=1_000_000_000)], who: Reader, pars: PARS
) -> dict[str, Any]:
    return get_version(pars, who, arrest_id, version)
