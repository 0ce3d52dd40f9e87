"""The charge catalogue: look-up by citation or words."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from pars.domain.catalogue import Offense
from pars.domain.errors import NotFound
from pars.services.app import Pars
from pars.web.deps import Caller, get_pars
from pars.web.routing import CheckedRoute

router = APIRouter(prefix="/api/v1/charges", tags=["charges"], route_class=CheckedRoute)


def _offense(o: Offense) -> dict[str, Any]:
    return {
        "statute": str(o.citation),
        "key": o.citation.key,
        "title": o.citation.title,
        "section": o.citation.section,
        "subsection": o.citation.subsection,
        "description": o.description,
        "default_grade": o.default_grade.value,
    }


@router.get("")
def search(
    who: Caller,
    pars: Annotated[Pars, Depends(get_pars)],
    q: Annotated[str, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Offenses whose citation or description matches every word of `q`."""
    return {"items": [_offense(o) for o in pars.catalogue.search(q, limit)]}


@router.get("/{citation}")
def get(citation: str, who: Caller, pars: Annotated[Pars, Depends(get_pars)]) -> dict[str, Any]:
    """One offense by citation, in any usual form or as its key (e.g. `18-2701-A1`)."""
    offense = pars.catalogue.get(citation)
    if offense is None:
        raise NotFound("no such offense in the catalogue")
    return _offense(offense)
