"""What a self-refreshing staff screen has shown, and how its automatic refreshes are audited.

The docket and the custody board refresh themselves (an HTMX poll every few seconds). Auditing
each poll as a read would put a row on the append-only log every few seconds per open screen,
and say nothing a privacy auditor needs: they ask who saw which record, and when. So:

- the page view (the user's own request) is audited by its read as every listing is
  (`arrest:listed`, `services.views.list_arrests`), and `viewed()` remembers, on the session's
  row and per screen, which records it showed, each at its version;
- an automatic refresh reads without auditing, and `refreshed()` writes one row
  `arrest:listed` for each record (or newer version of one) the session had not been shown on
  that screen, with the record as its subject (so the audit screen's record filter finds it)
  and details `{"version", "refresh": "auto", "screen"}`, and adds them to what was shown, in
  one transaction. A refresh that shows nothing new writes nothing at all.

A record that leaves the screen and comes back is not new: the session was shown it before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pars.services.app import Pars, Principal
from pars.store.uow import AuditEntry

__all__ = ["AUTO", "refreshed", "shown_keys", "viewed"]

AUTO = "auto"  # details["refresh"] of a row written for an automatic refresh


def shown_keys(views: Iterable[Mapping[str, Any]]) -> list[str]:
    """ "<id>@<version>" of each arrest view, in order: what a screen showed."""
    return [f"{v['id']}@{v['version']}" for v in views]


def viewed(pars: Pars, session_id: str, screen: str, keys: Iterable[str]) -> None:
    """The user opened `screen` (its read audited already): it shows `keys` from now on."""
    with pars.uow() as uow:
        memory = uow.sessions.shown(session_id)
        memory[screen] = sorted(set(keys))
        uow.sessions.update(session_id, shown=memory)
        uow.commit()


def refreshed(
    pars: Pars, who: Principal, session_id: str, screen: str, keys: Iterable[str]
) -> list[str]:
    """An automatic refresh of `screen` showed `keys`: audit those the session had not been
    shown on it (one `arrest:listed` row each) and remember them; returns them. Nothing is
    written when nothing is new."""
    wanted = list(dict.fromkeys(keys))
    with pars.reader() as reader:
        before = set(reader.sessions.shown(session_id).get(screen, ()))
    if all(k in before for k in wanted):
        return []  # the usual poll: no write at all, not even a lock taken
    with pars.uow() as uow:
        memory = uow.sessions.shown(session_id)
        known = set(memory.get(screen, ()))
        new = [k for k in wanted if k not in known]
        for key in new:
            arrest_id, _, version = key.rpartition("@")
            details = {"version": int(version), "refresh": AUTO, "screen": screen}
            uow.audit(
                AuditEntry(who.username, "arrest:listed", "success", who.role, arrest_id, details)
            )
        if new:
            memory[screen] = sorted(known | set(new))
            uow.sessions.update(session_id, shown=memory)
        uow.commit()
    return new
