"""The arraignment docket (roles magistrate, clerk, defender): the sessions' cases, next session
first, each with the defendant, the charges as decided, the time since the arrest against the
arraignment deadline, the complaint and pretrial services' recommendation; the cases charged
and waiting for a session. The clerk and the magistrate place cases on a session
(`services.arrests.schedule_arraignment`, as `POST /api/v1/arrests/{id}/arraignment-session`);
the magistrate records the arraignment (`services.arrests.arraign`, as
`POST /api/v1/arrests/{id}/arraignment`): probable cause, bail, the preliminary hearing date,
and sees the docket number it assigns. Who may do what is the service's policy
(`domain.roles.STEP_ROLES`) and each record's `allowed_actions`. The defender, who only reads,
gets a docket that refreshes itself (HTMX polls `/docket/cases`), so a new client shows as soon
as the case is placed on a session. A poll is not the defender's activity (the session still
locks when idle) and is audited only for the cases it shows anew (`services.screen_reads`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.arrest import ArrestState
from pars.domain.roles import STEP_ROLES, Step
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.complaint import COMPLAINT_STATES
from pars.services.inputs import ArraignmentIn, ScheduleIn
from pars.services.screen_reads import shown_keys
from pars.services.views import get_arrest, list_arrests
from pars.store.arrests import ArrestFilter
from pars.web.api.complaint import complaint_pdf_response
from pars.web.deps import get_pars
from pars.web.screens.agreements_view import local_input
from pars.web.screens.charging import complaint_context, person_name
from pars.web.screens.commands import Refused, run_command
from pars.web.screens.docket_form import (
    BAIL_WORDS,
    NO_BAIL,
    arraignment_body,
    arraignment_errors,
    hearing_window,
    schedule_body,
    schedule_error,
)
from pars.web.screens.jobs import JOBS
from pars.web.screens.pretrial import METHOD_WORDS, REASON_WORDS, RECOMMENDATION_WORDS
from pars.web.screens.render import page, screen_router
from pars.web.screens.security import is_automatic
from pars.web.screens.session import role
from pars.web.screens.shown import shown
from pars.web.screens.words import STATE_WORDS, day, deadline, duration, when

__all__ = ["POLL_SECONDS", "router"]

router = screen_router(prefix="/docket")
PARS = Annotated[Pars, Depends(get_pars)]
_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_UUID = re.compile(_ID)
ArrestId = Annotated[str, Path(pattern=_ID)]
# Who opens the docket (jobs.py), who places cases on a session and who arraigns (the
# service's policy): the routes refuse anyone else before the service would.
_READERS = next(j.roles for j in JOBS if j.path == "/docket")
_SCHEDULERS = STEP_ROLES[Step.SCHEDULE_ARRAIGNMENT]
Reader = Annotated[Principal, Depends(role(*sorted(_READERS)))]
Scheduler = Annotated[Principal, Depends(role(*sorted(_SCHEDULERS & _READERS)))]
Magistrate = Annotated[Principal, Depends(role(*sorted(STEP_ROLES[Step.ARRAIGN] & _READERS)))]

S = ArrestState
PAGE_SIZE = 100
MAX_PAGES = 5  # at most 500 cases of each kind on one page
POLL_SECONDS = 10  # how often the defender's docket asks for new cases
NEW_FOR = timedelta(hours=1)  # a case placed on a session this recently is marked New
_DECISION_WORDS = {"amend": "amended", "add": "added by the prosecutor"}


def _may_schedule(who: Principal) -> bool:
    return who.role in _SCHEDULERS


def _money(value: str | None) -> str:
    if value is None:
        return ""
    try:
        return f"${Decimal(value):,.2f}"
    except InvalidOperation:
        return str(value)


def _ago(span: timedelta) -> str:
    return "less than a minute ago" if span < timedelta(minutes=1) else f"{duration(span)} ago"


def _charges(view: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The charges as decided (withdrawn ones left out, and counted)."""
    charges = view.get("charges") or []
    kept = [
        {
            "id": c["id"],
            "text": f"{c['statute']} {c['description']}",
            "grade": c["grade"],
            "counts": c["counts"],
            "modifier": c.get("modifier"),
            "how": _DECISION_WORDS.get(c.get("decision") or "", ""),
        }
        for c in charges
        if c.get("decision") != "withdraw"
    ]
    return kept, len(charges) - len(kept)


