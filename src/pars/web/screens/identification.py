"""The identification queue (role supervisor, the records staff): the identity review queue,
each item's two records side by side with the matcher's explanation per field, and link / merge
/ reject, and undo of a merge. The same service handlers as the persons API
(`services.identity_merge`: list_reviews, decide_review, get_person, unmerge;
`services.identity.match_person` for the explanation; `services.views.get_arrest`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from pars.domain.roles import Role
from pars.services import identity as matcher
from pars.services import identity_merge as merges
from pars.services.app import Pars, Principal
from pars.services.views import get_arrest
from pars.web.deps import get_pars
from pars.web.screens.render import page, screen_router
from pars.web.screens.session import role
from pars.web.screens.words import day, when

__all__ = ["router"]

router = screen_router(prefix="/identification")
PARS = Annotated[Pars, Depends(get_pars)]
Records = Annotated[Principal, Depends(role(Role.SUPERVISOR))]
DecisionId = Annotated[str, Path(pattern=r"^[0-9]{1,12}$")]
PAGE_SIZE = 50
# The matching fields, in the order shown; (record field, label).
FIELDS = (
    ("last", "Last name"),
    ("first", "First name"),
    ("middle", "Middle name"),
    ("dob", "Date of birth"),
    ("sex", "Sex"),
    ("address", "Address"),
    ("phone", "Phone"),
    ("aliases", "Aliases"),
)
# The person block's fields that the matcher reads (never SSN, place of birth, citizenship).
_QUERY_KEYS = (
    "last_name",
    "first_name",
    "middle_name",
    "date_of_birth",
    "sex",
    "address",
    "phone",
    "aliases",
)
RESOLUTION_WORDS = {"linked": "Linked", "merged": "Merged", "rejected": "Rejected"}
_DONE = {
    "linked": "The arrest is linked to the person record.",
    "merged": "The two person records are merged. You can undo the merge below.",
    "rejected": "The candidate is rejected; the item is off the queue.",
    "unmerged": "The merge is undone: each person record has its own records again.",
}


def _percent(p: Any) -> str:
    try:
        value = float(p) * 100
    except (TypeError, ValueError):
        return ""
    return f"{value:.1f}%" if value < 99.95 else "over 99.9%"


def _name(fields: dict[str, Any]) -> str:
    last, first = fields.get("last"), fields.get("first")
    return ", ".join(str(x) for x in (last, first) if x) or "Name not recorded"


def _shown(fields: dict[str, Any]) -> dict[str, str]:
    """A record's matching fields in words, for the side-by-side table."""
    out: dict[str, str] = {}
    for key, _ in FIELDS:
        value = fields.get(key)
        if key == "aliases":
            value = "; ".join(" ".join(x for x in a if x) for a in value or ()) or None
        elif key == "dob" and value:
            value = day(str(value))
        out[key] = str(value) if value else ""
    return out


def _summary(pars: Pars, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "kind": item["kind"],
        "what": "Arrestee and a person record"
        if item["kind"] == "arrest"
        else "Two person records that may be one person",
        "probability": _percent(item.get("probability")),
        "created": when(item.get("created_at"), pars.settings.zone),
        "status": item["status"],
        "resolution": RESOLUTION_WORDS.get(item.get("resolution") or "", item.get("resolution")),
        "decided_by": item.get("decided_by"),
        "decided": when(item.get("decided_at"), pars.settings.zone),
        "arrest_id": item.get("arrest_id"),
        "person_id": item.get("person_id"),
        "other_person_id": item.get("other_person_id"),
    }


def _queue(pars: Pars, who: Principal, after: int) -> dict[str, Any]:
    found = merges.list_reviews(pars, who, "open", after, PAGE_SIZE)
    return {
        "items": [_summary(pars, i) for i in found["items"]],
        "next_after": found["next_after"],
        "first_page": after == 0,
    }


