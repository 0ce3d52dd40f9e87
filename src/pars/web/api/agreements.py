"""Data-sharing agreements: everything a privacy officer does, and what owners approve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from pars.services import agreements as svc
from pars.services.agreements import MANAGE_ROLES, READ_ROLES
from pars.services.app import Pars, Principal
from pars.services.inputs import AgreementIn, ApprovalIn, RenewalIn
from pars.web.api import body, command_route
from pars.web.deps import Caller, allowed, get_pars, read_json, record_subject
from pars.web.routing import CheckedRoute

router = APIRouter(prefix="/api/v1/agreements", tags=["agreements"], route_class=CheckedRoute)
PARS = Annotated[Pars, Depends(get_pars)]
Reader = Annotated[Principal, allowed(READ_ROLES, "read agreements")]


def _owner(what: str) -> Any:
    """`Depends` on a privacy officer who speaks for an owner (403, audited, otherwise)."""

    def guard(request: Request, who: Caller, pars: PARS) -> Principal:
        svc.require_owner(pars, who, what, record_subject(request))
        return who

    guard.pars_roles = MANAGE_ROLES  # type: ignore[attr-defined]
    return Depends(guard)


@router.post("", status_code=201, openapi_extra=body(AgreementIn))
async def create(
    request: Request,
    who: Annotated[Principal, allowed(MANAGE_ROLES, "create agreements")],
    pars: PARS,
) -> dict[str, Any]:
    """Draft an agreement. It is checked against the jurisdiction policy now and at every
    delivery."""
    data = await read_json(request, AgreementIn, pars.settings.max_body_bytes)
    result: dict[str, Any] = await run_in_threadpool(svc.create_agreement, pars, who, data)
    return result


@router.get("")
def list_(who: Reader, pars: PARS) -> dict[str, Any]:
    """Every version of every agreement, oldest first."""
    return {"items": svc.list_agreements(pars, who)}


@router.get("/{agreement_id}")
def read(agreement_id: str, who: Reader, pars: PARS) -> dict[str, Any]:
    return svc.get_agreement(pars, who, agreement_id)


@router.get("/{agreement_id}/versions/{version}")
def read_version(
    agreement_id: str,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    who: Reader,
    pars: PARS,
) -> dict[str, Any]:
    return svc.get_agreement(pars, who, agreement_id, version)


def _action(
    path: str, handler: Callable[..., dict[str, Any]], model: Any, summary: str, guard: Any
) -> None:
    command_route(
        router, "agreement_id", path, model, handler, summary, lambda result, _: result, guard
    )


_action(
    "submit",
    svc.submit,
    None,
    "Submit for the owners' approval",
    allowed(MANAGE_ROLES, "submit agreements"),
)
_action(
    "approve",
    svc.approve,
    ApprovalIn,
    "Approve as one owner (quorum activates it)",
    _owner("approve agreements"),
)
_action(
    "suspend", svc.suspend, None, "Suspend at once (any one owner)", _owner("suspend agreements")
)
_action("revoke", svc.revoke, None, "Revoke at once (any one owner)", _owner("revoke agreements"))
_action(
    "renew",
    svc.renew,
    RenewalIn,
    "Draft the next version with a new term",
    allowed(MANAGE_ROLES, "renew agreements"),
)