def _recommendation(pars: Pars, view: Mapping[str, Any]) -> dict[str, Any] | None:
    """Pretrial services' recommendation in words (as the pretrial screen reads it), or None."""
    p = view.get("pretrial")
    if not p:
        return None
    address = p.get("address") or {}
    verified = bool(address.get("verified"))
    method = METHOD_WORDS.get(str(address.get("method")), "")
    return {
        "words": RECOMMENDATION_WORDS.get(str(p.get("recommendation")), "No recommendation"),
        "value": p.get("recommendation"),
        "reasons": [REASON_WORDS.get(r, r) for r in p.get("reasons") or ()],
        "address": f"Address verified ({method.lower()})" if verified else "Address not verified",
        "note": p.get("note"),
        "recorded_at": when(p.get("recorded_at"), pars.settings.zone),
    }


def _session_at(view: Mapping[str, Any]) -> datetime | None:
    at = (view.get("arraignment_session") or {}).get("session_at")
    return datetime.fromisoformat(at) if at else None


def _item(pars: Pars, view: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    zone = pars.settings.zone
    arrested = datetime.fromisoformat(view["arrested_at"])
    charges, withdrawn = _charges(view)
    session = view.get("arraignment_session") or {}
    placed = session.get("scheduled_at")
    placed_at = datetime.fromisoformat(placed) if placed else None
    return {
        "id": view["id"],
        "otn": view["otn"],
        "name": person_name(view),
        "juvenile": view.get("juvenile"),
        "arrested": when(arrested, zone),
        "since": duration(now - arrested),
        "deadline": deadline(arrested, now, pars.settings.arraignment_deadline_hours),
        "charges": charges,
        "withdrawn": withdrawn,
        "recommendation": _recommendation(pars, view),
        "has_complaint": S(view["state"]) in COMPLAINT_STATES,
        "session_at": _session_at(view),
        "placed": _ago(now - placed_at) if placed_at else "",
        "new": placed_at is not None and now - placed_at < NEW_FOR,
        "may_schedule": "schedule_arraignment" in view["allowed_actions"],
        "may_arraign": "arraign" in view["allowed_actions"],
    }


def _all(
    pars: Pars, who: Principal, state: ArrestState, audit: bool
) -> tuple[list[dict[str, Any]], bool]:
    """Every readable arrest in `state`, oldest arrest first (at most MAX_PAGES pages), and
    whether there were more; each page's read audited unless `audit` is False."""
    f = ArrestFilter(states=(state.value,), oldest_first=True)
    views: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        found = list_arrests(pars, who, f, PAGE_SIZE, cursor, audit=audit)
        views += found["items"]
        cursor = found["next_cursor"]
        if cursor is None:
            break
    return views, cursor is not None


def _sessions(pars: Pars, items: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The scheduled cases by session, the earliest session first."""
    by_session: dict[datetime, list[dict[str, Any]]] = {}
    for item in items:
        by_session.setdefault(item["session_at"], []).append(item)
    out = []
    for at in sorted(by_session):
        begun = at <= now
        out.append(
            {
                "at": when(at, pars.settings.zone),
                "iso": at.isoformat(),
                "when": f"began {duration(now - at)} ago" if begun else f"in {duration(at - now)}",
                "begun": begun,
                "cases": by_session[at],
                "new": sum(1 for i in by_session[at] if i["new"]),
            }
        )
    return out


def _default_session(sessions: list[dict[str, Any]], now: datetime, pars: Pars) -> str:
    """What the 'place on a session' input offers: the next session not yet begun, else the
    next full hour."""
    for s in sessions:
        if not s["begun"]:
            return local_input(s["iso"], pars.settings.zone)
    hour = now.astimezone(pars.settings.zone).replace(minute=0, second=0, microsecond=0)
    return local_input(hour + timedelta(hours=1), pars.settings.zone)


def _docket(pars: Pars, who: Principal, audit: bool = True) -> dict[str, Any]:
    now = pars.clock.now()
    scheduled, more = _all(pars, who, S.ARRAIGNMENT_SCHEDULED, audit)
    sessions = _sessions(pars, [_item(pars, v, now) for v in scheduled], now)
    waiting: list[dict[str, Any]] = []
    charged: list[dict[str, Any]] = []
    if _may_schedule(who):
        charged, more_charged = _all(pars, who, S.CHARGED, audit)
        waiting = [_item(pars, v, now) for v in charged]
        more = more or more_charged
    return {
        "sessions": sessions,
        "cases": sum(len(s["cases"]) for s in sessions),
        "waiting": waiting,
        "may_schedule": _may_schedule(who),
        "may_arraign": who.role in STEP_ROLES[Step.ARRAIGN],
        "poll": not _may_schedule(who),  # readers only: no form on the page to lose
        "poll_seconds": POLL_SECONDS,
        "default_session": _default_session(sessions, now, pars),
        "deadline_hours": pars.settings.arraignment_deadline_hours,
        "more": more,
        "updated": when(now, pars.settings.zone),
        "shown": shown_keys(scheduled + charged),
    }


async def _read_docket(request: Request, pars: Pars, who: Principal) -> dict[str, Any]:
    """The docket's context. A request the page made by itself reads without auditing and
    then audits the cases it shows anew; a reader's page view (the page that polls) is
    remembered, so that its polls can tell what is new."""
    automatic = is_automatic(request)
    context = await run_in_threadpool(_docket, pars, who, not automatic)
    if automatic or context["poll"]:
        await shown(request, pars, who, "docket", context["shown"])
    return context


async def _docket_page(
    request: Request, pars: Pars, who: Principal, status: int = 200, **ctx: Any
) -> Response:
    context = await _read_docket(request, pars, who)
    defaults: dict[str, Any] = {"field_errors": {}, "form": {}, "placed": None, "message": None}
    return page(request, "docket/index.html", defaults | context | ctx, status=status)


@router.get("")
async def docket(request: Request, pars: PARS, who: Reader, placed: str = "") -> Response:
    words = None
    if _UUID.match(placed):
        view = await run_in_threadpool(get_arrest, pars, who, placed)
        at = _session_at(view)
        if at is not None:
            words = f"{person_name(view)} is on the session of {when(at, pars.settings.zone)}."
    return await _docket_page(request, pars, who, placed=words)


@router.get("/cases")
async def cases(request: Request, pars: PARS, who: Reader) -> Response:
    """The docket's cases alone, for the page to refresh itself (the whole page without HTMX)."""
    context = await _read_docket(request, pars, who)
    defaults: dict[str, Any] = {"field_errors": {}, "form": {}, "placed": None, "message": None}
    return page(request, "docket/index.html", defaults | context, block="cases")


# -- one case -------------------------------------------------------------------------------


def _record(pars: Pars, view: Mapping[str, Any]) -> dict[str, Any] | None:
    """The arraignment as recorded, in words, or None."""
    a = view.get("arraignment")
    if not a:
        return None
    zone = pars.settings.zone
    bail = a.get("bail") or {}
    minutes = a.get("arrest_to_arraignment_minutes")
    return {
        "docket_number": a.get("docket_number"),
        "found": a.get("probable_cause_found"),
        "session": when(a.get("session_at"), zone),
        "magistrate": a.get("magistrate"),
        "defense_counsel": a.get("defense_counsel"),
        "prosecutor": a.get("prosecutor"),
        "bail": BAIL_WORDS.get(bail.get("type") or "", ""),
        "amount": _money(bail.get("amount")),
        "deposit_percent": bail.get("deposit_percent"),
        "deposit_due": _money(bail.get("deposit_due")),
        "conditions": bail.get("conditions") or [],
        "hearing": day(a["preliminary_hearing_date"]) if a.get("preliminary_hearing_date") else "",
        "notes": a.get("notes"),
        "recorded_by": a.get("recorded_by"),
        "waited": duration(timedelta(minutes=minutes)) if minutes is not None else "",
    }


def _case(pars: Pars, who: Principal, arrest_id: str) -> dict[str, Any]:
    view = get_arrest(pars, who, arrest_id)
    now = pars.clock.now()
    item = _item(pars, view, now)
    session_at = item["session_at"]
    # The session the arraignment is recorded for: the scheduled one, else now (the API's
    # default); the hearing window counts from its day.
    window = hearing_window(session_at or now, pars.settings.zone)
    zone = pars.settings.zone
    return {
        "arrest": view,
        "item": item,
        "state": view["state"],
        "result": STATE_WORDS.get(view["state"], view["state"].replace("_", " ")),
        "session": when(session_at, zone) if session_at else "",
        "session_future": session_at is not None and session_at > now,
        "session_input": local_input(session_at, zone) if session_at else "",
        "window": window,
        "record": _record(pars, view),
        **complaint_context(pars, who, view),
    }


async def _case_page(
    request: Request, base: dict[str, Any], status: int = 200, **ctx: Any
) -> Response:
    who_name = base.pop("who_name")
    defaults: dict[str, Any] = {
        "bail_words": BAIL_WORDS,
        "no_bail": NO_BAIL,
        "form": {"magistrate": who_name},
        "field_errors": {},
        "summary": [],
        "message": None,
        "done": "",
        "pdf_url": f"/docket/{base['arrest']['id']}/complaint.pdf",
    }
    return page(request, "docket/case.html", defaults | base | ctx, status=status)


async def _load(pars: Pars, who: Principal, arrest_id: str) -> dict[str, Any]:
    base = await run_in_threadpool(_case, pars, who, arrest_id)
    base["who_name"] = who.username
    return base


@router.get("/{arrest_id}")
async def case(
    request: Request, pars: PARS, who: Reader, arrest_id: ArrestId, done: str = ""
) -> Response:
    base = await _load(pars, who, arrest_id)
    return await _case_page(request, base, done=done if done in ("arraigned", "placed") else "")


@router.get("/{arrest_id}/complaint.pdf")
async def complaint(pars: PARS, who: Reader, arrest_id: ArrestId) -> Response:
    return await run_in_threadpool(complaint_pdf_response, pars, who, arrest_id)


@router.post("/{arrest_id}/session")
async def schedule(request: Request, pars: PARS, who: Scheduler, arrest_id: ArrestId) -> Response:
    form = await request.form()
    raw = form.get("session_at")
    raw = raw if isinstance(raw, str) else ""
    from_case = form.get("from") == "case"
    body, error = schedule_body(raw, pars.settings.zone)
    message = None
    if error is None:
        refused = await run_command(
            ScheduleIn,
            body,
            partial(svc.schedule_arraignment, pars, who, arrest_id),
            refusal="The case was not placed on the session",
        )
        if isinstance(refused, Refused):
            message = refused.message
            if refused.errors:
                error = schedule_error(refused.errors[0]["detail"])
        else:
            if from_case:
                return RedirectResponse(f"/docket/{arrest_id}?done=placed", status_code=303)
            return RedirectResponse(f"/docket?placed={arrest_id}", status_code=303)
    key = f"session-{arrest_id}"
    errors = {key: error} if error else {}
    status = 409 if message else 422
    if from_case:
        base = await _load(pars, who, arrest_id)
        summary = [{"field": key, "label": "Session", "detail": error}] if error else []
        return await _case_page(
            request, base, status, field_errors=errors, summary=summary, message=message
        )
    return await _docket_page(
        request, pars, who, status, field_errors=errors, form={key: raw}, message=message
    )


@router.post("/{arrest_id}/arraignment")
async def arraign(request: Request, pars: PARS, who: Magistrate, arrest_id: ArrestId) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    body = arraignment_body(form)
    refused = await run_command(
        ArraignmentIn,
        body,
        partial(svc.arraign, pars, who, arrest_id),
        refusal="The arraignment was not recorded",
    )
    if not isinstance(refused, Refused):
        return RedirectResponse(f"/docket/{arrest_id}?done=arraigned", status_code=303)
    message = refused.message
    base = await _load(pars, who, arrest_id)
    field_errors, summary = arraignment_errors(refused.errors, body, base["window"])
    return await _case_page(
        request,
        base,
        409 if message else 422,
        form=form,
        field_errors=field_errors,
        summary=summary,
        message=message,
    )