@router.get("")
async def queue(
    request: Request,
    pars: PARS,
    who: Records,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> Response:
    context = await run_in_threadpool(_queue, pars, who, after)
    return page(request, "identification/queue.html", context)


# -- one review item -----------------------------------------------------------------------


def _item(pars: Pars, who: Principal, decision_id: str) -> dict[str, Any]:
    """The review item, read through the queue's own service (the item with this id)."""
    n = int(decision_id)
    found: list[dict[str, Any]] = merges.list_reviews(pars, who, None, max(n - 1, 0), 1)["items"]
    if not found or found[0]["id"] != n:
        raise NotFound("no such review item")
    return found[0]


def _query(fields: dict[str, Any]) -> dict[str, Any] | None:
    """A match query (the API's person block) from a matching record's fields."""
    person = {
        "last_name": fields.get("last"),
        "first_name": fields.get("first"),
        "middle_name": fields.get("middle"),
        "date_of_birth": fields.get("dob"),
        "sex": fields.get("sex"),
        "address": fields.get("address"),
        "phone": fields.get("phone"),
        "aliases": [
            {"last_name": a[1], "first_name": a[0]} for a in fields.get("aliases") or () if all(a)
        ],
    }
    person = {k: v for k, v in person.items() if v not in (None, [])}
    return person if person.get("last_name") and person.get("first_name") else None


def _explain(
    pars: Pars, who: Principal, query: dict[str, Any] | None, candidate: str
) -> dict[str, Any] | None:
    """The matcher's answer for `candidate` (probability, its best record, the explanation per
    field), through the API's match service; None if it is not among the candidates now."""
    if query is None:
        return None
    try:
        data = matcher.MatchIn.model_validate({"person": query, "limit": 50})
    except ValidationError:
        return None
    result = matcher.match_person(pars, who, data)
    for c in result["candidates"]:
        if c["person_id"] == candidate:
            c["by_field"] = {f["field"]: f for f in c["fields"]}
            c["percent"] = _percent(c["probability"])
            return dict(c)
    return None


def _person(pars: Pars, who: Principal, person_id: str | None) -> dict[str, Any] | None:
    if not person_id:
        return None
    try:
        return merges.get_person(pars, who, person_id)
    except NotFound:
        return None


def _side(title: str, fields: dict[str, Any], person: dict[str, Any] | None) -> dict[str, Any]:
    ids = (
        {k: person.get(k) for k in ("local_person_id", "state_id", "fbi_number")} if person else {}
    )
    return {
        "title": title,
        "name": _name(fields),
        "fields": _shown(fields),
        "ids": {k: v for k, v in ids.items() if v},
        "records": len(person["records"]) if person else 0,
        "merged_into": person.get("merged_into") if person else None,
    }


def _review(pars: Pars, who: Principal, decision_id: str) -> dict[str, Any]:
    item = _item(pars, who, decision_id)
    summary = _summary(pars, item)
    candidate = _person(pars, who, item.get("person_id"))
    left: dict[str, Any] | None = None
    left_fields: dict[str, Any] = {}
    if item["kind"] == "arrest":
        arrest = get_arrest(pars, who, item["arrest_id"])
        person = arrest.get("person") or {}
        left_fields = matcher.record_fields({k: person.get(k) for k in _QUERY_KEYS})
        left = _side("The arrestee", left_fields, None)
        left |= {
            "otn": arrest.get("otn"),
            "arrested": when(arrest.get("arrested_at"), pars.settings.zone),
        }
        other_id = item.get("person_id")
    else:
        first = candidate["records"][0]["fields"] if candidate and candidate["records"] else {}
        left_fields = dict(first)
        left = _side("Person record A", left_fields, candidate)
        other_id = item.get("other_person_id")
    match = _explain(pars, who, _query(left_fields), other_id) if other_id else None
    other = candidate if item["kind"] == "arrest" else _person(pars, who, other_id)
    other_fields: dict[str, Any] = {}
    if match is not None:
        other_fields = match["record"]
    elif other and other["records"]:
        other_fields = other["records"][0]["fields"]
    right = _side(
        "The candidate person record" if item["kind"] == "arrest" else "Person record B",
        other_fields,
        other,
    )
    rows = []
    for key, label in FIELDS:
        f = (match or {}).get("by_field", {}).get(key) if match else None
        rows.append(
            {
                "label": label,
                "left": left["fields"][key],
                "right": right["fields"][key],
                "explained": f,
            }
        )
    # Undo: the merges that this item made (the survivor's, not yet undone).
    undoable = []
    if item.get("resolution") == "merged" and candidate:
        undoable = [
            m
            for m in candidate["merges"]
            if m["merged_id"] == item.get("other_person_id")
            and m["survivor_id"] == item.get("person_id")
            and not m["undone_at"]
        ]
        for m in undoable:
            m["merged_words"] = when(m["merged_at"], pars.settings.zone)
    return {
        "item": summary,
        "left": left,
        "right": right,
        "rows": rows,
        "match": match,
        "undoable": undoable,
    }


async def _review_page(
    request: Request, pars: Pars, who: Principal, decision_id: str, status: int = 200, **ctx: Any
) -> Response:
    base = await run_in_threadpool(_review, pars, who, decision_id)
    defaults: dict[str, Any] = {"done": None, "message": None, "field_error": None}
    return page(request, "identification/review.html", defaults | base | ctx, status=status)


@router.get("/{decision_id}")
async def review(
    request: Request, pars: PARS, who: Records, decision_id: DecisionId, done: str = ""
) -> Response:
    return await _review_page(request, pars, who, decision_id, done=_DONE.get(done))


@router.post("/{decision_id}")
async def decide(request: Request, pars: PARS, who: Records, decision_id: DecisionId) -> Response:
    form = await request.form()
    resolution = form.get("resolution")
    resolution = resolution.strip() if isinstance(resolution, str) else ""
    field_error = None
    message = None
    try:
        data = merges.ReviewIn.model_validate({"resolution": resolution})
        result = await run_in_threadpool(merges.decide_review, pars, who, decision_id, data)
    except ValidationError:
        field_error = "Choose link, merge or reject"
    except InvalidInput as e:
        field_error = "; ".join(f.detail for f in e.errors)
    except (Conflict, IllegalTransition) as e:
        message = f"Nothing was changed: {e}"
    else:
        done = result.get("resolution", "")
        return RedirectResponse(f"/identification/{decision_id}?done={done}", status_code=303)
    return await _review_page(
        request,
        pars,
        who,
        decision_id,
        409 if message else 422,
        field_error=field_error,
        message=message,
    )


@router.post("/{decision_id}/undo/{merge_id}")
async def undo(
    request: Request,
    pars: PARS,
    who: Records,
    decision_id: DecisionId,
    merge_id: Annotated[str, Path(pattern=r"^[0-9]{1,12}$")],
) -> Response:
    try:
        await run_in_threadpool(merges.unmerge, pars, who, merge_id)
    except Conflict as e:
        return await _review_page(
            request, pars, who, decision_id, 409, message=f"Nothing was changed: {e}"
        )
    return RedirectResponse(f"/identification/{decision_id}?done=unmerged", status_code=303)
