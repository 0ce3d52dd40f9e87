"""The one function through which arrest data leaves PARS.

`project(agreement, event, now, policy)` is pure and total: it returns the CloudEvent that may be
sent to the agreement's partner at `now`, holding only the fields the agreement grants AND the
jurisdiction's policy allows AND (for sensitive classes) the owners approved by quorum, or None
when nothing may be sent. Agreements are compiled once per version into a `Projector` (a set of
allowed paths), so each delivery is a dictionary walk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pars.sharing.agreements import Agreement
from pars.sharing.fields import ARREST_FIELDS, SENSITIVE_CLASSES, FieldClass
from pars.sharing.policy import JurisdictionPolicy

__all__ = ["Event", "Projector", "compile_projector", "project", "project_record"]


@dataclass(frozen=True)
class Event:
    """A committed event with the record it carries (the arrest at the event's version, as the
    full staff view), before projection."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    version: int
    record: Mapping[str, Any]


@dataclass(frozen=True)
class Projector:
    """An agreement version compiled against a policy: the paths that may leave."""

    allowed: frozenset[str]
    top_level: frozenset[str]
    nested: Mapping[str, frozenset[str]]
    juvenile_allowed: bool

    def apply(self, record: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in record.items():
            if key in self.top_level:
                out[key] = value
            elif key in self.nested and isinstance(value, Mapping):
                subs = self.nested[key]
                kept = {k: v for k, v in value.items() if k in subs}
                if kept:
                    out[key] = kept
        return out


@lru_cache(maxsize=1024)
def compile_projector(agreement: Agreement, policy: JurisdictionPolicy) -> Projector:
    """The allowed paths: granted ∩ policy-allowed for the partner class, minus sensitive classes
    that a quorum of owners has not explicitly approved. Cached by agreement version."""
    permitted = policy.may_grant(agreement.partner_class)
    sensitive_ok = agreement.approved_sensitive(policy)
    allowed = frozenset(
        path
        for path in agreement.granted_fields()
        if ARREST_FIELDS[path] in permitted
        and (ARREST_FIELDS[path] not in SENSITIVE_CLASSES or ARREST_FIELDS[path] in sensitive_ok)
    )
    nested: dict[str, set[str]] = {}
    for path in allowed:
        if "." in path:
            head, sub = path.split(".", 1)
            nested.setdefault(head, set()).add(sub)
    return Projector(
        allowed=allowed,
        top_level=frozenset(p for p in allowed if "." not in p),
        nested={k: frozenset(v) for k, v in nested.items()},
        juvenile_allowed=FieldClass.JUVENILE in permitted and FieldClass.JUVENILE in sensitive_ok,
    )


def project_record(
    agreement: Agreement, record: Mapping[str, Any], now: datetime, policy: JurisdictionPolicy
) -> dict[str, Any] | None:
    """What of `record` may leave to this agreement's partner at `now`, or None: the agreement
    is not in force, or the record is a juvenile's and juvenile records are not allowed and
    approved. Used directly for look-ups, and by `project` for events."""
    if not agreement.discloses_at(now):
        return None
    projector = compile_projector(agreement, policy)
    if record.get("juvenile") and not projector.juvenile_allowed:
        return None
    return projector.apply(record)


def project(
    agreement: Agreement, event: Event, now: datetime, policy: JurisdictionPolicy
) -> dict[str, Any] | None:
    """The CloudEvent for this agreement's partner, or None if nothing of `event` may leave at
    `now` (see `project_record`), or the agreement does not cover the event type."""
    if event.type not in agreement.event_types:
        return None
    data = project_record(agreement, event.record, now, policy)
    if data is None:
        return None
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": event.time.isoformat(),
        "datacontenttype": "application/json",
        "pars_agreement": f"{agreement.id}/v{agreement.version}",
        "data": data,
    }
