"""Booking (officer, supervisor): the whole arrest report on one screen.

The report is the API's `ArrestIn` body (`booking_form` reads the fields into it), created as
a draft by `services.arrests.create_arrest` (as `POST /api/v1/arrests`), changed by
`services.arrests.correct` (as `POST /arrests/{id}/corrections`, which takes drafts) with only
the parts that changed, and sent by `services.arrests.submit` (as `POST /arrests/{id}/submit`).
Charge suggestions come from the catalogue the API searches (`GET /api/v1/charges`), identity
candidates from `services.identity.match_person` (`POST /api/v1/persons/match`).

Picking a candidate fills the person block's identifiers (state ID, FBI number, local person
ID) from that person record, and the description and contact details the officer left empty
(sex, race, ethnicity, address, phone, height, weight, eyes, hair, middle name, suffix) from the
person's newest arrest the officer may read (`booking_records.prefill`, audited as a read), to be
checked with the arrestee; a supervisor, who may identify, also links the draft to it
(`services.arrests.identify`, as `POST /arrests/{id}/identification`).

Without JavaScript every part works by posting the form (Save draft, Find matching person
records, Add a charge, a suggestion's button); HTMX saves on each change, shows suggestions
and candidates as the officer types.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from pars.domain.arrest import ArrestState
from pars.domain.errors import Conflict, InvalidInput, NotFound
from pars.domain.roles import Role
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.views import get_arrest, list_arrests
from pars.store.arrests import ArrestFilter
from pars.web.deps import get_pars
from pars.web.problems import pointer
from pars.web.screens import booking_form as bf
from pars.web.screens import booking_records as records
from pars.web.screens.custody import person_name
from pars.web.screens.render import is_htmx, page, screen_router
from pars.web.screens.session import role
from pars.web.screens.words import day, when

__all__ = ["router"]

router = screen_router(prefix="/booking")
PARS = Annotated[Pars, Depends(get_pars)]
Booker = Annotated[Principal, Depends(role(Role.OFFICER, Role.SUPERVISOR))]
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
ArrestId = Annotated[str, Path(pattern=_UUID)]
Group = Annotated[str, Path(pattern=r"^(charges|victims|witnesses)$")]
Row = Annotated[int, Path(ge=0, le=49)]
ARREST_TYPES = {"on_view": "On view", "warrant": "Warrant", "summons": "Summons"}
SEXES = {"M": "Male", "F": "Female", "X": "X", "U": "Unknown"}
RACES = {
    "W": "White",
    "B": "Black or African American",
    "I": "American Indian or Alaska Native",
    "A": "Asian",
    "P": "Native Hawaiian or Other Pacific Islander",
    "U": "Unknown",
}
ETHNICITIES = {"H": "Hispanic or Latino", "N": "Not Hispanic or Latino", "U": "Unknown"}
GRADES = ("F1", "F2", "F3", "M1", "M2", "M3", "S", "H1", "H2", "H3")
MODIFIERS = {"attempt": "Attempt", "conspiracy": "Conspiracy", "solicitation": "Solicitation"}
# -- the list of the officer's reports ------------------------------------------------------


def _row(pars: Pars, v: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": v["id"],
        "otn": v["otn"],
        "name": person_name(v),
        "arrested": when(v.get("arrested_at"), pars.settings.zone),
        "charges": len(v.get("charges") or ()),
        "state": v["state"].replace("_", " "),
        "draft": v["state"] == ArrestState.DRAFT.value,
    }


def _mine(pars: Pars, who: Principal) -> dict[str, Any]:
    drafts = list_arrests(pars, who, ArrestFilter(states=("draft",)), 50, None)["items"]
    sent = list_arrests(pars, who, ArrestFilter(created_by=who.username), 20, None)["items"]
    return {
        "drafts": [_row(pars, v) for v in drafts if v.get("created_by") == who.username],
        "recent": [_row(pars, v) for v in sent if v["state"] != ArrestState.DRAFT.value],
    }


@router.get("")
async def mine(request: Request, pars: PARS, who: Booker) -> Response:
    return page(request, "booking/list.html", await run_in_threadpool(_mine, pars, who))


# -- the form --------------------------------------------------------------------------------


def _last_report(pars: Pars, who: Principal) -> dict[str, Any] | None:
    found = list_arrests(pars, who, ArrestFilter(created_by=who.username), 1, None)["items"]
    return found[0] if found else None


def _context(pars: Pars, form: dict[str, str], **extra: Any) -> dict[str, Any]:
    s = pars.settings
    return {
        "form": form,
        "field_errors": {},
        "labels": bf.LABELS,
        "label": bf.label,
        "charge_rows": bf.rows(form, "charges"),
        "victim_rows": bf.rows(form, "victims"),
        "witness_rows": bf.rows(form, "witnesses"),
        "arrest_types": ARREST_TYPES,
        "sexes": SEXES,
        "races": RACES,
        "ethnicities": ETHNICITIES,
        "grades": GRADES,
        "modifiers": MODIFIERS,
        "collect_place_of_birth": s.collect_place_of_birth,
        "collect_citizenship": s.collect_citizenship,
        "arrest_id": "",
        "otn": "",
        "candidates": None,
        "pick": None,
        "suggestions": {},
        "saved": False,
        "slots": bf.slot_names(form, _hidden(pars)),
        "missing": [],
        "at": "",
        **extra,
    }


def _hidden(pars: Pars) -> tuple[str, ...]:
    s = pars.settings
    return tuple(
        name
        for name, on in (
            ("person.place_of_birth", s.collect_place_of_birth),
            ("person.citizenship", s.collect_citizenship),
        )
        if not on
    )


@router.get("/new")
async def new(request: Request, pars: PARS, who: Booker) -> Response:
    last = await run_in_threadpool(_last_report, pars, who)
    form = bf.new_form(pars.settings.zone, pars.clock.now(), last)
    return page(request, "booking/form.html", _context(pars, form))


def _draft(pars: Pars, who: Principal, arrest_id: str) -> dict[str, Any]:
    view = get_arrest(pars, who, arrest_id)
    form = bf.form_of_view(view, pars.settings.zone)
    return {"view": view, "form": form, "pick": records.pick(pars, who, form.get("person_id", ""))}


@router.get("/{arrest_id}")
async def draft(
    request: Request, pars: PARS, who: Booker, arrest_id: ArrestId, saved: str = ""
) -> Response:
    found = await run_in_threadpool(_draft, pars, who, arrest_id)
    view = found["view"]
    if view["state"] != ArrestState.DRAFT.value:
        return RedirectResponse(f"/booking/{arrest_id}/done", status_code=303)
    ctx = _context(
        pars,
        found["form"],
        arrest_id=arrest_id,
        otn=view["otn"],
        pick=found["pick"],
        saved=saved == "1",
    )
    return page(request, "booking/form.html", ctx)


def _form_fields(raw: FormData) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in raw.multi_items():
        if not isinstance(value, str) or key in ("csrf_token", "action") or len(key) > 60:
            continue
        multi_line = key in ("narrative", "person.aliases", "person.scars_marks_tattoos")
        out[key] = value.strip("\r\n") if multi_line else value.strip()
    return out


def _apply_action(pars: Pars, who: Principal, action: str, form: dict[str, str]) -> None:
    """The no-JavaScript buttons: pick a candidate, pick a charge suggestion."""
    kind, _, rest = action.partition(":")
    if kind == "pick":
        if rest == "none":
            form.pop("person_id", None)
            return
        pick = records.pick(pars, who, rest)
        if pick is None:
            return
        form["person_id"] = pick["id"]
        for k, v in pick["ids"].items():
            if v:
                form[f"person.{k}"] = v
        for k, v in records.prefill(pars, who, pick["id"])["fields"].items():
            if not form.get(k):
                form[k] = v
    elif kind == "charge":
        i, _, key = rest.partition(":")
        offense = pars.catalogue.get(key)
        if offense is not None and i.isdigit():
            form[f"charges.{i}.statute"] = str(offense.citation)
            form[f"charges.{i}.grade"] = offense.default_grade.value
            form.setdefault(f"charges.{i}.counts", "1")


def _unknown_statutes(pars: Pars, form: dict[str, str], errors: dict[str, str]) -> dict[int, Any]:
    """Suggestions under each charge the catalogue did not know (the no-JavaScript path)."""
    out: dict[int, Any] = {}
    for name in errors:
        if name.startswith("charges.") and name.endswith(".statute"):
            i = int(name.split(".")[1])
            words = form.get(name, "")
            if words:
                out[i] = records.suggest(pars, words)
    return out


@router.post("/save")
async def save(request: Request, pars: PARS, who: Booker) -> Response:
    raw = await request.form()
    form = _form_fields(raw)
    action = str(raw.get("action") or "save")[:120]
    arrest_id = form.pop("arrest_id", "")
    if arrest_id and not _is_id(arrest_id):
        raise NotFound("no such report")
    helper = action.startswith(("pick:", "charge:", "add:")) or action == "match"
    if helper:
        await run_in_threadpool(_apply_action, pars, who, action, form)
    parsed = bf.parse(form, pars.settings.zone)
    errors, message, otn = parsed.errors, None, ""
    if parsed.data is not None:
        try:
            arrest_id, otn = await run_in_threadpool(
                records.store, pars, who, arrest_id, parsed.data, form.get("person_id", "")
            )
        except InvalidInput as e:
            errors = bf.errors_of(list(e.errors), parsed.origin)
        except ValidationError as e:  # a correction the patch model refuses
            errors = _patch_errors(e)
        except Conflict as e:
            message = f"Not saved: {e}."
    saved = not errors and message is None
    if is_htmx(request):
        shown = {k: v for k, v in errors.items() if k not in parsed.missing}
        ctx = _context(
            pars,
            form,
            field_errors=shown,
            missing=[bf.label(m) for m in parsed.missing],
            saved=saved,
            arrest_id=arrest_id,
            at=when(pars.clock.now(), pars.settings.zone, weekday=False),
            message=message,
        )
        headers = {"HX-Replace-Url": f"/booking/{arrest_id}"} if saved and arrest_id else None
        return page(request, "booking/form.html", ctx, block="autosave", headers=headers)
    if saved and action == "review":
        return RedirectResponse(f"/booking/{arrest_id}/review", status_code=303)
    if saved and not helper:
        return RedirectResponse(f"/booking/{arrest_id}?saved=1", status_code=303)
    if helper:  # the form again, with the row, candidates or choice asked for
        errors = {k: v for k, v in errors.items() if k not in parsed.missing}
    extra = await run_in_threadpool(_helper_context, pars, who, action, form)
    ctx = _context(
        pars,
        form,
        field_errors=errors,
        message=message,
        arrest_id=arrest_id if saved or arrest_id else "",
        otn=otn,
        saved=saved,
        suggestions=_unknown_statutes(pars, form, errors),
        **extra,
    )
    if action == "add:charges":
        ctx["charge_rows"] += 1
    elif action == "add:victims":
        ctx["victim_rows"] += 1
    elif action == "add:witnesses":
        ctx["witness_rows"] += 1
    status = 200 if saved or helper else (409 if message else 422)
    return page(request, "booking/form.html", ctx, status=status)


def _patch_errors(e: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in e.errors(include_input=False, include_url=False):
        name = bf.field_of(pointer(err["loc"]))
        out.setdefault(name, bf.plain(name, str(err["msg"]), err["type"]))
    if "charges" in out:  # a correction cannot take every charge away
        out["charges"] = "A saved draft keeps at least one charge: add the right one first"
    return out


def _helper_context(pars: Pars, who: Principal, action: str, form: dict[str, str]) -> Any:
    out: dict[str, Any] = {"pick": records.pick(pars, who, form.get("person_id", ""))}
    if action == "match":
        out["candidates"] = records.candidates(pars, who, form)
    return out


def _is_id(value: str) -> bool:
    return re.fullmatch(_UUID[1:-1], value) is not None


# -- HTMX fragments: charge suggestions, a new row, identity candidates ----------------------


@router.get("/charges/{i}")
async def suggestions(request: Request, pars: PARS, who: Booker, i: Row) -> Response:
    words = (request.query_params.get(f"charges.{i}.statute") or "").strip()
    items = records.suggest(pars, words) if words else []
    ctx = {"i": i, "items": items, "words": words}
    return page(request, "booking/_suggestions.html", ctx, block="suggestions")


@router.get("/row/{group}/{i}")
async def new_row(request: Request, pars: PARS, who: Booker, group: Group, i: Row) -> Response:
    form = {f"charges.{i}.counts": "1"} if group == "charges" else {}
    ctx = _context(pars, form, group=group, i=i)
    return page(request, "booking/_rows.html", ctx, block="row")


@router.post("/candidates")
async def candidates(request: Request, pars: PARS, who: Booker) -> Response:
    form = _form_fields(await request.form())
    found = await run_in_threadpool(records.candidates, pars, who, form)
    pick = form.get("person_id", "")
    return page(
        request,
        "booking/_candidates.html",
        {"candidates": found, "form": {"person_id": pick}},
        block="candidates",
    )


@router.get("/prefill/{person_id}")
async def prefill(pars: PARS, who: Booker, person_id: Annotated[str, Path(max_length=36)]) -> Any:
    """What picking this person fills in where the form is empty (booking.js asks after a
    pick): the description and contact details of the person's newest readable arrest."""
    found = await run_in_threadpool(records.prefill, pars, who, person_id)
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


