"""The charging queue (role prosecutor): waiting arrests oldest first against the arraignment
deadline; a decision per charge, or the whole case declined or diverted with a reason; the
criminal complaint previewed and downloaded. The same service handlers as the JSON API
(`services.arrests`, `services.views`, `services.complaint`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.arrest import ArrestState
from pars.domain.charging import CaseOutcome, ChargeAction, Modifier
from pars.domain.errors import FieldError
from pars.domain.grades import Grade
from pars.domain.roles import Role
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.complaint import COMPLAINT_STATES, complaint_preview
from pars.services.inputs import ChargingDecisionIn
from pars.services.views import get_arrest, list_arrests
from pars.store.arrests import ArrestFilter
from pars.web.api.complaint import complaint_pdf_response
from pars.web.deps import get_pars
from pars.web.screens.commands import Refused, run_command
from pars.web.screens.render import page, screen_router
from pars.web.screens.session import role
from pars.web.screens.words import STATE_WORDS, deadline, duration, when

__all__ = ["ArrestId", "complaint_context", "router"]

router = screen_router(prefix="/charging")
PARS = Annotated[Pars, Depends(get_pars)]
Prosecutor = Annotated[Principal, Depends(role(Role.PROSECUTOR))]
ArrestId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
S = ArrestState
WAITING = (S.SUBMITTED, S.IDENTIFIED, S.CHARGING_REVIEW)
ADD_ROWS = 2  # blank "add a charge" rows on the form (submit again to add more)
PAGE_SIZE = 50
_STATE_WORDS = {
    S.SUBMITTED.value: "Submitted",
    S.IDENTIFIED.value: "Identified",
    S.CHARGING_REVIEW.value: "In review",
}
_OUTCOME_WORDS = {"charge": "Charged", "decline": "Declined", "divert": "Diverted"}


def person_name(view: Mapping[str, Any]) -> str:
    p = view.get("person") or {}
    last, first = p.get("last_name"), p.get("first_name")
    if last and first:
        return f"{last}, {first}"
    return str(last or first or "Name not recorded")


def complaint_context(pars: Pars, who: Principal, view: Mapping[str, Any]) -> dict[str, Any]:
    """The complaint preview of an arrest that has one (else None), for `_complaint.html`."""
    if S(view["state"]) not in COMPLAINT_STATES:
        return {"complaint": None}
    return {"complaint": complaint_preview(pars, who, view["id"]).to_dict()}


# -- the queue ---------------------------------------------------------------------------


def _queue_item(pars: Pars, view: dict[str, Any], now: datetime) -> dict[str, Any]:
    arrested = datetime.fromisoformat(view["arrested_at"])
    charging = view.get("charging") or {}
    status = _STATE_WORDS.get(view["state"], view["state"])
    if view["state"] == S.CHARGING_REVIEW and charging.get("review_opened_by"):
        status = f"In review by {charging['review_opened_by']}"
    return {
        "id": view["id"],
        "otn": view["otn"],
        "name": person_name(view),
        "arrested": when(arrested, pars.settings.zone),
        "since": duration(now - arrested),
        "deadline": deadline(arrested, now, pars.settings.arraignment_deadline_hours),
        "charges": view.get("charges") or [],
        "status": status,
        "juvenile": view.get("juvenile"),
    }


def _queue(pars: Pars, who: Principal, cursor: str | None) -> dict[str, Any]:
    f = ArrestFilter(states=tuple(s.value for s in WAITING), oldest_first=True)
    found = list_arrests(pars, who, f, PAGE_SIZE, cursor)
    now = pars.clock.now()
    return {
        "items": [_queue_item(pars, v, now) for v in found["items"]],
        "next_cursor": found["next_cursor"],
        "deadline_hours": pars.settings.arraignment_deadline_hours,
        "first_page": cursor is None,
    }


@router.get("")
async def queue(
    request: Request,
    pars: PARS,
    who: Prosecutor,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    context = await run_in_threadpool(_queue, pars, who, cursor)
    return page(request, "charging/queue.html", context)


# -- one arrest --------------------------------------------------------------------------


def _case(pars: Pars, who: Principal, arrest_id: str) -> dict[str, Any]:
    view = get_arrest(pars, who, arrest_id)
    zone = pars.settings.zone
    now = pars.clock.now()
    arrested = datetime.fromisoformat(view["arrested_at"])
    charging = view.get("charging") or {}
    decided = view["state"] not in {s.value for s in WAITING}
    return {
        "arrest": view,
        "name": person_name(view),
        "arrested": when(arrested, zone),
        "since": duration(now - arrested),
        "deadline": deadline(arrested, now, pars.settings.arraignment_deadline_hours),
        "decided": decided,
        "outcome": _OUTCOME_WORDS.get(charging.get("outcome") or "", ""),
        "decided_at": when(charging.get("decided_at"), zone),
        "may_decide": "decide_charges" in view["allowed_actions"],
        "may_open_review": "open_charging_review" in view["allowed_actions"],
        **complaint_context(pars, who, view),
    }


async def _case_page(
    request: Request,
    pars: Pars,
    who: Principal,
    arrest_id: str,
    status: int = 200,
    **context: Any,
) -> Response:
    base = await run_in_threadpool(_case, pars, who, arrest_id)
    defaults: dict[str, Any] = {
        "grades": [g.value for g in Grade],
        "modifiers": [m.value for m in Modifier],
        "add_rows": list(range(ADD_ROWS)),
        "form": {},
        "field_errors": {},
        "summary": [],
        "form_name": None,
        "done": None,
        "state_words": STATE_WORDS,
    }
    return page(request, "charging/case.html", defaults | base | context, status=status)


@router.get("/{arrest_id}")
async def case(
    request: Request, pars: PARS, who: Prosecutor, arrest_id: ArrestId, done: str = ""
) -> Response:
    return await _case_page(request, pars, who, arrest_id, done=_OUTCOME_WORDS.get(done))


@router.post("/{arrest_id}/review")
async def open_review(pars: PARS, who: Prosecutor, arrest_id: ArrestId) -> Response:
    await run_in_threadpool(svc.open_charging_review, pars, who, arrest_id)
    return RedirectResponse(f"/charging/{arrest_id}", status_code=303)


@router.get("/{arrest_id}/complaint.pdf")
async def complaint(pars: PARS, who: Prosecutor, arrest_id: ArrestId) -> Response:
    return await run_in_threadpool(complaint_pdf_response, pars, who, arrest_id)


# -- the decision form -------------------------------------------------------------------


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _decision_body(
    form: Mapping[str, Any], charge_ids: list[str]
) -> tuple[dict[str, Any], list[str], list[FieldError]]:
    """The API's request body from the form; the form-field prefix of each decision in it (so
    that the service's pointers `/charges/<i>/...` find their field); and errors of the form's
    own (numbers that are not numbers)."""
    errors: list[FieldError] = []
    outcome = _text(form, "outcome") or CaseOutcome.CHARGE.value
    body: dict[str, Any] = {"outcome": outcome}
    prefixes: list[str] = []
    charges: list[dict[str, Any]] = []

    def spec(prefix: str, d: dict[str, Any]) -> None:
        for name in ("statute", "grade", "description", "modifier"):
            value = _text(form, f"{prefix}-{name}")
            if value is not None:
                d[name] = value
        counts = _text(form, f"{prefix}-counts")
        if counts is not None:
            if counts.isdigit() and len(counts) <= 4:
                d["counts"] = int(counts)
            else:
                errors.append(
                    FieldError(f"/charges/{len(charges)}/counts", "enter the counts as a number")
                )

    if outcome == CaseOutcome.CHARGE.value:
        for cid in charge_ids:
            prefix = f"c{cid}"
            d: dict[str, Any] = {"action": _text(form, f"{prefix}-action") or ""}
            if not d["action"]:
                errors.append(
                    FieldError(
                        f"/charges/{len(charges)}/action", "choose approve, amend or withdraw"
                    )
                )
            if cid.isdigit() and len(cid) <= 9:
                d["charge_id"] = int(cid)
            if d["action"] == ChargeAction.AMEND.value:
                spec(prefix, d)
            reason = _text(form, f"{prefix}-reason")
            if reason is not None:
                d["reason"] = reason
            prefixes.append(prefix)
            charges.append(d)
        for n in range(ADD_ROWS):
            prefix = f"add{n}"
            if _text(form, f"{prefix}-statute") is None:
                continue
            d = {"action": ChargeAction.ADD.value}
            spec(prefix, d)
            reason = _text(form, f"{prefix}-reason")
            if reason is not None:
                d["reason"] = reason
            prefixes.append(prefix)
            charges.append(d)
        body["charges"] = charges
    for name in ("reason", "notes"):
        value = _text(form, name)
        if value is not None:
            body[name] = value
    return body, prefixes, errors


_LABELS = {
    "action": "decision",
    "statute": "statute",
    "grade": "grade",
    "counts": "counts",
    "description": "description",
    "modifier": "attempt, conspiracy or solicitation",
    "reason": "reason",
}


def _field_of(pointer: str, prefixes: list[str], form_name: str) -> tuple[str, str]:
    """(form field id, its label in words) for a pointer into the decision body."""
    parts = pointer.strip("/").split("/")
    if parts[0] == "charges" and len(parts) >= 2 and parts[1].isdigit():
        i = int(parts[1])
        if i < len(prefixes):
            prefix = prefixes[i]
            name = parts[2] if len(parts) > 2 else "action"
            name = "action" if name == "charge_id" else name
            what = (
                f"Added charge {int(prefix[3:]) + 1}"
                if prefix.startswith("add")
                else f"Charge {prefix[1:]}"
            )
            return f"{prefix}-{name}", f"{what}, {_LABELS.get(name, name)}"
    if parts[0] == "charges":
        return "charges", "Charges"
    if parts[0] in ("reason", "notes", "outcome"):
        field = f"{form_name}-{parts[0]}"
        return field, {"reason": "Reason", "notes": "Notes", "outcome": "Decision"}[parts[0]]
    return "", ""


@router.post("/{arrest_id}/decision")
async def decide(request: Request, pars: PARS, who: Prosecutor, arrest_id: ArrestId) -> Response:
    form = await request.form()
    charge_ids = [v for v in form.getlist("charge_id") if isinstance(v, str)]
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    form_name = "close" if raw.get("outcome") in ("decline", "divert") else "charge"
    body, prefixes, own = _decision_body(raw, charge_ids)
    errors: list[dict[str, str]] = [{"pointer": e.pointer, "detail": e.detail} for e in own]
    if not errors:
        refused = await run_command(
            ChargingDecisionIn, body, partial(svc.decide_charges, pars, who, arrest_id)
        )
        if isinstance(refused, Refused):
            errors = refused.errors
        else:
            outcome = body["outcome"]
            return RedirectResponse(f"/charging/{arrest_id}?done={outcome}", status_code=303)
    field_errors: dict[str, str] = {}
    summary: list[dict[str, str]] = []
    for err in errors:
        field, label = _field_of(err["pointer"], prefixes, form_name)
        # The service points API callers to the charge search; on this page it is noise.
        detail = err["detail"].split("; look it up with GET")[0]
        field_errors.setdefault(field, detail)
        summary.append({"field": field, "label": label, "detail": detail})
    return await _case_page(
        request,
        pars,
        who,
        arrest_id,
        422,
        form=raw,
        field_errors=field_errors,
        summary=summary,
        form_name=form_name,
    )
