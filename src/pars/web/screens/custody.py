"""The custody board (roles supervisor and clerk): who is held where, for how long, and what the
custody indicator (the offender status indicator) says, longest held first; release and commit
through the same service handler as `POST /api/v1/arrests/{id}/custody`
(`services.arrests.change_custody`), reading through `services.views` as the API does. The board
refreshes itself every minute; a refresh is not the user's activity (the session still locks
when idle) and is audited only for the people it shows anew (`services.screen_reads`)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.arrest import ArrestState, Custody, CustodyReason
from pars.domain.roles import Role
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.inputs import CustodyIn
from pars.services.screen_reads import shown_keys
from pars.services.views import get_arrest, list_arrests
from pars.store.arrests import ArrestFilter
from pars.web.deps import get_pars
from pars.web.screens.commands import Refused, run_command
from pars.web.screens.render import page, screen_router
from pars.web.screens.security import is_automatic
from pars.web.screens.session import role
from pars.web.screens.shown import shown
from pars.web.screens.words import STATE_WORDS, duration, when

__all__ = ["router"]

router = screen_router(prefix="/custody")
PARS = Annotated[Pars, Depends(get_pars)]
Custodian = Annotated[Principal, Depends(role(Role.SUPERVISOR, Role.CLERK))]
ArrestId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
PAGE_SIZE = 100
S = ArrestState
# Drafts are not sent yet, and sealed or expunged records are closed: none is on the board.
ON_BOARD = tuple(s.value for s in S if s not in (S.DRAFT, S.SEALED, S.EXPUNGED))

BAIL_WORDS = {
    "ror": "released on own recognizance",
    "non_monetary": "non-monetary conditions",
    "unsecured": "unsecured bail",
    "nominal": "nominal bail",
    "monetary": "monetary bail",
}
REASON_WORDS = {
    CustodyReason.ROR: "Released on own recognizance",
    CustodyReason.BAIL_CONDITIONS: "Released on bail conditions",
    CustodyReason.BAIL_POSTED: "Bail posted",
    CustodyReason.BAIL_NOT_POSTED: "Bail not posted",
    CustodyReason.DECLINED: "Charges declined",
    CustodyReason.DIVERTED: "Diverted",
    CustodyReason.SUMMONS: "Released for summons",
    CustodyReason.NO_PROBABLE_CAUSE: "No probable cause found",
    CustodyReason.OTHER: "Other (say why in the note)",
}
_REASON_BY_VALUE = {r.value: w for r, w in REASON_WORDS.items()}
# The reasons offered for each move; the service takes any reason for either.
RELEASE_REASONS = [r.value for r in CustodyReason if r is not CustodyReason.BAIL_NOT_POSTED]
COMMIT_REASONS = [CustodyReason.BAIL_NOT_POSTED.value, CustodyReason.OTHER.value]
_MOVES = {"release": Custody.RELEASED, "commit": Custody.COMMITTED}


def person_name(view: dict[str, Any]) -> str:
    p = view.get("person") or {}
    last, first = p.get("last_name"), p.get("first_name")
    if last and first:
        return f"{last}, {first}"
    return str(last or first or "Name not recorded")


def _money(amount: Any) -> str:
    try:
        return f"${float(amount):,.2f}"
    except (TypeError, ValueError):
        return ""


def authority(view: dict[str, Any]) -> dict[str, str]:
    """The custody indicator in words: `word` ('HOLD', 'RELEASE', or the custody once not
    held) and `basis`, why (from the record's state and bail)."""
    indicator = view.get("custody_indicator")
    state = view["state"]
    bail = (view.get("arraignment") or {}).get("bail") or {}
    if indicator is None:
        return {"word": view["custody"].upper(), "basis": "Not held", "level": "none"}
    if state == S.ARRAIGNED and bail.get("type"):
        basis = f"Arraigned: {BAIL_WORDS.get(bail['type'], bail['type'])}"
        if bail["type"] == "monetary":
            deposit = bail.get("deposit_percent")
            basis += f" {_money(bail.get('amount'))}"
            if deposit:
                basis += f" ({deposit}% deposit)"
            basis += ", not posted"
    else:
        basis = STATE_WORDS.get(state, state)
    return {"word": indicator.upper(), "basis": basis, "level": indicator}


def _row(pars: Pars, view: dict[str, Any], now: datetime) -> dict[str, Any]:
    arrested = datetime.fromisoformat(view["arrested_at"])
    units = view.get("units") or {}
    location = view.get("location") or {}
    held = now - arrested
    return {
        "id": view["id"],
        "otn": view["otn"],
        "name": person_name(view),
        "juvenile": view.get("juvenile"),
        "where": units.get("detaining") or "Detaining unit not recorded",
        "district": location.get("district"),
        "arrested": when(arrested, pars.settings.zone),
        "hours": max(0, int(held.total_seconds() // 3600)),
        "held_for": duration(held),
        "custody": view["custody"],
        "authority": authority(view),
        "state": STATE_WORDS.get(view["state"], view["state"]),
    }


def _board(
    pars: Pars, who: Principal, status: str, cursor: str | None, audit: bool = True
) -> dict[str, Any]:
    f = ArrestFilter(states=ON_BOARD, custody=status, oldest_first=True)
    found = list_arrests(pars, who, f, PAGE_SIZE, cursor, audit=audit)
    now = pars.clock.now()
    return {
        "rows": [_row(pars, v, now) for v in found["items"]],
        "next_cursor": found["next_cursor"],
        "status": status,
        "first_page": cursor is None,
        "now": when(now, pars.settings.zone),
        "shown": shown_keys(found["items"]),
    }


@router.get("")
async def board(
    request: Request,
    pars: PARS,
    who: Custodian,
    status: Annotated[Custody, Query()] = Custody.HELD,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    if status is Custody.RELEASED:
        status = Custody.HELD  # released people are not on the board
    automatic = is_automatic(request)
    context = await run_in_threadpool(_board, pars, who, status.value, cursor, not automatic)
    # The board polls its first page: remember that page's view, audit what a refresh adds.
    if automatic or cursor is None:
        await shown(request, pars, who, f"custody:{status.value}", context["shown"])
    return page(request, "custody/board.html", context)


# -- one person in custody -----------------------------------------------------------------


def _arrest(pars: Pars, who: Principal, arrest_id: str) -> dict[str, Any]:
    view = get_arrest(pars, who, arrest_id)
    zone = pars.settings.zone
    changes = [
        {
            **c,
            "at_words": when(c.get("at"), zone),
            "reason_words": _REASON_BY_VALUE.get(c.get("reason") or "", c.get("reason")),
        }
        for c in view.get("custody_changes") or []
    ]
    may_change = "change_custody" in view["allowed_actions"]
    custody = view["custody"]
    return {
        "arrest": view,
        "row": _row(pars, view, pars.clock.now()),
        "changes": changes,
        "may_release": may_change and custody in (Custody.HELD, Custody.COMMITTED),
        "may_commit": may_change and custody == Custody.HELD,
    }


async def _arrest_page(
    request: Request, pars: Pars, who: Principal, arrest_id: str, status: int = 200, **ctx: Any
) -> Response:
    base = await run_in_threadpool(_arrest, pars, who, arrest_id)
    defaults: dict[str, Any] = {
        "release_reasons": RELEASE_REASONS,
        "commit_reasons": COMMIT_REASONS,
        "reason_words": _REASON_BY_VALUE,
        "form": {},
        "form_name": None,
        "field_errors": {},
        "done": None,
    }
    return page(request, "custody/arrest.html", defaults | base | ctx, status=status)


@router.get("/{arrest_id}")
async def arrest(
    request: Request, pars: PARS, who: Custodian, arrest_id: ArrestId, done: str = ""
) -> Response:
    words = {"release": "Released from custody.", "commit": "Committed to jail."}
    return await _arrest_page(request, pars, who, arrest_id, done=words.get(done))


async def _move(
    request: Request,
    pars: Pars,
    who: Principal,
    arrest_id: str,
    move: str,
    reason: str,
    note: str,
) -> Response:
    body: dict[str, Any] = {"status": _MOVES[move].value, "reason": reason.strip()}
    if note.strip():
        body["note"] = note.strip()
    refused = await run_command(
        CustodyIn,
        body,
        partial(svc.change_custody, pars, who, arrest_id),
        refusal="Custody was not changed",
    )
    if not isinstance(refused, Refused):
        return RedirectResponse(f"/custody/{arrest_id}?done={move}", status_code=303)
    message = refused.message
    fields = {"/reason": "reason", "/note": "note", "/status": "reason"}
    field_errors: dict[str, str] = {}
    for err in refused.errors:
        field_errors.setdefault(fields.get(err["pointer"], "reason"), _plain(err))
    return await _arrest_page(
        request,
        pars,
        who,
        arrest_id,
        409 if message else 422,
        form={"reason": reason, "note": note},
        form_name=move,
        field_errors=field_errors,
        message=message,
    )


def _plain(err: dict[str, str]) -> str:
    """The service's words for a field, or plainer ones where pydantic's are technical."""
    if err["pointer"] == "/reason":
        return "Choose a reason from the list"
    if err["pointer"] == "/note":
        return "Keep the note to one line of at most 300 characters"
    return err["detail"]


@router.post("/{arrest_id}/release")
async def release(
    request: Request,
    pars: PARS,
    who: Custodian,
    arrest_id: ArrestId,
    reason: Annotated[str, Form(max_length=60)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return await _move(request, pars, who, arrest_id, "release", reason, note)


@router.post("/{arrest_id}/commit")
async def commit(
    request: Request,
    pars: PARS,
    who: Custodian,
    arrest_id: ArrestId,
    reason: Annotated[str, Form(max_length=60)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return await _move(request, pars, who, arrest_id, "commit", reason, note)
