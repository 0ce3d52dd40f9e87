"""Pretrial interviews (role pretrial): the arrests waiting for the arraignment (submitted, not
yet arraigned), and the interview form: is the address verified and how, and the release
recommended, with reasons. Recorded through the same service handler as
`POST /api/v1/arrests/{id}/pretrial` (`services.arrests.record_pretrial`); read through
`services.views` as the API reads."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.arrest import ArrestState
from pars.domain.pretrial import AddressCheck, Reason, Recommendation
from pars.domain.roles import Role
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.inputs import PretrialIn
from pars.services.views import get_arrest, list_arrests
from pars.store.arrests import ArrestFilter
from pars.web.deps import get_pars
from pars.web.screens.commands import Refused, run_command
from pars.web.screens.custody import person_name
from pars.web.screens.render import page, screen_router
from pars.web.screens.session import role
from pars.web.screens.words import day, duration, when

__all__ = ["router"]

router = screen_router(prefix="/pretrial")
PARS = Annotated[Pars, Depends(get_pars)]
PretrialOfficer = Annotated[Principal, Depends(role(Role.PRETRIAL))]
ArrestId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
PAGE_SIZE = 100
S = ArrestState
# The states `record_pretrial` starts from (domain.arrest): submitted, not yet arraigned.
WAITING = (S.SUBMITTED, S.IDENTIFIED, S.CHARGING_REVIEW, S.CHARGED, S.ARRAIGNMENT_SCHEDULED)
STATE_WORDS = {
    "submitted": "Waiting for charging",
    "identified": "Waiting for charging",
    "charging_review": "In charging review",
    "charged": "Charged, waiting for a session",
    "arraignment_scheduled": "On an arraignment session",
}
RECOMMENDATION_WORDS = {
    Recommendation.ROR.value: "Release on own recognizance (ROR)",
    Recommendation.NON_MONETARY.value: "Release on non-monetary conditions",
    Recommendation.UNSECURED.value: "Unsecured bail",
    Recommendation.NOMINAL.value: "Nominal bail",
    Recommendation.MONETARY.value: "Monetary bail",
    Recommendation.NO_RECOMMENDATION.value: "No recommendation",
}
REASON_WORDS = {
    Reason.ADDRESS_VERIFIED.value: "Address verified",
    Reason.ADDRESS_NOT_VERIFIED.value: "Address not verified",
    Reason.COMMUNITY_TIES.value: "Ties to the community",
    Reason.EMPLOYMENT_OR_SCHOOL.value: "Employed or in school",
    Reason.NO_PRIOR_RECORD.value: "No prior record",
    Reason.PRIOR_RECORD.value: "Prior record",
    Reason.PRIOR_FAILURE_TO_APPEAR.value: "Failed to appear before",
    Reason.OPEN_CASE.value: "Another case is open",
    Reason.ON_SUPERVISION.value: "On probation or parole",
    Reason.CHARGE_SERIOUSNESS.value: "Seriousness of the charges",
    Reason.SAFETY_CONCERN.value: "Safety concern",
    Reason.RISK_ASSESSMENT.value: "Risk assessment",
    Reason.INTERVIEW_DECLINED.value: "Declined the interview",
    Reason.OTHER.value: "Other (say what in the note)",
}
METHOD_WORDS = {
    AddressCheck.PHONE.value: "By phone",
    AddressCheck.IN_PERSON.value: "In person",
    AddressCheck.RECORDS.value: "From records",
    AddressCheck.NOT_VERIFIED.value: "Not verified",
}
# Form field for each pointer of the API's body (the service's and pydantic's errors).
FIELDS = {
    "address": "address_verified",
    "address/verified": "address_verified",
    "address/method": "address_method",
    "address/detail": "address_detail",
    "recommendation": "recommendation",
    "reasons": "reasons",
    "note": "note",
}
LABELS = {
    "address_verified": "Address verified",
    "address_method": "How it was verified",
    "address_detail": "Whom you spoke to, or which record",
    "recommendation": "Release recommendation",
    "reasons": "Reasons",
    "note": "Note",
}


def _words(mapping: dict[str, str], value: Any) -> str:
    return mapping.get(str(value), str(value))


def _interview(pars: Pars, view: dict[str, Any]) -> dict[str, Any] | None:
    """The recorded interview, in words, or None."""
    p = view.get("pretrial")
    if not p:
        return None
    address = p.get("address") or {}
    return {
        "verified": bool(address.get("verified")),
        "method": _words(METHOD_WORDS, address.get("method")),
        "detail": address.get("detail"),
        "recommendation": _words(RECOMMENDATION_WORDS, p.get("recommendation")),
        "reasons": [_words(REASON_WORDS, r) for r in p.get("reasons") or ()],
        "note": p.get("note"),
        "recorded_by": p.get("recorded_by"),
        "recorded_at": when(p.get("recorded_at"), pars.settings.zone),
    }


def _session(pars: Pars, view: dict[str, Any]) -> str:
    at = (view.get("arraignment_session") or {}).get("session_at")
    return when(at, pars.settings.zone) if at else ""


def _item(pars: Pars, view: dict[str, Any], now: datetime) -> dict[str, Any]:
    arrested = datetime.fromisoformat(view["arrested_at"])
    return {
        "id": view["id"],
        "otn": view["otn"],
        "name": person_name(view),
        "juvenile": view.get("juvenile"),
        "arrested": when(arrested, pars.settings.zone),
        "since": duration(now - arrested),
        "state": STATE_WORDS.get(view["state"], view["state"]),
        "session": _session(pars, view),
        "interview": _interview(pars, view),
    }


def _queue(pars: Pars, who: Principal, cursor: str | None) -> dict[str, Any]:
    f = ArrestFilter(states=tuple(s.value for s in WAITING), oldest_first=True)
    found = list_arrests(pars, who, f, PAGE_SIZE, cursor)
    now = pars.clock.now()
    items = [_item(pars, v, now) for v in found["items"]]
    return {
        "items": items,
        "waiting": sum(1 for i in items if i["interview"] is None),
        "next_cursor": found["next_cursor"],
        "first_page": cursor is None,
    }


@router.get("")
async def queue(
    request: Request,
    pars: PARS,
    who: PretrialOfficer,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    context = await run_in_threadpool(_queue, pars, who, cursor)
    return page(request, "pretrial/queue.html", context)


# -- one defendant's interview ---------------------------------------------------------------


def _form_of(view: dict[str, Any]) -> dict[str, Any]:
    """The form as the recorded interview fills it (a later interview replaces it), or empty."""
    p = view.get("pretrial")
    if not p:
        return {"reasons": []}
    address = p.get("address") or {}
    return {
        "address_verified": "yes" if address.get("verified") else "no",
        "address_method": address.get("method") if address.get("verified") else "",
        "address_detail": address.get("detail") or "",
        "recommendation": p.get("recommendation") or "",
        "reasons": list(p.get("reasons") or ()),
        "note": p.get("note") or "",
    }


def _case(pars: Pars, who: Principal, arrest_id: str) -> dict[str, Any]:
    view = get_arrest(pars, who, arrest_id)
    person = view.get("person") or {}
    dob = person.get("date_of_birth")
    return {
        "arrest": view,
        "item": _item(pars, view, pars.clock.now()),
        "person": person,
        "born": day(dob) if dob else "",
        "may_record": "record_pretrial" in view["allowed_actions"],
        "recorded_form": _form_of(view),
    }


async def _case_page(
    request: Request, pars: Pars, who: Principal, arrest_id: str, status: int = 200, **ctx: Any
) -> Response:
    base = await run_in_threadpool(_case, pars, who, arrest_id)
    defaults: dict[str, Any] = {
        "recommendations": RECOMMENDATION_WORDS,
        "reasons": REASON_WORDS,
        "methods": {k: v for k, v in METHOD_WORDS.items() if k != AddressCheck.NOT_VERIFIED},
        "form": base["recorded_form"],
        "field_errors": {},
        "labels": LABELS,
        "done": False,
    }
    return page(request, "pretrial/interview.html", defaults | base | ctx, status=status)


@router.get("/{arrest_id}")
async def interview(
    request: Request, pars: PARS, who: PretrialOfficer, arrest_id: ArrestId, done: str = ""
) -> Response:
    return await _case_page(request, pars, who, arrest_id, done=done == "recorded")


def _text(form: dict[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _body(form: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """The API's request body from the form. 'How' is asked only when the address was verified:
    with 'no', a method left chosen (a radio button cannot be unchosen) is not sent."""
    address: dict[str, Any] = {}
    verified = _text(form, "address_verified")
    if verified in ("yes", "no"):
        address["verified"] = verified == "yes"
    elif verified:
        address["verified"] = verified  # neither: the model refuses it, naming the field
    method = _text(form, "address_method")
    if method and verified != "no":
        address["method"] = method
    detail = _text(form, "address_detail")
    if detail:
        address["detail"] = detail
    body: dict[str, Any] = {"address": address, "reasons": reasons}
    recommendation = _text(form, "recommendation")
    if recommendation:
        body["recommendation"] = recommendation
    note = _text(form, "note")
    if note:
        body["note"] = note
    return body


def _plain(field: str, detail: str, body: dict[str, Any]) -> str:
    """The error in the form's words (the service's pointers name the API's fields)."""
    if field == "address_verified":
        return "Say whether the address was verified: yes or no"
    if field == "address_method":
        if body["address"].get("method"):
            return "Choose how the address was verified from the list"
        return "Say how the address was verified"
    if field == "address_detail":
        return "Keep it to one line of at most 300 characters"
    if field == "recommendation":
        return "Choose a release recommendation"
    if field == "reasons":
        if detail == "each reason only once":
            return "Choose each reason only once"
        if not body["reasons"]:
            return "Choose at least one reason"
        return "Choose reasons from the list"
    if field == "note":
        if "required" in detail:
            return "Write a note saying what the other reason is"
        return "Keep the note under 20,000 characters"
    return detail


@router.post("/{arrest_id}")
async def record(
    request: Request, pars: PARS, who: PretrialOfficer, arrest_id: ArrestId
) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str) and k != "reasons"}
    reasons = [v for v in raw.getlist("reasons") if isinstance(v, str)][: len(Reason) + 1]
    body = _body(form, reasons)
    refused = await run_command(
        PretrialIn,
        body,
        partial(svc.record_pretrial, pars, who, arrest_id),
        refusal="The interview was not recorded",
    )
    if not isinstance(refused, Refused):
        return RedirectResponse(f"/pretrial/{arrest_id}?done=recorded", status_code=303)
    message = refused.message
    field_errors: dict[str, str] = {}
    for err in refused.errors:
        parts = err["pointer"].strip("/").split("/")
        key = "/".join(p for p in parts[:2] if not p.isdigit())
        field = FIELDS.get(key, FIELDS.get(parts[0], "recommendation"))
        field_errors.setdefault(field, _plain(field, err["detail"], body))
    return await _case_page(
        request,
        pars,
        who,
        arrest_id,
        409 if message else 422,
        form={**form, "reasons": reasons},
        field_errors=field_errors,
        message=message,
    )
