"""What staff see of an arrest: the record shaped for reading, with the fields their role may not
see removed and named under `redacted`. Reads are audited like every other access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pars.domain.arrest import Arrest, ArrestState, Custody, allowed_actions
from pars.domain.charging import Charge
from pars.domain.errors import NotFound
from pars.domain.roles import READ_PROTECTED, READ_VICTIM_WITNESS, STEP_ROLES, Role, Step
from pars.services.app import Pars, Principal
from pars.services.auth import require
from pars.services.lifecycle.access import ensure_sealed_readable, sealed_hidden
from pars.services.visibility import ensure_visible
from pars.store.arrests import ArrestFilter
from pars.store.uow import AuditEntry

__all__ = [
    "full_record",
    "get_arrest",
    "get_version",
    "list_arrests",
    "list_versions",
    "render",
]

# Actions of the aggregate, named as the steps that authorise them.
_STEP_OF_ACTION = {
    "submit": Step.SUBMIT,
    "identify": Step.IDENTIFY,
    "record_pretrial": Step.RECORD_PRETRIAL,
    "open_charging_review": Step.OPEN_CHARGING_REVIEW,
    "decide_charges": Step.DECIDE_CHARGES,
    "release_for_summons": Step.RELEASE_FOR_SUMMONS,
    "schedule_arraignment": Step.SCHEDULE_ARRAIGNMENT,
    "arraign": Step.ARRAIGN,
    "change_custody": Step.CHANGE_CUSTODY,
    "correct": Step.CORRECT,
    "seal": Step.SEAL,
    "expunge": Step.EXPUNGE,
}


def _role(who: Principal) -> Role | None:
    try:
        return Role(who.role)
    except ValueError:
        return None


def render(arrest: Arrest, who: Principal) -> dict[str, Any]:
    """The arrest as the API returns it to this principal."""
    role = _role(who)
    actions = [
        a
        for a in allowed_actions(arrest.state)
        if role is not None and role in STEP_ROLES[_STEP_OF_ACTION[a]]
    ]
    view = _view(arrest, role in READ_PROTECTED, role in READ_VICTIM_WITNESS)
    view["allowed_actions"] = actions if arrest.state is not ArrestState.EXPUNGED else []
    return view


def full_record(arrest: Arrest) -> dict[str, Any]:
    """Every field of the arrest, unredacted: the input of the sharing projection, which decides
    what of it may leave. Never returned to anyone as it is."""
    return _view(arrest, see_protected=True, see_victims=True)


def _view(arrest: Arrest, see_protected: bool, see_victims: bool) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": arrest.id,
        "otn": arrest.otn,
        "state": arrest.state.value,
        "custody": arrest.custody.value,
        "version": arrest.version,
        # A juvenile's record stays one whatever its state, so that no partner ever gets it.
        "juvenile": arrest.juvenile,
    }
    if arrest.state is ArrestState.EXPUNGED:
        return {**base, "expunction": arrest.document.get("expunction")}
    if arrest.state is ArrestState.SEALED:
        return {**base, "seal": arrest.document.get("seal")}

    doc = arrest.document
    redacted: list[str] = []
    person = {k: v for k, v in (doc.get("person") or {}).items() if v is not None}
    protected_person = {
        k: v for k, v in (arrest.protected.get("person") or {}).items() if v is not None
    }
    if see_protected:
        person.update(protected_person)
    else:
        redacted += [f"/person/{k}" for k in sorted(protected_person)]
    out: dict[str, Any] = {
        **base,
        "custody_indicator": arrest.custody_indicator(),
        "created_at": arrest.created_at.isoformat(),
        "created_by": arrest.created_by,
        "submitted_at": doc.get("submitted_at"),
        "arrested_at": doc.get("arrested_at"),
        "arrest_type": doc.get("arrest_type"),
        "location": doc.get("location"),
        "arresting_officer": doc.get("arresting_officer"),
        "units": doc.get("units"),
        "report_number": doc.get("report_number"),
        "incident_number": doc.get("incident_number"),
        "person": person,
        "charges": [c.to_dict() for c in arrest.charges],
        "narrative": doc.get("narrative"),
        "co_defendants": doc.get("co_defendants", []),
        "identification": doc.get("identification"),
        "charging": doc.get("charging"),
        "summons_release": doc.get("summons_release"),
        "pretrial": doc.get("pretrial"),
        "arraignment_session": doc.get("arraignment_session"),
        "arraignment": doc.get("arraignment"),
        "custody_changes": doc.get("custody_changes", []),
    }
    for key in ("victims", "witnesses"):
        parties = arrest.protected.get(key) or []
        if see_victims:
            out[key] = parties
        elif parties:
            redacted.append(f"/{key}")
    out["redacted"] = redacted
    return out


def _read_audit(
    pars: Pars, who: Principal, action: str, subject: str | None, details: dict[str, Any]
) -> None:
    pars.audit_now(AuditEntry(who.username, action, "success", who.role, subject, details))


def get_arrest(pars: Pars, who: Principal, arrest_id: str) -> dict[str, Any]:
    require(pars, who, Step.READ, arrest_id)
    with pars.reader() as uow:
        arrest = uow.arrests.get(arrest_id, lock=False)
    ensure_visible(arrest, who)
    ensure_sealed_readable(pars, arrest, who)
    _read_audit(pars, who, "arrest:read", arrest_id, {"version": arrest.version})
    return render(arrest, who)


def list_arrests(
    pars: Pars,
    who: Principal,
    f: ArrestFilter,
    limit: int,
    cursor: str | None,
    *,
    audit: bool = True,
) -> dict[str, Any]:
    """A page of the arrests `who` may read, audited `arrest:listed`. `audit=False` only for
    a screen's automatic refresh, which audits what it shows that is new instead
    (`services.screen_reads.refreshed`)."""
    require(pars, who, Step.READ)
    f = ArrestFilter(**{**f.__dict__, "viewer": who.username})
    with pars.reader() as uow:
        page = uow.arrests.search(f, limit, cursor)
    if audit:
        _read_audit(pars, who, "arrest:listed", None, {"count": len(page.items)})
    items = [render(a, who) for a in page.items if not sealed_hidden(pars, a, who)]
    return {"items": items, "next_cursor": page.next_cursor}


def list_versions(pars: Pars, who: Principal, arrest_id: str) -> list[dict[str, Any]]:
    require(pars, who, Step.READ, arrest_id)
    with pars.reader() as uow:
        arrest = uow.arrests.get(arrest_id, lock=False)
        ensure_visible(arrest, who)
        if sealed_hidden(pars, arrest, who):
            raise NotFound("no such arrest")
        if arrest.state in (ArrestState.SEALED, ArrestState.EXPUNGED):
            return []
        rows = uow.arrests.versions(arrest_id)
    return [
        {
            **r,
            "changed_at": r["changed_at"].isoformat()
            if isinstance(r["changed_at"], datetime)
            else r["changed_at"],
        }
        for r in rows
    ]


def get_version(pars: Pars, who: Principal, arrest_id: str, version: int) -> dict[str, Any]:
    """An earlier version of a submitted arrest, as it was then."""
    require(pars, who, Step.READ, arrest_id)
    with pars.reader() as uow:
        current = uow.arrests.get(arrest_id, lock=False)
        ensure_visible(current, who)
        if sealed_hidden(pars, current, who):
            raise NotFound("no such arrest")
        if current.state in (ArrestState.SEALED, ArrestState.EXPUNGED):
            raise NotFound(f"this arrest is {current.state.value}; its versions are closed")
        v = uow.arrests.version(arrest_id, version)
    snap = v["snapshot"]
    old = Arrest(
        id=current.id,
        otn=current.otn,
        created_by=current.created_by,
        created_at=current.created_at,
        state=ArrestState(snap["state"]),
        custody=Custody(snap["custody"]),
        version=version,
        document=snap["document"],
        protected=v["protected"],
        charges=[Charge.from_dict(c) for c in snap["charges"]],
        history=snap["history"],
    )
    _read_audit(pars, who, "arrest:read", arrest_id, {"version": version})
    view = render(old, who)
    view["allowed_actions"] = []
    view["changed_by"] = v["changed_by"]
    view["changed_at"] = v["changed_at"].isoformat()
    view["change_action"] = v["action"]
    view["change_reason"] = v["reason"]
    return view
