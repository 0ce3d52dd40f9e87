"""Who may see an arrest at all (drafts are their author's), shared by the command handlers and
the read views without either importing the other."""

from __future__ import annotations

from pars.domain.arrest import Arrest
from pars.domain.errors import NotFound
from pars.domain.roles import Role
from pars.services.app import Principal

__all__ = ["ensure_visible"]


def ensure_visible(arrest: Arrest, who: Principal) -> None:
    """Drafts exist for their author only (and the author's supervisor)."""
    if arrest.submitted or arrest.created_by == who.username or who.role == Role.SUPERVISOR:
        return
    raise NotFound("no such arrest")
