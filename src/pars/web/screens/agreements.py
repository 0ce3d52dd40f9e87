"""The agreements screens (role privacy officer; those who speak for an owner approve, suspend
and revoke): draft from a form or a YAML document, the field table computed by the projection,
approvals with the quorum shown, suspend, revoke, renew, and each partner's deliveries, withheld
items, dead letters and quarantined items. Every action calls the handler the JSON API calls
(`services.agreements`), with the body the API would validate (`services.inputs`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import Conflict, InvalidInput
from pars.domain.roles import Role
from pars.services import agreements as svc
from pars.services.app import Pars, Principal
from pars.services.inputs import AgreementIn, ApprovalIn, RenewalIn
from pars.sharing.agreements import AgreementState, from_document
from pars.web.deps import get_pars
from pars.web.screens import agreements_view as v
from pars.web.screens.render import page, screen_router
from pars.web.screens.session import role
from pars.web.screens.words import when

__all__ = ["router"]

router = screen_router(prefix="/agreements")
PARS = Annotated[Pars, Depends(get_pars)]
Officer = Annotated[Principal, Depends(role(Role.PRIVACY_OFFICER))]
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
AgreementId = Annotated[str, Path(pattern=_UUID)]
PartnerId = Annotated[str, Path(pattern=_UUID)]
LIMIT = 200
A = AgreementState
STATE_WORDS = {
    "draft": "Draft",
    "pending_approval": "Waiting for the owners' approval",
    "active": "Active",
    "expired": "Expired",
    "suspended": "Suspended",
    "revoked": "Revoked",
}
DONE = {
    "created": "The draft is saved. Submit it when it is ready for the owners.",
    "submitted": "Submitted for the owners' approval.",
    "approved": "Your approval is recorded.",
    "suspended": "Suspended: nothing is sent under it from now on.",
    "revoked": "Revoked: nothing is sent under it from now on, and queued items are withheld.",
    "renewed": "The renewal is a new draft version; it needs the owners' quorum again.",
}
_FORM_KEYS: tuple[str, ...] = ("partner", "purpose", "legal_basis", "fields", "starts_at")
_FORM_KEYS += ("ends_at", "transport", "webhook_url", "per_minute")
_FORM_LISTS = ("event_types", "classes", "identifiers")


def _words(pars: Pars, doc: dict[str, Any]) -> dict[str, Any]:
    zone = pars.settings.zone
    return {
        **doc,
        "state_words": STATE_WORDS.get(doc["effective_state"], doc["effective_state"]),
        "starts_words": when(doc["starts_at"], zone),
        "ends_words": when(doc["ends_at"], zone),
    }


# -- the list and the draft form -------------------------------------------------------------


def _index(pars: Pars, who: Principal) -> dict[str, Any]:
    versions = svc.list_agreements(pars, who)
    newest: dict[str, dict[str, Any]] = {}
    for doc in versions:  # oldest first: the last one seen is the newest
        newest[doc["id"]] = _words(pars, doc)
    return {
        "agreements": sorted(
            newest.values(), key=lambda d: (d["partner_name"] or "", d["ends_at"])
        ),
        "partners": svc.list_partners(pars, who),
        "quorum": pars.policy.quorum,
    }


@router.get("")
async def index(request: Request, pars: PARS, who: Officer) -> Response:
    context = await run_in_threadpool(_index, pars, who)
    return page(request, "agreements/index.html", context)


def _empty_form() -> dict[str, Any]:
    return {k: "" for k in _FORM_KEYS} | {k: [] for k in _FORM_LISTS} | {"transport": "feed"}


async def _new_page(
    request: Request, pars: Pars, who: Principal, status: int = 200, **ctx: Any
) -> Response:
    partners = await run_in_threadpool(svc.list_partners, pars, who)
    base: dict[str, Any] = {
        "partners": partners,
        "event_choices": [(t, v.event_words(t)) for t in v.EVENT_CHOICES],
        "class_choices": [(c, v.CLASS_WORDS[c]) for c in v.GRANTABLE_CLASSES],
        "identifier_choices": list(v.IDENTIFIER_WORDS.items()),
        "form": _empty_form(),
        "errors_by_field": {},
        "document": "",
        "yaml_errors": [],
        "zone_name": pars.settings.timezone,
    }
    return page(request, "agreements/new.html", base | ctx, status=status)


@router.get("/new")
async def new(request: Request, pars: PARS, who: Officer) -> Response:
    return await _new_page(request, pars, who)


async def _create(
    pars: Pars, who: Principal, body: dict[str, Any]
) -> tuple[str | None, v.FormErrors]:
    try:
        data = AgreementIn.model_validate(body)
        created = await run_in_threadpool(svc.create_agreement, pars, who, data)
    except ValidationError as e:
        return None, v.field_errors(e)
    except InvalidInput as e:
        return None, v.field_errors(service=[(f.pointer, f.detail) for f in e.errors])
    return str(created["id"]), {}


@router.post("")
async def create(request: Request, pars: PARS, who: Officer) -> Response:
    raw = await request.form()
    form: dict[str, Any] = {k: str(raw.get(k, ""))[:5000] for k in _FORM_KEYS}
    form |= {k: [str(x)[:100] for x in raw.getlist(k)][:200] for k in _FORM_LISTS}
    body, errors = v.form_body(form, pars.settings.zone)
    created = None
    if not errors:
        created, errors = await _create(pars, who, body)
    if created:
        return RedirectResponse(f"/agreements/{created}?done=created", status_code=303)
    return await _new_page(request, pars, who, 422, form=form, errors_by_field=errors)


@router.post("/yaml")
async def create_from_yaml(request: Request, pars: PARS, who: Officer) -> Response:
    raw = await request.form()
    text = str(raw.get("document", ""))
    if len(text) > 20_000:
        errors: v.FormErrors = {"document": ["Keep the document under 20,000 characters"]}
    else:
        body, errors = v.yaml_body(text)
        created = None
        if body is not None:
            created, errors = await _create(pars, who, body)
        if created:
            return RedirectResponse(f"/agreements/{created}?done=created", status_code=303)
    listed = [
        {"field": name.replace("_", " "), "detail": d}
        for name, details in errors.items()
        for d in details
    ]
    return await _new_page(request, pars, who, 422, document=text[:20_000], yaml_errors=listed)


# -- one agreement ---------------------------------------------------------------------------


def _detail(pars: Pars, who: Principal, agreement_id: str, version: int | None) -> dict[str, Any]:
    newest = svc.get_agreement(pars, who, agreement_id)
    doc = newest if version is None else svc.get_agreement(pars, who, agreement_id, version)
    versions = [d for d in svc.list_agreements(pars, who) if d["id"] == agreement_id]
    a = from_document(doc)
    policy = pars.policy
    approved = {p["owner"] for p in doc["approvals"]}
    asked = v.sensitive_asked(a)
    is_newest = doc["version"] == newest["version"]
    state = a.state
    return {
        "a": _words(pars, doc),
        "newest_version": newest["version"],
        "is_newest": is_newest,
        "versions": [_words(pars, d) for d in versions],
        "table": v.field_table(a, policy, pars.source),
        "class_words": v.CLASS_WORDS,
        "event_words": v.event_words,
        "in_force_now": a.discloses_at(pars.clock.now()),
        "quorum": policy.quorum,
        "owners": list(policy.owners),
        "approved_by": [
            {**p, "at_words": when(p["at"], pars.settings.zone)} for p in doc["approvals"]
        ],
        "waiting_for": [o for o in policy.owners if o not in approved],
        "sensitive_asked": asked,
        "sensitive_counts": {
            c: sum(1 for p in doc["approvals"] if c in p["sensitive"]) for c in asked
        },
        "yaml": _yaml(doc),
        "may": {
            "submit": is_newest and state is A.DRAFT,
            "approve": is_newest
            and state is A.PENDING_APPROVAL
            and who.owner is not None
            and who.owner not in approved,
            "suspend": is_newest
            and state in (A.ACTIVE, A.PENDING_APPROVAL)
            and who.owner is not None,
            "revoke": is_newest
            and state is not A.REVOKED
            and state is not A.EXPIRED
            and who.owner is not None,
            "renew": is_newest and state in (A.ACTIVE, A.EXPIRED, A.SUSPENDED),
        },
        "is_owner": who.owner is not None,
        "my_owner": who.owner,
    }


def _yaml(doc: dict[str, Any]) -> str:
    """The document as `pars agreements export` prints it (through JSON first: an approval's
    sensitive classes are string enums, which safe_dump does not know)."""
    import json

    import yaml

    return yaml.safe_dump(json.loads(json.dumps(doc)), sort_keys=False, allow_unicode=True)


async def _detail_page(
    request: Request,
    pars: Pars,
    who: Principal,
    agreement_id: str,
    version: int | None = None,
    status: int = 200,
    **ctx: Any,
) -> Response:
    base = await run_in_threadpool(_detail, pars, who, agreement_id, version)
    defaults: dict[str, Any] = {
        "done": None,
        "message": None,
        "errors_by_field": {},
        "renew_form": {"starts_at": "", "ends_at": ""},
        "zone_name": pars.settings.timezone,
    }
    return page(request, "agreements/detail.html", defaults | base | ctx, status=status)


@router.get("/{agreement_id}")
async def detail(
    request: Request,
    pars: PARS,
    who: Officer,
    agreement_id: AgreementId,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return await _detail_page(request, pars, who, agreement_id, version, done=DONE.get(done))


async def _act(
    request: Request, pars: Pars, who: Principal, agreement_id: str, action: str, *args: Any
) -> Response:
    handler = getattr(svc, action)
    try:
        await run_in_threadpool(handler, pars, who, agreement_id, *args)
    except Conflict as e:
        message = f"Nothing was changed: {e}"
        return await _detail_page(request, pars, who, agreement_id, status=409, message=message)
    except InvalidInput as e:
        errors = v.field_errors(service=[(f.pointer, f.detail) for f in e.errors])
        message = "Nothing was changed: the agreement " + (
            "is not allowed as it stands." if "granted" in errors else "needs changes."
        )
        return await _detail_page(
            request, pars, who, agreement_id, status=422, message=message, errors_by_field=errors
        )
    done = {"submit": "submitted", "approve": "approved", "suspend": "suspended"}
    done |= {"revoke": "revoked", "renew": "renewed"}
    return RedirectResponse(f"/agreements/{agreement_id}?done={done[action]}", status_code=303)


@router.post("/{agreement_id}/submit")
async def submit(request: Request, pars: PARS, who: Officer, agreement_id: AgreementId) -> Response:
    return await _act(request, pars, who, agreement_id, "submit")


@router.post("/{agreement_id}/approve")
async def approve(
    request: Request, pars: PARS, who: Officer, agreement_id: AgreementId
) -> Response:
    raw = await request.form()
    sensitive = [str(x)[:40] for x in raw.getlist("sensitive")][:10]
    try:
        data = ApprovalIn.model_validate({"sensitive": sensitive})
    except ValidationError as e:
        return await _detail_page(
            request, pars, who, agreement_id, status=422,
            message="Nothing was changed.", errors_by_field=v.field_errors(e),
        )  # fmt: skip
    return await _act(request, pars, who, agreement_id, "approve", data)


@router.post("/{agreement_id}/suspend")
async def suspend(
    request: Request, pars: PARS, who: Officer, agreement_id: AgreementId
) -> Response:
    return await _act(request, pars, who, agreement_id, "suspend")


@router.post("/{agreement_id}/revoke")
async def revoke(request: Request, pars: PARS, who: Officer, agreement_id: AgreementId) -> Response:
    return await _act(request, pars, who, agreement_id, "revoke")


@router.post("/{agreement_id}/renew")
async def renew(request: Request, pars: PARS, who: Officer, agreement_id: AgreementId) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k, ""))[:40] for k in ("starts_at", "ends_at")}
    zone, errors = pars.settings.zone, dict[str, list[str]]()
    body = {
        "starts_at": v.parse_instant(form["starts_at"], zone, "starts_at", "it starts", errors),
        "ends_at": v.parse_instant(form["ends_at"], zone, "ends_at", "it ends", errors),
    }
    if not errors:
        try:
            data = RenewalIn.model_validate(body)
        except ValidationError as e:
            errors = v.field_errors(e)
        else:
            return await _act(request, pars, who, agreement_id, "renew", data)
    return await _detail_page(
        request, pars, who, agreement_id, status=422,
        message="The agreement was not renewed.", errors_by_field=errors, renew_form=form,
    )  # fmt: skip


# -- one partner -----------------------------------------------------------------------------


def _partner(pars: Pars, who: Principal, partner_id: str, status: str | None) -> dict[str, Any]:
    listed = svc.partner_deliveries(pars, who, partner_id, status, LIMIT)  # NotFound first
    partner = next(p for p in svc.list_partners(pars, who) if p["id"] == partner_id)
    zone = pars.settings.zone

    def worded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        at_keys = ("created_at", "delivered_at", "withheld_at", "next_attempt_at", "at")
        return [r | {f"{k}_words": when(r.get(k), zone) for k in at_keys} for r in rows]

    versions = [d for d in svc.list_agreements(pars, who) if d["partner"] == partner_id]
    newest: dict[str, dict[str, Any]] = {d["id"]: _words(pars, d) for d in versions}
    return {
        "partner": partner,
        "agreements": list(newest.values()),
        "status": status or "",
        "statuses": ["queued", "delivered", "withheld", "dead", "stopped", "quarantined"],
        "deliveries": worded(listed),
        "dead": worded(svc.partner_deliveries(pars, who, partner_id, "dead", LIMIT)),
        "withheld": worded(svc.partner_deliveries(pars, who, partner_id, "withheld", LIMIT)),
        "quarantine": worded(svc.quarantined(pars, who, partner_id, LIMIT)),
        "limit": LIMIT,
        "event_words": v.event_words,
    }


@router.get("/partners/{partner_id}")
async def partner(
    request: Request,
    pars: PARS,
    who: Officer,
    partner_id: PartnerId,
    status: Annotated[
        str, Query(pattern=r"^(|queued|delivered|withheld|dead|stopped|quarantined)$")
    ] = "",
) -> Response:
    context = await run_in_threadpool(_partner, pars, who, partner_id, status or None)
    return page(request, "agreements/partner.html", context)
