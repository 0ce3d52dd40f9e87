"""One handler per arrest command. Each runs in one unit of work: the state change, its version, its
audit row and its outbox events commit together or not at all. A refused command leaves an audit
row of its own (outcome `failure`) and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from pars.domain.arraignment import Arraignment, Bail
from pars.domain.arrest import Arrest, Custody
from pars.domain.charging import Charge, ChargeAction, ChargeDecision
from pars.domain.errors import DomainError, FieldError, InvalidInput, NotFound
from pars.domain.identifiers import DocketNumber, otn_from_sequence
from pars.domain.pretrial import AddressCheck, PretrialInterview
from pars.domain.roles import Step
from pars.services.app import Pars, Principal
from pars.services.auth import require
from pars.services.identity import on_arrest_entered, sync_arrest
from pars.services.inputs import (
    ArraignmentIn,
    ArrestIn,
    ChargingDecisionIn,
    CorrectionIn,
    CourtOrderIn,
    CustodyIn,
    IdentificationIn,
    PretrialIn,
    ScheduleIn,
    SummonsReleaseIn,
)
from pars.services.intake import charge_spec, intake, intake_patch
from pars.services.lifecycle.recalls import send_recalls
from pars.services.lifecycle.withhold import on_closed, on_corrected
from pars.services.visibility import ensure_visible
from pars.store.uow import AuditEntry, SqlUnitOfWork

_FUTURE_TOLERANCE = timedelta(minutes=5)

__all__ = [
    "arraign",
    "change_custody",
    "correct",
    "create_arrest",
    "decide_charges",
    "expunge",
    "identify",
    "open_charging_review",
    "record_pretrial",
    "release_for_summons",
    "schedule_arraignment",
    "seal",
    "submit",
]


@contextmanager
def _audited(pars: Pars, who: Principal, action: str, subject: str | None) -> Iterator[None]:
    """Record a refusal of the command in the audit log, then let the error through."""
    try:
        yield
    except DomainError as e:
        pars.audit_now(
            AuditEntry(
                who.username,
                action,
                "failure",
                who.role,
                subject,
                details={"error": type(e).__name__},
            )
        )
        raise


# One answer for an id that names no arrest and for someone else's draft (which, for this
# caller, does not exist): the refusal must not tell them apart, nor echo the id.
_NO_CO_DEFENDANT = "no other arrest you may see has this id"


def _visible(uow: SqlUnitOfWork, arrest_id: str, who: Principal) -> bool:
    """Whether `arrest_id` names an arrest `who` may see (drafts: their author's only)."""
    try:
        ensure_visible(uow.arrests.get(arrest_id, lock=False), who)
    except NotFound:
        return False
    return True


def _run(
    pars: Pars,
    who: Principal,
    step: Step,
    arrest_id: str,
    action: str,
    change: Callable[[SqlUnitOfWork, Arrest], None],
) -> Arrest:
    require(pars, who, step, arrest_id)
    with _audited(pars, who, action, arrest_id), pars.uow() as uow:
        arrest = uow.arrests.get(arrest_id)
        ensure_visible(arrest, who)
        change(uow, arrest)
        sync_arrest(pars, uow, arrest)  # its matching record follows the arrest
        uow.audit(
            AuditEntry(
                who.username,
                action,
                "success",
                who.role,
                arrest_id,
                details={"state": arrest.state.value},
            )
        )
        uow.commit()
    return arrest


def create_arrest(pars: Pars, who: Principal, data: ArrestIn, submit: bool = False) -> Arrest:
    require(pars, who, Step.CREATE)
    if submit:
        require(pars, who, Step.SUBMIT)
    with _audited(pars, who, "arrest:created", None):
        built = [intake(pars, data)]  # its checks answer before the command joins a batch

        def enter(uow: SqlUnitOfWork) -> Arrest:
            # A batch that failed runs again (store/group_commit.py); the first run's document
            # may carry its identification, so a second one starts from the input again.
            document, protected, charges = built.pop() if built else intake(pars, data)
            return _enter(pars, uow, who, data, document, protected, charges, submit)

        # Arrests entered at the same moment share one transaction (store/group_commit.py).
        return pars.intake_group.run(enter)


def _enter(
    pars: Pars,
    uow: SqlUnitOfWork,
    who: Principal,
    data: ArrestIn,
    document: dict[str, Any],
    protected: dict[str, Any],
    charges: list[Charge],
    submit: bool,
) -> Arrest:
    """The new arrest's writes, in `uow` (which the caller commits)."""
    now = pars.clock.now()
    missing = [
        FieldError(f"/co_defendants/{i}", _NO_CO_DEFENDANT)
        for i, cid in enumerate(data.co_defendants)
        if not _visible(uow, cid, who)
    ]
    if missing:
        raise InvalidInput(missing)
    otn = otn_from_sequence(pars.settings.otn_prefix, uow.arrests.next_otn_number())
    arrest = Arrest(
        id=str(uuid.uuid4()),
        otn=otn,
        created_by=who.username,
        created_at=now,
        document=document,
        protected=protected,
        charges=charges,
    )
    arrest.history.append(
        {
            "action": "create",
            "by": who.username,
            "at": now.isoformat(),
            "state": arrest.state.value,
        }
    )
    uow.arrests.add(arrest)
    uow.audit(AuditEntry(who.username, "arrest:created", "success", who.role, arrest.id))
    if submit:
        arrest.submit(who.username, now)
        uow.audit(AuditEntry(who.username, "arrest:submitted", "success", who.role, arrest.id))
    on_arrest_entered(pars, uow, arrest, who)
    return arrest


def submit(pars: Pars, who: Principal, arrest_id: str) -> Arrest:
    return _run(
        pars,
        who,
        Step.SUBMIT,
        arrest_id,
        "arrest:submitted",
        lambda uow, a: a.submit(who.username, pars.clock.now()),
    )


def identify(pars: Pars, who: Principal, arrest_id: str, data: IdentificationIn) -> Arrest:
    """Link the arrest to a person record: the one named, the one its identifiers point to, or
    a new one. Identifiers that point to two different persons are a conflict to resolve first."""

    def change(uow: SqlUnitOfWork, arrest: Arrest) -> None:
        ids = {
            "state_id": data.state_id,
            "fbi_number": data.fbi_number,
            "local_person_id": data.local_person_id,
        }
        now = pars.clock.now()
        if data.person_id:
            if uow.persons.get(data.person_id) is None:
                raise InvalidInput.one("/person_id", f"no person {data.person_id}")
            person_id = data.person_id
            matches = uow.persons.find(**ids)
            others = {m["id"] for m in matches} - {person_id}
        else:
            matches = uow.persons.find(**ids)
            others = {m["id"] for m in matches[1:]} - {matches[0]["id"]} if matches else set()
            person_id = matches[0]["id"] if matches else str(uuid.uuid4())
        # A merged person record stands for the one it was merged into.
        person_id = uow.identity.resolve(person_id)
        others = {uow.identity.resolve(o) for o in others} - {person_id}
        if others:
            raise InvalidInput.one(
                "/", "these identifiers belong to more than one person record; merge them first"
            )
        person = uow.persons.get(person_id)
        if person is None:
            uow.persons.add(person_id, who.username, now, **ids)
            person = {"id": person_id, **ids}
        else:
            for key, value in ids.items():
                if value and person.get(key) and person[key] != value:
                    raise InvalidInput.one(
                        f"/{key}", f"the person record already has a different {key}"
                    )
            uow.persons.fill(person_id, **ids)
        linked = {k: person.get(k) or ids.get(k) for k in ids}
        arrest.identify({"person_id": person_id, **linked}, who.username, now)

    return _run(pars, who, Step.IDENTIFY, arrest_id, "arrest:identified", change)


def record_pretrial(pars: Pars, who: Principal, arrest_id: str, data: PretrialIn) -> Arrest:
    """Record pretrial services' interview; a later one replaces it (the earlier stays in the
    record's versions)."""
    interview = PretrialInterview(
        address_verified=data.address.verified,
        address_method=data.address.method or AddressCheck.NOT_VERIFIED,
        address_detail=data.address.detail,
        recommendation=data.recommendation,
        reasons=tuple(data.reasons),
        note=data.note,
    )
    return _run(
        pars,
        who,
        Step.RECORD_PRETRIAL,
        arrest_id,
        "pretrial:recommended",
        lambda uow, a: a.record_pretrial(interview, who.username, pars.clock.now()),
    )


def open_charging_review(pars: Pars, who: Principal, arrest_id: str) -> Arrest:
    return _run(
        pars,
        who,
        Step.OPEN_CHARGING_REVIEW,
        arrest_id,
        "charging:review_opened",
        lambda uow, a: a.open_charging_review(who.username, pars.clock.now()),
    )


def decide_charges(pars: Pars, who: Principal, arrest_id: str, data: ChargingDecisionIn) -> Arrest:
    errors: list[FieldError] = []
    decisions: list[ChargeDecision] = []
    for i, d in enumerate(data.charges):
        ptr = f"/charges/{i}"
        spec = None
        if d.action in (ChargeAction.AMEND, ChargeAction.ADD):
            if d.statute is None:
                errors.append(FieldError(f"{ptr}/statute", f"required for action '{d.action}'"))
            else:
                spec = charge_spec(
                    pars, ptr, d.statute, d.grade, d.counts, d.description, d.modifier, errors
                )
        else:
            for name in ("statute", "grade", "counts", "description", "modifier"):
                if getattr(d, name) is not None:
                    errors.append(FieldError(f"{ptr}/{name}", f"not allowed with '{d.action}'"))
        decisions.append(ChargeDecision(d.action, d.charge_id, spec, d.reason))
    if errors:
        raise InvalidInput(errors)
    return _run(
        pars,
        who,
        Step.DECIDE_CHARGES,
        arrest_id,
        "charging:decided",
        lambda uow, a: a.decide_charges(
            data.outcome, decisions, data.reason, who.username, pars.clock.now(), data.notes
        ),
    )


def release_for_summons(
    pars: Pars, who: Principal, arrest_id: str, data: SummonsReleaseIn
) -> Arrest:
    return _run(
        pars,
        who,
        Step.RELEASE_FOR_SUMMONS,
        arrest_id,
        "arrest:released_for_summons",
        lambda uow, a: a.release_for_summons(
            pars.release_rule, data.reason, who.username, pars.clock.now()
        ),
    )


def schedule_arraignment(pars: Pars, who: Principal, arrest_id: str, data: ScheduleIn) -> Arrest:
    return _run(
        pars,
        who,
        Step.SCHEDULE_ARRAIGNMENT,
        arrest_id,
        "arraignment:scheduled",
        lambda uow, a: a.schedule_arraignment(data.session_at, who.username, pars.clock.now()),
    )


def arraign(pars: Pars, who: Principal, arrest_id: str, data: ArraignmentIn) -> Arrest:
    """Record the arraignment. The session defaults to the scheduled one (else now); a docket
    number is assigned when probable cause is found."""

    def change(uow: SqlUnitOfWork, arrest: Arrest) -> None:
        session_at = data.session_at
        if session_at is None:
            scheduled = arrest.document.get("arraignment_session")
            session_at = (
                datetime.fromisoformat(scheduled["session_at"]) if scheduled else pars.clock.now()
            )
        bail = None
        if data.bail is not None:
            bail = Bail(
                type=data.bail.type,
                amount=data.bail.amount,
                deposit_percent=data.bail.deposit_percent,
                conditions=tuple(data.bail.conditions),
            )
        record = Arraignment(
            session_at=session_at,
            magistrate=data.magistrate,
            probable_cause_found=data.probable_cause_found,
            bail=bail,
            preliminary_hearing_date=data.preliminary_hearing_date,
            defense_counsel=data.defense_counsel,
            prosecutor=data.prosecutor,
            notes=data.notes,
        )
        if session_at > pars.clock.now() + _FUTURE_TOLERANCE:
            raise InvalidInput.one("/session_at", "an arraignment is recorded once it is held")
        session_day = session_at.astimezone(pars.settings.zone).date()
        arrest.check("arraign")  # refuse the state before spending a docket number
        record.validate(session_day)
        if record.probable_cause_found:
            s = pars.settings
            docket = DocketNumber(
                s.court_code,
                s.county_code,
                s.case_type,
                uow.arrests.next_docket_number(),
                session_day.year,
            )
            record = replace(record, docket_number=str(docket))
        arrest.arraign(record, session_day, who.username, pars.clock.now())

    return _run(pars, who, Step.ARRAIGN, arrest_id, "arraignment:completed", change)


def change_custody(pars: Pars, who: Principal, arrest_id: str, data: CustodyIn) -> Arrest:
    return _run(
        pars,
        who,
        Step.CHANGE_CUSTODY,
        arrest_id,
        "custody:changed",
        lambda uow, a: a.change_custody(
            Custody(data.status), data.reason, data.note, who.username, pars.clock.now()
        ),
    )


def correct(pars: Pars, who: Principal, arrest_id: str, data: CorrectionIn) -> Arrest:
    changes, protected = intake_patch(pars, data.changes)

    def change(uow: SqlUnitOfWork, arrest: Arrest) -> None:
        for i, cid in enumerate(changes.get("co_defendants") or []):
            if cid == arrest.id or not _visible(uow, cid, who):
                raise InvalidInput.one(f"/changes/co_defendants/{i}", _NO_CO_DEFENDANT)
        _check_birth_before_arrest(pars, arrest, changes)
        arrest.correct(changes, protected, data.reason, who.username, pars.clock.now())
        on_corrected(pars, uow, arrest, pars.clock.now())  # queued copies: the corrected one
        send_recalls(pars, uow, arrest, "corrected", pars.clock.now())

    return _run(pars, who, Step.CORRECT, arrest_id, "record:corrected", change)


def _check_birth_before_arrest(pars: Pars, arrest: Arrest, changes: dict[str, Any]) -> None:
    """A correction of either date must keep the birth on or before the arrest (court's day)."""
    person_changes = changes.get("person") or {}
    dob = person_changes.get(
        "date_of_birth", (arrest.document.get("person") or {}).get("date_of_birth")
    )
    arrested = changes.get("arrested_at") or arrest.document["arrested_at"]
    if not dob:
        return
    arrest_day = datetime.fromisoformat(arrested).astimezone(pars.settings.zone).date()
    if date.fromisoformat(dob) > arrest_day:
        pointer = (
            "/changes/person/date_of_birth"
            if "date_of_birth" in person_changes
            else "/changes/arrested_at"
        )
        raise InvalidInput.one(pointer, "the date of birth would be after the arrest")


def seal(pars: Pars, who: Principal, arrest_id: str, data: CourtOrderIn) -> Arrest:
    def change(uow: SqlUnitOfWork, arrest: Arrest) -> None:
        arrest.seal(data.order, who.username, pars.clock.now())
        on_closed(uow, arrest, pars.clock.now())  # queued copies die with the record
        send_recalls(pars, uow, arrest, "sealed", pars.clock.now())  # and every recipient hears

    return _run(pars, who, Step.SEAL, arrest_id, "record:sealed", change)


def expunge(pars: Pars, who: Principal, arrest_id: str, data: CourtOrderIn) -> Arrest:
    def change(uow: SqlUnitOfWork, arrest: Arrest) -> None:
        arrest.expunge(data.order, who.username, pars.clock.now())
        on_closed(uow, arrest, pars.clock.now())  # queued copies die with the record
        send_recalls(pars, uow, arrest, "expunged", pars.clock.now())  # and every recipient hears

    return _run(pars, who, Step.EXPUNGE, arrest_id, "record:expunged", change)
