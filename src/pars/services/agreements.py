"""Partners and data-sharing agreements: one handler per command, each audited.

Privacy officers draft and submit agreements; staff who speak for one of the system's owners
approve, suspend or revoke them. Every version is kept.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from pars.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from pars.domain.roles import Role
from pars.services.app import Pars, Principal
from pars.services.auth import require_role
from pars.services.delivery.outbound import check_webhook_url
from pars.services.inputs import AgreementIn, ApprovalIn, RenewalIn
from pars.sharing.agreements import Agreement, AgreementState, Lookup, Transport, to_document
from pars.sharing.fields import FieldClass
from pars.sharing.policy import PARTNER_CLASSES
from pars.store.uow import AuditEntry

__all__ = [
    "MANAGE_ROLES",
    "READ_ROLES",
    "add_partner",
    "approve",
    "create_agreement",
    "get_agreement",
    "list_agreements",
    "list_partners",
    "partner_deliveries",
    "renew",
    "require_owner",
    "revoke",
    "rotate_partner_key",
    "set_webhook_secret",
    "submit",
    "suspend",
    "view",
]

#: Who drafts, submits and renews agreements (and, speaking for an owner, approves,
#: suspends and revokes them); who reads agreements, partners and deliveries.
MANAGE_ROLES = frozenset({Role.PRIVACY_OFFICER})
READ_ROLES = frozenset({Role.PRIVACY_OFFICER, Role.AUDITOR})
_MANAGE, _READ = MANAGE_ROLES, READ_ROLES


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_partner(pars: Pars, name: str, partner_class: str, by: str = "cli") -> tuple[str, str]:
    """Register a partner agency; returns (partner id, API key). The key is shown only now."""
    if partner_class not in PARTNER_CLASSES:
        raise InvalidInput.one("/partner_class", f"one of {', '.join(PARTNER_CLASSES)}")
    if not name.strip() or len(name) > 120:
        raise InvalidInput.one("/name", "1 to 120 characters")
    partner_id, key = str(uuid.uuid4()), "parsk_" + secrets.token_urlsafe(32)
    now = pars.clock.now()
    with pars.uow() as uow:
        if uow.sharing.partner(name) is not None:
            raise Conflict(f"partner {name!r} exists")
        uow.sharing.add_partner(partner_id, name, partner_class, by, now)
        uow.sharing.add_key(_key_hash(key), partner_id, now)
        uow.audit(
            AuditEntry(by, "partner:created", subject=partner_id, details={"class": partner_class})
        )
        uow.commit()
    return partner_id, key


def rotate_partner_key(pars: Pars, name: str, revoke_old: bool = True, by: str = "cli") -> str:
    """A new API key for the partner; the old ones stop working unless `revoke_old` is False."""
    key = "parsk_" + secrets.token_urlsafe(32)
    now = pars.clock.now()
    with pars.uow() as uow:
        partner = uow.sharing.partner(name)
        if partner is None:
            raise NotFound(f"no partner {name!r}")
        uow.sharing.add_key(_key_hash(key), partner["id"], now)
        revoked = (
            uow.sharing.revoke_keys(partner["id"], now, keep=_key_hash(key)) if revoke_old else 0
        )
        uow.audit(
            AuditEntry(
                by, "partner:key_rotated", subject=partner["id"], details={"revoked": revoked}
            )
        )
        uow.commit()
    return key


def set_webhook_secret(pars: Pars, name: str, by: str = "cli") -> str:
    """A new webhook signing secret for the partner (replacing any); shown only now."""
    from pars.services.delivery.webhooks import new_secret

    secret = new_secret()
    with pars.uow() as uow:
        partner = uow.sharing.partner(name)
        if partner is None:
            raise NotFound(f"no partner {name!r}")
        sealed = pars.keys.encrypt({"secret": secret}, partner["id"])
        uow.sharing.set_webhook_secret(partner["id"], sealed)
        uow.audit(AuditEntry(by, "partner:webhook_secret_set", subject=partner["id"]))
        uow.commit()
    return secret


def view(a: Agreement, partner: dict[str, Any] | None, now: Any) -> dict[str, Any]:
    """The agreement as the API shows it: the document, the partner's name, and the state in
    force now (an active agreement past its end shows as expired)."""
    doc = to_document(a)
    doc["partner_name"] = partner["name"] if partner else None
    doc["effective_state"] = a.effective_state(now).value
    doc["granted_classes"] = sorted(c.value for c in a.granted_classes())
    return doc


def create_agreement(pars: Pars, who: Principal, data: AgreementIn) -> dict[str, Any]:
    require_role(pars, who, _MANAGE, "create agreements")
    if data.webhook_url is not None:  # looked up before the transaction, not inside it
        check_webhook_url(data.webhook_url, pars.settings.webhook_allowlist, pars.resolve)
    now = pars.clock.now()
    with pars.uow() as uow:
        partner = uow.sharing.partner(data.partner)
        if partner is None:
            raise InvalidInput.one("/partner", f"no partner {data.partner!r}; register it first")
        agreement = Agreement(
            id=str(uuid.uuid4()),
            version=1,
            partner=partner["id"],
            partner_class=partner["partner_class"],
            purpose=data.purpose,
            legal_basis=data.legal_basis,
            event_types=frozenset(data.event_types),
            granted=frozenset(data.granted),
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            transport=Transport(data.transport),
            webhook_url=data.webhook_url,
            lookup=Lookup(
                frozenset(data.lookup.identifiers),
                data.lookup.per_minute,
                frozenset(data.lookup.purposes),
            ),
        )
        agreement.validate(pars.policy)  # refused at creation, and again at every delivery
        uow.sharing.add(agreement, who.username, now)
        uow.audit(
            AuditEntry(
                who.username,
                "agreement:created",
                "success",
                who.role,
                agreement.id,
                details={"version": 1, "partner": partner["id"]},
            )
        )
        uow.commit()
    return view(agreement, partner, now)


def _change(
    pars: Pars,
    who: Principal,
    agreement_id: str,
    action: str,
    change: Callable[[Agreement], Agreement],
    new_version: bool = False,
    every_live_version: bool = False,
) -> dict[str, Any]:
    """Apply `change` to the newest version (or, for suspension and revocation, to every
    version it applies to: a renewal's old version stays in force until its end) and save."""
    now = pars.clock.now()
    try:
        with pars.uow() as uow:
            current = uow.sharing.get(agreement_id, lock=True)
            if current is None:
                raise NotFound("no such agreement")
            if every_live_version:
                older = [
                    v
                    for v in uow.sharing.versions(agreement_id)[:-1]
                    if v.state in (AgreementState.ACTIVE, AgreementState.PENDING_APPROVAL)
                ]
                for version in older:
                    uow.sharing.save(change(version), now)
                try:
                    changed = change(current)
                    uow.sharing.save(changed, now)
                except Conflict:
                    if not older:
                        raise
                    changed = current
            else:
                changed = change(current)
                if new_version:
                    uow.sharing.add(changed, who.username, now)
                else:
                    uow.sharing.save(changed, now)
            uow.audit(
                AuditEntry(
                    who.username,
                    f"agreement:{action}",
                    "success",
                    who.role,
                    agreement_id,
                    details={
                        "version": changed.version,
                        "state": changed.state.value,
                        "owner": who.owner,
                    },
                )
            )
            uow.commit()
            partner = uow.sharing.partner(changed.partner)
    except (Conflict, Forbidden, InvalidInput, NotFound) as e:
        pars.audit_now(
            AuditEntry(
                who.username,
                f"agreement:{action}",
                "failure",
                who.role,
                agreement_id,
                details={"error": type(e).__name__},
            )
        )
        raise
    return view(changed, partner, now)


def require_owner(pars: Pars, who: Principal, what: str, subject: str | None = None) -> str:
    """The owner `who` speaks for; Forbidden (and an `access:denied` row) unless `who` is a
    privacy officer who speaks for one."""
    require_role(pars, who, _MANAGE, what, subject)
    if who.owner is None:
        pars.audit_now(
            AuditEntry(
                who.username,
                "access:denied",
                "denied",
                who.role,
                subject,
                details={"step": what, "owner": None},
            )
        )
        raise Forbidden(
            f"only staff who speak for an owner ({', '.join(pars.policy.owners)}) may {what}"
        )
    return who.owner


def submit(pars: Pars, who: Principal, agreement_id: str) -> dict[str, Any]:
    require_role(pars, who, _MANAGE, "submit agreements")
    return _change(pars, who, agreement_id, "submitted", lambda a: a.submit(pars.policy))


def approve(pars: Pars, who: Principal, agreement_id: str, data: ApprovalIn) -> dict[str, Any]:
    owner = require_owner(pars, who, "approve agreements")
    sensitive = frozenset(FieldClass(c) for c in data.sensitive)
    return _change(
        pars,
        who,
        agreement_id,
        "approved",
        lambda a: a.approve(owner, pars.clock.now(), pars.policy, sensitive),
    )


def suspend(pars: Pars, who: Principal, agreement_id: str) -> dict[str, Any]:
    owner = require_owner(pars, who, "suspend agreements")
    return _change(
        pars,
        who,
        agreement_id,
        "suspended",
        lambda a: a.suspend(owner, pars.policy),
        every_live_version=True,
    )


def revoke(pars: Pars, who: Principal, agreement_id: str) -> dict[str, Any]:
    owner = require_owner(pars, who, "revoke agreements")
    return _change(
        pars,
        who,
        agreement_id,
        "revoked",
        lambda a: a.revoke(owner, pars.policy),
        every_live_version=True,
    )


def renew(pars: Pars, who: Principal, agreement_id: str, data: RenewalIn) -> dict[str, Any]:
    require_role(pars, who, _MANAGE, "renew agreements")
    return _change(
        pars,
        who,
        agreement_id,
        "renewed",
        lambda a: a.renew(data.starts_at, data.ends_at),
        new_version=True,
    )


def get_agreement(
    pars: Pars, who: Principal, agreement_id: str, version: int | None = None
) -> dict[str, Any]:
    require_role(pars, who, _READ, "read agreements")
    with pars.reader() as uow:
        a = uow.sharing.get(agreement_id, version)
        if a is None:
            raise NotFound("no such agreement" + (" version" if version else ""))
        return view(a, uow.sharing.partner(a.partner), pars.clock.now())


def list_agreements(pars: Pars, who: Principal) -> list[dict[str, Any]]:
    """Every version of every agreement, oldest first."""
    require_role(pars, who, _READ, "read agreements")
    now = pars.clock.now()
    with pars.reader() as uow:
        partners = {p["id"]: p for p in uow.sharing.partners()}
        return [view(a, partners.get(a.partner), now) for a in uow.sharing.all()]


def list_partners(pars: Pars, who: Principal) -> list[dict[str, Any]]:
    require_role(pars, who, _READ, "read partners")
    with pars.reader() as uow:
        return [
            {"id": p["id"], "name": p["name"], "partner_class": p["partner_class"],
             "created_at": p["created_at"].isoformat(), "webhook_secret_set": bool(
                 p["webhook_secret"])}
            for p in uow.sharing.partners()
        ]  # fmt: skip


def partner_deliveries(
    pars: Pars, who: Principal, partner_id: str, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """A partner's deliveries (queued, delivered, withheld, dead letters): metadata only."""
    require_role(pars, who, _READ, "read deliveries")
    with pars.reader() as uow:
        if uow.sharing.partner(partner_id) is None:
            raise NotFound("no such partner")
        rows = uow.deliveries.for_partner(partner_id, status, limit)
    return [
        {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()} for r in rows
    ]


def quarantined(
    pars: Pars, who: Principal, partner_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """Items the relay or a transport set aside because they could not be processed (the
    error's class only, never its text), newest first: for one partner, or all of them."""
    require_role(pars, who, _READ, "read quarantined deliveries")
    with pars.reader() as uow:
        if partner_id is not None and uow.sharing.partner(partner_id) is None:
            raise NotFound("no such partner")
        rows = uow.deliveries.quarantined(partner_id, limit)
    return [
        {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()} for r in rows
    ]
