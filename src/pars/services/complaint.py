"""The criminal complaint of a charged arrest: its preview as data and its PDF, for staff who may
read the record. Every read is audited like a read of the record itself."""

from __future__ import annotations

from dataclasses import dataclass

from pars.domain.arrest import ArrestState
from pars.domain.errors import Conflict
from pars.domain.roles import Step
from pars.reports.complaint import Complaint, build_complaint
from pars.services.app import Pars, Principal
from pars.services.auth import require
from pars.services.views import render
from pars.services.visibility import ensure_visible
from pars.store.uow import AuditEntry

__all__ = ["COMPLAINT_STATES", "ComplaintPdf", "complaint_pdf", "complaint_preview"]

S = ArrestState
# The complaint exists from the charging decision on, while the case goes on: at arraignment
# or, after release without arraignment, by summons. Declined, diverted and dismissed cases have
# none to give; sealed and expunged records show nothing.
COMPLAINT_STATES = frozenset(
    {S.CHARGED, S.RELEASED_FOR_SUMMONS, S.ARRAIGNMENT_SCHEDULED, S.ARRAIGNED}
)
# Pennsylvania's court codes as the docket number spells them; another code prints as it is.
_COURTS = {
    "MC": "Municipal Court",
    "CP": "Court of Common Pleas",
    "MJ": "Magisterial District Court",
}


@dataclass(frozen=True)
class ComplaintPdf:
    filename: str
    content: bytes


def _complaint(pars: Pars, who: Principal, arrest_id: str, action: str) -> Complaint:
    """The complaint of a readable arrest in a COMPLAINT_STATES state. Forbidden for a role that
    may not read the record, NotFound for an unknown (or someone else's draft) arrest, Conflict
    in any other state; success and Conflict are audited as `action`."""
    require(pars, who, Step.READ, arrest_id)
    with pars.reader() as uow:
        arrest = uow.arrests.get(arrest_id, lock=False)
    ensure_visible(arrest, who)
    if arrest.state not in COMPLAINT_STATES:
        pars.audit_now(
            AuditEntry(
                who.username,
                action,
                "failure",
                who.role,
                arrest_id,
                details={"state": arrest.state.value},
            )
        )
        states = ", ".join(sorted(s.value for s in COMPLAINT_STATES))
        raise Conflict(
            f"arrest {arrest_id} has no criminal complaint in state '{arrest.state.value}'; "
            f"there is one once the prosecutor has charged the case (states: {states})"
        )
    pars.audit_now(
        AuditEntry(
            who.username, action, "success", who.role, arrest_id, {"version": arrest.version}
        )
    )
    s = pars.settings
    return build_complaint(
        render(arrest, who),
        jurisdiction=s.jurisdiction,
        court=_COURTS.get(s.court_code, s.court_code),
        zone=s.zone,
    )


def complaint_preview(pars: Pars, who: Principal, arrest_id: str) -> Complaint:
    """The complaint's content, for a screen to show (`Complaint.to_dict()` for JSON); audited
    as `complaint:previewed`."""
    return _complaint(pars, who, arrest_id, "complaint:previewed")


def complaint_pdf(pars: Pars, who: Principal, arrest_id: str) -> ComplaintPdf:
    """The complaint as a PDF named after the OTN; audited as `complaint:downloaded`."""
    complaint = _complaint(pars, who, arrest_id, "complaint:downloaded")
    from pars.reports.complaint_pdf import render_pdf  # fpdf2 loads on the first PDF only

    pdf = render_pdf(complaint, created_at=pars.clock.now())
    return ComplaintPdf(f"complaint-{complaint.otn}.pdf", pdf)
