"""The audit screen (auditors): search the log by actor, record, agreement, kind and time, a
page at a time, newest first; a record's disclosure history; and "verify now", which checks the
whole log against the latest signed checkpoint and shows that checkpoint and the result.

Every read goes through a service that audits it: `services.audit_search.search`
(`audit_log:read`), `services.transparency.disclosure_history` (`disclosure_history:read`, the
API's history) and `services.audit_search.verify_now` (`audit:verified`, as `pars audit
verify`). Times are entered and shown in the courts' zone (`PARS_TIMEZONE`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import InvalidInput, NotFound
from pars.domain.roles import Role
from pars.services import agreements as agreements_svc
from pars.services import audit as audit_svc
from pars.services import audit_search as svc
from pars.services.app import Pars, Principal
from pars.web.deps import get_pars
from pars.web.screens import audit_view as v
from pars.web.screens.audit_jobs import Job, VerifyJobs
from pars.web.screens.render import is_htmx, page, screen_router
from pars.web.screens.session import role
from pars.web.screens.words import when

__all__ = ["router"]

router = screen_router(prefix="/audit")
PARS = Annotated[Pars, Depends(get_pars)]
Auditor = Annotated[Principal, Depends(role(Role.AUDITOR))]
_FIELD = {"/actor": "actor", "/record": "record", "/agreement": "agreement"}
_FIELD |= {"/since": "since", "/until": "until"}


def _agreement_choices(pars: Pars, who: Principal) -> list[tuple[str, str]]:
    """(id, words) of every agreement (its newest version), by partner, for the filter."""
    newest: dict[str, dict[str, Any]] = {}
    for doc in agreements_svc.list_agreements(pars, who):  # oldest first
        newest[doc["id"]] = doc
    choices = [
        (d["id"], f"{d['partner_name'] or 'Unknown partner'}: {d['purpose']} ({d['id'][:8]})")
        for d in newest.values()
    ]
    return sorted(choices, key=lambda c: c[1])


def _latest(pars: Pars) -> dict[str, Any] | None:
    try:
        cp = audit_svc.latest_checkpoint(pars)
    except NotFound:
        return None
    return {**cp, "at_words": when(cp["time"], pars.settings.zone)}


def _link(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def _index(pars: Pars, who: Principal, form: v.SearchForm) -> dict[str, Any]:
    zone = pars.settings.zone
    context: dict[str, Any] = {
        "form": form.values,
        "errors_by_field": form.errors,
        "message": form.message,
        "kinds": [(k, words) for k, (words, _) in v.KINDS.items()],
        "agreements": _agreement_choices(pars, who),
        "latest": _latest(pars),
        "zone_name": pars.settings.timezone,
        "entries": None,
        "found": None,
        "next_url": None,
        "newest_url": None,
        "filtered": form.filtered,
        "paged": form.before is not None,
    }
    if form.errors:
        return context
    try:
        result = svc.search(
            pars, who, actor=form.actor, record=form.record, agreement_id=form.agreement,
            actions=form.actions, since=form.since, until=form.until, before=form.before,
        )  # fmt: skip
    except InvalidInput as e:
        for f in e.errors:
            context["errors_by_field"].setdefault(_FIELD.get(f.pointer, "until"), []).append(
                f.detail
            )
        return context
    context["entries"] = [v.entry_view(r, zone) for r in result["items"]]
    context["found"] = result["record"]
    if result["next"] is not None:
        context["next_url"] = _link("/audit", v.query(form, before=result["next"]))
    if form.before is not None:
        context["newest_url"] = _link("/audit", v.query(form))
    return context


@router.get("")
async def index(request: Request, pars: PARS, who: Auditor) -> Response:
    form = v.read_form(dict(request.query_params), pars.settings.zone)
    context = await run_in_threadpool(_index, pars, who, form)
    status = 422 if context["errors_by_field"] else 200
    return page(request, "audit/index.html", context, status=status)


@router.get("/history")
async def history(request: Request, pars: PARS, who: Auditor) -> Response:
    record = str(request.query_params.get("record", "")).strip()[:200]
    context: dict[str, Any] = {"record": record, "errors_by_field": {}, "history": None}
    status = 200
    if record:
        try:
            result = await run_in_threadpool(svc.history, pars, who, record)
            context["history"] = v.history_view(result, pars.settings.zone)
        except InvalidInput as e:
            context["errors_by_field"] = {"record": [f.detail for f in e.errors]}
            status = 422
        except NotFound:
            context["errors_by_field"] = {
                "record": ["No arrest or person has this id, and the log records no disclosure "
                           "of it"]
            }  # fmt: skip
            status = 404
    return page(request, "audit/history.html", context, status=status)


def _jobs(request: Request) -> VerifyJobs:
    jobs = getattr(request.app.state, "verify_jobs", None)
    if jobs is None:
        jobs = request.app.state.verify_jobs = VerifyJobs()
    return jobs


@router.post("/verify")
async def verify(request: Request, pars: PARS, who: Auditor) -> Response:
    """From the page's button with HTMX: start the check (or join the running one) and show
    its progress. Without JavaScript: check, then answer the result page."""
    if is_htmx(request):
        job = _jobs(request).start(pars, who)
        return _job_fragment(request, pars, job)
    result = await run_in_threadpool(svc.verify_now, pars, who)
    context = {"result": v.verify_view(result, pars.settings.zone), "fragment": False}
    return page(request, "audit/verify.html", context)


@router.get("/verify/{job_id}")
async def verify_progress(
    request: Request, pars: PARS, who: Auditor, job_id: Annotated[str, Path(max_length=40)]
) -> Response:
    """The check's progress while it runs (the fragment polls itself), then its result."""
    return _job_fragment(request, pars, _jobs(request).get(job_id))


def _job_fragment(request: Request, pars: PARS, job: Job | None) -> Response:
    if job is not None and job.result is not None:
        context = {"result": v.verify_view(job.result, pars.settings.zone), "fragment": True}
        return page(request, "audit/verify.html", context, block="result")
    snap = job.snapshot() if job is not None else None
    if snap is not None:
        snap["started_words"] = when(snap["started"], pars.settings.zone)
    return page(request, "audit/_verifying.html", {"job": snap})
