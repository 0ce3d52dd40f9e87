"""Whether an agreement may disclose at an instant: the one check every transport and the relay
make before anything leaves (queueing, serving the feed, pushing, answering a look-up)."""

from __future__ import annotations

from datetime import datetime

from pars.services.app import Pars
from pars.sharing.agreements import Agreement, AgreementState

__all__ = ["in_force_reason"]


def in_force_reason(a: Agreement | None, pars: Pars, now: datetime) -> str | None:
    """None when the agreement may disclose at `now`; otherwise why not."""
    if a is None:
        return "agreement missing"
    if a.state is not AgreementState.ACTIVE:
        return f"agreement {a.state.value}"
    if now < a.starts_at:
        return "agreement not started"
    if now >= a.ends_at:
        return "agreement ended"
    refusals = pars.policy.refusals(a.partner_class, a.granted_classes())
    if refusals:
        return "policy: " + refusals[0]
    return None
