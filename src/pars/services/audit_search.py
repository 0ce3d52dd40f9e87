"""The auditor's reads of the disclosure log: search it by actor, record, agreement, kind and
time; find the record a search or a disclosure history is about; and "verify now", the check of
`pars audit verify` run against the latest signed checkpoint.

Auditors only (a refusal is audited `access:denied`). Every read is itself on the log: a search
`audit_log:read` (with the filters, the page and how many entries it returned; `failure` when it
named a record or agreement that does not exist), a verification `audit:verified` (as the CLI
writes it, with the checkpoint checked and the number of problems). A record's disclosure
history is `services.transparency.disclosure_history`, audited there.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pars.audit.merkle import EMPTY_ROOT
from pars.audit.standalone import root_from_consistency
from pars.domain.errors import DomainError, FieldError, InvalidInput
from pars.domain.identifiers import valid_otn
from pars.domain.roles import Role
from pars.services import audit as audit_svc
from pars.services import audit_verify, transparency
from pars.services.app import Pars, Principal
from pars.services.auth import require_role
from pars.store import audit as log
from pars.store import audit_search as store
from pars.store import transparency as records
from pars.store.audit_search import LogQuery
from pars.store.uow import AuditEntry

__all__ = ["PAGE", "ROLES", "Record", "history", "search", "verify_now"]

ROLES = frozenset({Role.AUDITOR})
READ = "audit_log:read"
PAGE = 50
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_OTN_SHAPE = re.compile(r"^[A-Z]\d{6}-\d$")
_log = logging.getLogger(__name__)

RECORD_FORMAT = (
    "Enter an arrest or person id (36 characters, like 3f2a0c1e-…) or an offense tracking "
    "number (like Q333333-0)"
)


@dataclass(frozen=True)
class Record:
    """What a search or a history is about. `kind` is "arrest", "person", or "record" (an id
    only the log still names, such as an expunged arrest); `ids` are the ids searched for: the
    record's and, for a person, their arrests'."""

    kind: str
    id: str
    ids: tuple[str, ...]
    otn: str | None = None


@dataclass(frozen=True)
class _Miss:
    """Why a text names no record, and whether finding that out looked a record up."""

    reason: str
    looked_up: bool


def _find(conn: Any, text: str) -> Record | _Miss:
    """The record `text` names (an id, any case, or an OTN), or why it names none."""
    value = text.strip()
    if _UUID.match(value.lower()):
        value = value.lower()
        if records.arrest_exists(conn, value):
            return Record("arrest", value, (value,))
        if records.person_exists(conn, value):
            return Record("person", value, (value, *records.person_arrests(conn, value)))
        if store.log_mentions(conn, value):
            return Record("record", value, (value,))
        return _Miss("No arrest or person has this id, and the log names no record with it", True)
    otn = value.upper()
    if _OTN_SHAPE.match(otn):
        if not valid_otn(otn):
            return _Miss("The check digit of this offense tracking number is wrong", False)
        arrest = store.arrest_for_otn(conn, otn)
        if arrest is None:
            return _Miss("No arrest has this offense tracking number", True)
        return Record("arrest", arrest, (arrest,), otn)
    return _Miss(RECORD_FORMAT, False)


def search(
    pars: Pars,
    who: Principal,
    *,
    actor: str | None = None,
    record: str | None = None,
    agreement_id: str | None = None,
    actions: tuple[str, ...] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = PAGE,
) -> dict[str, Any]:
    """A page of log entries matching every filter given, newest first: {"items", "next"
    (the `before` of the next, older page, or None), "record" (a Record or None)}. A record or
    agreement that does not exist is an InvalidInput naming the field (`/record`,
    `/agreement`), and the attempt is audited as a failed read."""
    require_role(pars, who, ROLES, "search the disclosure log")
    errors: list[FieldError] = []
    if since is not None and until is not None and until <= since:
        errors.append(FieldError("/until", "The end must be after the start"))
    if actor is not None and (len(actor) > 60 or not actor.isprintable()):
        errors.append(FieldError("/actor", "A user or partner name has at most 60 characters"))
    if agreement_id is not None and not _UUID.match(agreement_id):
        errors.append(FieldError("/agreement", "This is not an agreement id"))
    if errors:
        raise InvalidInput(errors)
    found: Record | None = None
    items: list[dict[str, Any]] = []
    after: int | None = None
    with pars.reader() as uow:
        if record is not None:
            answer = _find(uow.conn, record)
            if isinstance(answer, _Miss):
                errors.append(FieldError("/record", answer.reason))
            else:
                found = answer
        if agreement_id is not None and not store.agreement_exists(uow.conn, agreement_id):
            errors.append(FieldError("/agreement", "No agreement has this id"))
        if not errors:
            query = LogQuery(
                actor=actor,
                records=found.ids if found else (),
                agreement_id=agreement_id,
                actions=actions,
                since=since,
                until=until,
                before=before,
            )
            items, after = store.search(uow.conn, query, limit)
    filters = {
        "actor": actor,
        "record": found.id if found else None,
        "agreement": agreement_id,
        "actions": list(actions) or None,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    details: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
    if errors:
        details["refused"] = [e.pointer for e in errors]
        entry = AuditEntry(who.username, READ, "failure", who.role, None, details)
        pars.audit_now(entry)
        raise InvalidInput(errors)
    details |= {"entries": len(items)} | ({} if before is None else {"before": before})
    subject = found.id if found else agreement_id
    pars.audit_now(AuditEntry(who.username, READ, "success", who.role, subject, details))
    return {"items": items, "next": after, "record": found}


def history(pars: Pars, who: Principal, record: str) -> dict[str, Any]:
    """The disclosure history (`services.transparency.disclosure_history`, audited there) of
    the arrest or person `record` names (an id or an OTN), with "kind" and "otn" added. An id
    that is neither goes to the history as an arrest id, whose read audits the failure and
    answers NotFound; text that names no record is an InvalidInput on `/record`."""
    require_role(pars, who, transparency.HISTORY_ROLES, "read disclosure histories")
    with pars.reader() as uow:
        answer = _find(uow.conn, record)
    if isinstance(answer, _Miss):
        value = record.strip().lower()
        if not _UUID.match(value):
            if answer.looked_up:  # an OTN no arrest has: a look-up all the same, so on the log
                entry = AuditEntry(who.username, "disclosure_history:read", "failure", who.role,
                                   None, {"of": "otn"})  # fmt: skip
                pars.audit_now(entry)
            raise InvalidInput.one("/record", answer.reason)
        answer = Record("arrest", value, (value,))
    if answer.kind == "person":
        result = transparency.disclosure_history(pars, who, person_id=answer.id)
    else:
        result = transparency.disclosure_history(pars, who, arrest_id=answer.id)
    return {**result, "kind": answer.kind, "otn": answer.otn}


# -- verify now -------------------------------------------------------------------------------


def _checkpoint(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row["id"],
        "size": int(row["size"]),
        "root": bytes(row["root"]),
        "root_hash": base64.b64encode(bytes(row["root"])).decode(),
        "at": row["at"],
        "key_id": row["key_id"],
        "note": row["note"],
    }


def _consistent(pars: Pars, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether the consistency proof the log serves (GET /api/v1/audit/proof/consistency)
    leads from the older checkpoint's signed root to the newer one's, checked as the
    stand-alone verifier checks it."""
    if old["size"] == 0:
        return bytes(old["root"]) == EMPTY_ROOT
    try:
        proof = audit_svc.consistency_proof(pars, old["size"], new["size"])
    except DomainError:
        return False
    hashes = [base64.b64decode(p) for p in proof["proof"]]
    root = root_from_consistency(old["size"], new["size"], old["root"], hashes)
    return root is not None and root == bytes(new["root"])


