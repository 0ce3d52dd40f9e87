"""The criminal complaint of a charged arrest: its preview as JSON and its PDF."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from pars.domain.roles import Step
from pars.services.app import Pars, Principal
from pars.services.complaint import complaint_pdf, complaint_preview
from pars.web.deps import get_pars, may
from pars.web.routing import CheckedRoute

__all__ = ["complaint_pdf_response", "router"]

router = APIRouter(prefix="/api/v1/arrests", tags=["arrests"], route_class=CheckedRoute)
PARS = Annotated[Pars, Depends(get_pars)]
Reader = Annotated[Principal, may(Step.READ)]


@router.get("/{arrest_id}/complaint", summary="The criminal complaint's content (preview)")
def preview(arrest_id: str, who: Reader, pars: PARS) -> dict[str, Any]:
    """What the complaint PDF shows, as data: 409 before the charging decision or once the
    case ended without one."""
    return complaint_preview(pars, who, arrest_id).to_dict()


@router.get(
    "/{arrest_id}/complaint.pdf",
    summary="The criminal complaint as a PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the complaint"}},
)
def pdf(arrest_id: str, who: Reader, pars: PARS) -> Response:
    """The complaint drawn from the decided charges, as an attachment named after the OTN."""
    return complaint_pdf_response(pars, who, arrest_id)


def complaint_pdf_response(pars: Pars, who: Principal, arrest_id: str) -> Response:
    """The complaint PDF as an attachment, never cached: the API's answer and the screens'."""
    doc = complaint_pdf(pars, who, arrest_id)
    return Response(
        doc.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{doc.filename}"',
            # It carries personal data: no copy in a shared or browser cache.
            "Cache-Control": "no-store",
        },
    )
