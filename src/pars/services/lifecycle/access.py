"""Staff access to sealed records: only the roles `PARS_SEALED_READ_ROLES` names read them, each
read audited (`arrest:read_sealed`); for anyone else a sealed record does not exist (404, the
same answer as an unknown id)."""

from __future__ import annotations

from pars.domain.arrest import Arrest, ArrestState
from pars.domain.errors import NotFound
from pars.services.app import Pars, Principal
from pars.store.uow import AuditEntry

__all__ = ["ensure_sealed_readable", "sealed_hidden"]


def sealed_hidden(pars: Pars, arrest: Arrest, who: Principal) -> bool:
    """Whether `arrest` is sealed and `who`'s role may not read sealed records."""
    return arrest.state is ArrestState.SEALED and who.role not in pars.settings.sealed_readers


def ensure_sealed_readable(pars: Pars, arrest: Arrest, who: Principal) -> None:
    """NotFound (as for an unknown id) if `who` may not read this sealed record; a permitted read
    of a sealed record is audited."""
    if arrest.state is not ArrestState.SEALED:
        return
    if sealed_hidden(pars, arrest, who):
        raise NotFound("no such arrest")
    pars.audit_now(AuditEntry(who.username, "arrest:read_sealed", "success", who.role, arrest.id))