def verify_now(
    pars: Pars, who: Principal, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Recompute the whole log from its entries and check it against every signed checkpoint
    (`services.audit_verify.verify`, as `pars audit verify`), and check that the latest
    checkpoint extends the one before it. Returns {"ok", "checked" (the latest checkpoint, or
    None when none is signed yet), "previous", "consistent" (None without two checkpoints),
    "size", "entries", "checkpoints", "problems", "public_key_id", "at"}. Never raises on a
    broken log: what cannot be read is a problem, and the run is audited either way."""
    require_role(pars, who, ROLES, "verify the disclosure log")
    with pars.reader() as uow:
        latest = log.checkpoints(uow.conn, limit=2)
    checked = _checkpoint(latest[0] if latest else None)
    previous = _checkpoint(latest[1] if len(latest) > 1 else None)
    try:
        report = audit_verify.verify(pars, progress=progress)
    except Exception as e:  # a log broken in a way the verifier cannot read is a failure too
        _log.warning("audit verification stopped: %r", e)
        report = audit_verify.Report(
            problems=[f"the check stopped: part of the log cannot be read ({type(e).__name__})"]
        )
    problems = list(report.problems)
    consistent: bool | None = None
    if checked is not None and previous is not None:
        consistent = _consistent(pars, previous, checked)
        if not consistent:
            problems.append(
                f"checkpoint {checked['id']} (size {checked['size']}) is not proven to extend "
                f"checkpoint {previous['id']} (size {previous['size']}): the consistency proof "
                "does not lead from one signed root to the other"
            )
    ok = not problems
    details = {
        "entries": report.entries,
        "problems": len(problems),
        "checkpoint": checked["id"] if checked else None,
        "size": checked["size"] if checked else None,
    }
    outcome = "success" if ok else "failure"
    pars.audit_now(AuditEntry(who.username, "audit:verified", outcome, who.role, None, details))
    return {
        "ok": ok,
        "checked": checked,
        "previous": previous,
        "consistent": consistent,
        "size": report.size,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "problems": problems,
        "public_key_id": pars.signer.key_id(audit_svc.log_origin(pars)).hex(),
        "at": pars.clock.now(),
    }