# -- review, submit, the OTN -----------------------------------------------------------------


def _summary(pars: Pars, who: Principal, arrest_id: str) -> dict[str, Any]:
    view = get_arrest(pars, who, arrest_id)
    person = view.get("person") or {}
    pick = (view.get("identification") or {}).get("person_id")
    return {
        "arrest": view,
        "person": person,
        "name": person_name(view),
        "born": day(person["date_of_birth"]) if person.get("date_of_birth") else "",
        "arrested": when(view.get("arrested_at"), pars.settings.zone),
        "submitted": when(view.get("submitted_at"), pars.settings.zone),
        "arrest_type": ARREST_TYPES.get(view.get("arrest_type") or "", ""),
        "sex": SEXES.get(person.get("sex") or "", ""),
        "race": RACES.get(person.get("race") or "", ""),
        "ethnicity": ETHNICITIES.get(person.get("ethnicity") or "", ""),
        "modifiers": MODIFIERS,
        "pick": records.pick(pars, who, pick) if pick else None,
        "draft": view["state"] == ArrestState.DRAFT.value,
        "may_submit": "submit" in view["allowed_actions"],
    }


@router.get("/{arrest_id}/review")
async def review(request: Request, pars: PARS, who: Booker, arrest_id: ArrestId) -> Response:
    ctx = await run_in_threadpool(_summary, pars, who, arrest_id)
    if not ctx["draft"]:
        return RedirectResponse(f"/booking/{arrest_id}/done", status_code=303)
    return page(request, "booking/review.html", ctx | {"message": None, "errors": []})


@router.post("/{arrest_id}/submit")
async def submit(request: Request, pars: PARS, who: Booker, arrest_id: ArrestId) -> Response:
    try:
        await run_in_threadpool(svc.submit, pars, who, arrest_id)
    except InvalidInput as e:
        ctx = await run_in_threadpool(_summary, pars, who, arrest_id)
        errors = [{"detail": bf.plain(bf.field_of(f.pointer), f.detail)} for f in e.errors]
        ctx |= {"message": "The report was not sent.", "errors": errors}
        return page(request, "booking/review.html", ctx, status=422)
    return RedirectResponse(f"/booking/{arrest_id}/done", status_code=303)


@router.get("/{arrest_id}/done")
async def done(request: Request, pars: PARS, who: Booker, arrest_id: ArrestId) -> Response:
    ctx = await run_in_threadpool(_summary, pars, who, arrest_id)
    if ctx["draft"]:
        return RedirectResponse(f"/booking/{arrest_id}/review", status_code=303)
    return page(request, "booking/done.html", ctx)
