"""Partners, for privacy officers and auditors: who they are and what was delivered, withheld or
dead-lettered to each (metadata only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from pars.services.agreements import READ_ROLES, list_partners, partner_deliveries, quarantined
from pars.services.app import Pars, Principal
from pars.services.lifecycle.attest import partner_recalls
from pars.web.deps import allowed, get_pars
from pars.web.routing import CheckedRoute

router = APIRouter(prefix="/api/v1/partners", tags=["agreements"], route_class=CheckedRoute)
PARS = Annotated[Pars, Depends(get_pars)]
Partners = Annotated[Principal, allowed(READ_ROLES, "read partners")]
Deliveries = Annotated[Principal, allowed(READ_ROLES, "read deliveries")]
Recalls = Annotated[Principal, allowed(READ_ROLES, "read recalls")]
Quarantine = Annotated[Principal, allowed(READ_ROLES, "read quarantined deliveries")]


@router.get("")
def partners(who: Partners, pars: PARS) -> dict[str, Any]:
    return {"items": list_partners(pars, who)}


@router.get("/{partner_id}/deliveries")
def deliveries(
    partner_id: str,
    who: Deliveries,
    pars: PARS,
    status: Literal["queued", "delivered", "withheld", "dead", "stopped", "quarantined"]
    | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Deliveries to one partner, oldest first: `dead` lists the dead letters, `stopped` the
    items whose retries stopped when the agreement did (sent once, so not withheld),
    `quarantined` those a transport could not process."""
    return {"items": partner_deliveries(pars, who, partner_id, status, limit)}


@router.get("/recalls")
def recalls_all(who: Recalls, pars: PARS) -> dict[str, Any]:
    """Every recall notice, oldest first: sent, acknowledged, attested or overdue."""
    return {"items": partner_recalls(pars, who, None)}


@router.get("/{partner_id}/recalls")
def recalls(partner_id: str, who: Recalls, pars: PARS) -> dict[str, Any]:
    """One partner's recall notices, oldest first, each with its state."""
    return {"items": partner_recalls(pars, who, partner_id)}


@router.get("/quarantine")
def quarantine_all(
    who: Quarantine, pars: PARS, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict[str, Any]:
    """Everything the relay and the transports set aside, newest first, so that the rest
    could flow: which event, which agreement, at which stage, and the error's class."""
    return {"items": quarantined(pars, who, None, limit)}


@router.get("/{partner_id}/quarantine")
def quarantine(
    partner_id: str, who: Quarantine, pars: PARS, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict[str, Any]:
    """What was set aside for one partner, newest first."""
    return {"items": quarantined(pars, who, partner_id, limit)}
