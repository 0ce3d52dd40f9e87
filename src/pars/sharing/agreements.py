"""Data-sharing agreements: what a partner receives, why, under which law, from when until when,
and who approved it. An agreement discloses nothing until the owners' quorum approves it, and
nothing outside [starts_at, ends_at). Renewal is a new version that needs approval again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from pars.domain.errors import Conflict, FieldError, Forbidden, InvalidInput
from pars.domain.events import EVENT_TYPES
from pars.sharing.fields import (
    ARREST_FIELDS,
    NEVER_DISCLOSED,
    SENSITIVE_CLASSES,
    FieldClass,
    leaves_under,
)
from pars.sharing.policy import PARTNER_CLASSES, JurisdictionPolicy

__all__ = [
    "PURPOSE_CODE",
    "Agreement",
    "AgreementState",
    "Approval",
    "Lookup",
    "Transport",
    "from_document",
    "to_document",
]


class AgreementState(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Transport(StrEnum):
    FEED = "feed"  # HTTP feed and Server-Sent Events, pulled by the partner
    WEBHOOK = "webhook"
    NATS = "nats"


@dataclass(frozen=True)
class Lookup:
    """Partner look-ups by identifier: which identifiers, how many per minute, and the purpose
    codes a look-up may name (`warrant-check`): the only purpose the disclosure log records,
    so that no free text typed by a partner reaches it. No codes: no look-up is answered."""

    identifiers: frozenset[str] = frozenset()
    per_minute: int = 0
    purposes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Approval:
    owner: str
    at: datetime
    # The sensitive classes this owner explicitly approved; they need a quorum of their own.
    sensitive: frozenset[FieldClass] = frozenset()


_CLASS_NAMES = frozenset(c.value for c in FieldClass)
LOOKUP_IDENTIFIERS = frozenset({"otn", "docket", "state_id"})
PURPOSE_CODE = re.compile(r"^[a-z][a-z0-9_-]{2,39}$")
A = AgreementState


@dataclass(frozen=True)
class Agreement:
    """One version of an agreement. Methods return the next version of the value; the caller
    stores it. `granted` may name fields (`person.last_name`) or classes (`identity`)."""

    id: str
    version: int
    partner: str
    partner_class: str
    purpose: str
    legal_basis: str
    event_types: frozenset[str]
    granted: frozenset[str]
    starts_at: datetime
    ends_at: datetime
    transport: Transport = Transport.FEED
    webhook_url: str | None = None
    lookup: Lookup = field(default_factory=Lookup)
    state: AgreementState = AgreementState.DRAFT
    approvals: tuple[Approval, ...] = ()
    previous_version: int | None = None

    # -- what it grants --------------------------------------------------------------------

    def granted_fields(self) -> frozenset[str]:
        """Every catalogue leaf the grant names: through its class, by its own path, or by a
        subtree above it (`charges`, `person.aliases`). Staff leaves are never among them."""
        classes = {g for g in self.granted if g in _CLASS_NAMES}
        named = {leaf for g in self.granted if g not in _CLASS_NAMES for leaf in leaves_under(g)}
        return frozenset(
            path
            for path, cls in ARREST_FIELDS.items()
            if (cls in classes or path in named) and cls not in NEVER_DISCLOSED
        )

    def granted_classes(self) -> frozenset[FieldClass]:
        """The classes of every granted leaf, and every class the grant names outright
        (`juvenile` has no leaf of its own: it stands for a juvenile's whole record)."""
        named = {FieldClass(g) for g in self.granted if g in _CLASS_NAMES}
        return frozenset(ARREST_FIELDS[p] for p in self.granted_fields()) | named

    def validate(self, policy: JurisdictionPolicy) -> None:
        """InvalidInput for every part of the document that is malformed or that the policy
        forbids."""
        errs: list[tuple[str, str]] = []
        if self.partner_class not in PARTNER_CLASSES:
            errs.append(("/partner_class", f"one of {', '.join(PARTNER_CLASSES)}"))
        unknown = sorted(g for g in self.granted if g not in _CLASS_NAMES and not leaves_under(g))
        if unknown:
            errs.append(("/granted", f"not a field or class: {', '.join(unknown)}"))
        staff = sorted(
            g for g in self.granted
            if g in {c.value for c in NEVER_DISCLOSED}
            or (g in ARREST_FIELDS and ARREST_FIELDS[g] in NEVER_DISCLOSED)
        )  # fmt: skip
        if staff:
            errs.append(
                (
                    "/granted",
                    f"staff usernames never leave PARS: {', '.join(staff)} cannot be granted",
                )
            )
        if not self.granted:
            errs.append(("/granted", "grant at least one field or class"))
        bad_events = sorted(self.event_types - EVENT_TYPES)
        if bad_events:
            errs.append(("/event_types", f"unknown event type(s): {', '.join(bad_events)}"))
        if not self.event_types:
            errs.append(("/event_types", "cover at least one event type"))
        if self.ends_at <= self.starts_at:
            errs.append(("/ends_at", "must be after starts_at"))
        if self.transport is Transport.WEBHOOK and not self.webhook_url:
            errs.append(("/webhook_url", "required for webhook transport"))
        bad_ids = sorted(self.lookup.identifiers - LOOKUP_IDENTIFIERS)
        if bad_ids:
            errs.append(("/lookup/identifiers", f"look-up only by {', '.join(LOOKUP_IDENTIFIERS)}"))
        if self.lookup.identifiers and not 1 <= self.lookup.per_minute <= 600:
            errs.append(("/lookup/per_minute", "from 1 to 600"))
        if any(not PURPOSE_CODE.match(p) for p in self.lookup.purposes):
            errs.append(
                (
                    "/lookup/purposes",
                    "each purpose code has 3 to 40 lower-case letters, digits, '-' or '_' "
                    "and starts with a letter, like warrant-check",
                )
            )
        if len(self.lookup.purposes) > 20:
            errs.append(("/lookup/purposes", "at most 20 purpose codes"))
        if not unknown and self.partner_class in PARTNER_CLASSES:
            refused = policy.refusals(self.partner_class, self.granted_classes())
            errs += [("/granted", r) for r in refused]
            if refused:
                errs += [("/granted", r) for r in self._subtree_refusals(policy)]
        if errs:
            raise InvalidInput([FieldError(p, d) for p, d in errs])

    def _subtree_refusals(self, policy: JurisdictionPolicy) -> list[str]:
        """For a grant by subtree, which of its leaves the policy forbids, so that the author
        can name the leaves they need instead."""
        permitted = policy.may_grant(self.partner_class)
        out = []
        for g in sorted(self.granted - _CLASS_NAMES):
            over = sorted(
                f"{p} ({ARREST_FIELDS[p]})"
                for p in leaves_under(g)
                if ARREST_FIELDS[p] not in permitted and ARREST_FIELDS[p] not in NEVER_DISCLOSED
            )
            if over and g not in ARREST_FIELDS:
                out.append(f"{g} includes {', '.join(over)}; grant the leaves you need by name")
        return out

    # -- lifecycle -------------------------------------------------------------------------

    def _require(self, action: str, *states: AgreementState) -> None:
        if self.state not in states:
            allowed = ", ".join(s.value for s in states)
            raise Conflict(
                f"cannot {action} an agreement in state '{self.state}' (only from {allowed})"
            )

    def submit(self, policy: JurisdictionPolicy) -> Agreement:
        self._require("submit", A.DRAFT)
        self.validate(policy)
        return replace(self, state=A.PENDING_APPROVAL, approvals=())

    def approve(
        self,
        owner: str,
        at: datetime,
        policy: JurisdictionPolicy,
        sensitive: frozenset[FieldClass] = frozenset(),
    ) -> Agreement:
        """One owner's approval. With the quorum, the agreement becomes active (it discloses only
        from `starts_at`). Sensitive classes need the quorum's explicit approval as well."""
        self._require("approve", A.PENDING_APPROVAL)
        if owner not in policy.owners:
            raise Forbidden(f"{owner!r} is not an owner under policy {policy.name!r}")
        if any(a.owner == owner for a in self.approvals):
            raise Conflict(f"{owner!r} has already approved this version")
        asked = self.granted_classes() & SENSITIVE_CLASSES
        if sensitive - asked:
            raise InvalidInput.one("/sensitive", "approves classes the agreement does not ask for")
        self.validate(policy)  # the policy may have changed since submission
        approvals = (*self.approvals, Approval(owner, at, sensitive))
        state = A.ACTIVE if len(approvals) >= policy.quorum else A.PENDING_APPROVAL
        if at >= self.ends_at:
            raise Conflict("the agreement has already ended; renew it instead")
        return replace(self, approvals=approvals, state=state)

    def approved_sensitive(self, policy: JurisdictionPolicy) -> frozenset[FieldClass]:
        """Sensitive classes that a quorum of owners explicitly approved."""
        return frozenset(
            c for c in SENSITIVE_CLASSES
            if sum(1 for a in self.approvals if c in a.sensitive) >= policy.quorum
        )  # fmt: skip

    def suspend(self, owner: str, policy: JurisdictionPolicy) -> Agreement:
        """Any single owner may suspend at once."""
        if owner not in policy.owners:
            raise Forbidden(f"{owner!r} is not an owner under policy {policy.name!r}")
        self._require("suspend", A.ACTIVE, A.PENDING_APPROVAL)
        return replace(self, state=A.SUSPENDED)

    def revoke(self, owner: str, policy: JurisdictionPolicy) -> Agreement:
        if owner not in policy.owners:
            raise Forbidden(f"{owner!r} is not an owner under policy {policy.name!r}")
        self._require("revoke", A.DRAFT, A.PENDING_APPROVAL, A.ACTIVE, A.SUSPENDED)
        return replace(self, state=A.REVOKED)

    def renew(self, starts_at: datetime, ends_at: datetime) -> Agreement:
        """The next version, in draft, with a new term; it needs the quorum again."""
        self._require("renew", A.ACTIVE, A.EXPIRED, A.SUSPENDED)
        return replace(
            self,
            version=self.version + 1,
            previous_version=self.version,
            starts_at=starts_at,
            ends_at=ends_at,
            state=A.DRAFT,
            approvals=(),
        )

    def effective_state(self, now: datetime) -> AgreementState:
        """The state at `now`: an active agreement past its end is expired, whatever is stored."""
        if self.state is A.ACTIVE and now >= self.ends_at:
            return A.EXPIRED
        return self.state

    def discloses_at(self, now: datetime) -> bool:
        """Whether anything may leave under this agreement at `now` (to the second)."""
        return self.state is A.ACTIVE and self.starts_at <= now < self.ends_at


# -- documents -----------------------------------------------------------------------------


def to_document(a: Agreement) -> dict[str, object]:
    """The agreement as a plain document (JSON and YAML), round-trippable by `from_document`."""
    return {
        "id": a.id,
        "version": a.version,
        "partner": a.partner,
        "partner_class": a.partner_class,
        "purpose": a.purpose,
        "legal_basis": a.legal_basis,
        "event_types": sorted(a.event_types),
        "granted": sorted(a.granted),
        "starts_at": a.starts_at.isoformat(),
        "ends_at": a.ends_at.isoformat(),
        "transport": a.transport.value,
        "webhook_url": a.webhook_url,
        "lookup": {
            "identifiers": sorted(a.lookup.identifiers),
            "per_minute": a.lookup.per_minute,
            "purposes": sorted(a.lookup.purposes),
        },
        "state": a.state.value,
        "approvals": [
            {"owner": p.owner, "at": p.at.isoformat(), "sensitive": sorted(p.sensitive)}
            for p in a.approvals
        ],
        "previous_version": a.previous_version,
    }


def from_document(d: dict[str, Any]) -> Agreement:
    """Inverse of `to_document`; KeyError/ValueError on a malformed document."""
    lookup = d.get("lookup") or {}
    return Agreement(
        id=str(d["id"]),
        version=int(d["version"]),
        partner=str(d["partner"]),
        partner_class=str(d["partner_class"]),
        purpose=str(d["purpose"]),
        legal_basis=str(d["legal_basis"]),
        event_types=frozenset(d["event_types"]),
        granted=frozenset(d["granted"]),
        starts_at=datetime.fromisoformat(d["starts_at"]),
        ends_at=datetime.fromisoformat(d["ends_at"]),
        transport=Transport(d.get("transport", "feed")),
        webhook_url=d.get("webhook_url"),
        lookup=Lookup(
            frozenset(lookup.get("identifiers", ())),
            int(lookup.get("per_minute", 0)),
            frozenset(lookup.get("purposes", ())),
        ),
        state=AgreementState(d.get("state", "draft")),
        approvals=tuple(
            Approval(
                p["owner"],
                datetime.fromisoformat(p["at"]),
                frozenset(FieldClass(c) for c in p.get("sensitive", ())),
            )
            for p in d.get("approvals", ())
        ),
        previous_version=d.get("previous_version"),
    )
