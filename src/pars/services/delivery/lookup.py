"""Partner look-ups: one record at a time, by an exact identifier the partner's agreement allows,
purpose-tagged, rate-limited and audited, and answered through the same projection as events.
There is no search by name, date, place or any protected field, and no bulk export."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from pars.domain.arrest import ArrestState
from pars.domain.errors import Forbidden, InvalidInput, RateLimited
from pars.services.app import Pars
from pars.services.delivery.disclosure import disclosure, partner_actor, receipt
from pars.services.delivery.feed import Partner
from pars.services.delivery.in_force import in_force_reason
from pars.services.views import full_record
from pars.sharing.agreements import Agreement
from pars.sharing.projection import project_record
from pars.store.arrests import ArrestFilter
from pars.store.tables import audit_log
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = ["IDENTIFIERS", "lookup"]

IDENTIFIERS = ("otn", "docket", "state_id")
_WINDOW = timedelta(minutes=1)
_NOT_ANSWERED = (ArrestState.DRAFT, ArrestState.SEALED, ArrestState.EXPUNGED)
_MAX_RESULTS = 50  # a person's arrests by state ID; never a bulk export


def _allowing(uow: SqlUnitOfWork, pars: Pars, partner: Partner, kind: str) -> list[Agreement]:
    now = pars.clock.now()
    return [
        a for a in uow.sharing.active()
        if a.partner == partner["id"] and kind in a.lookup.identifiers
        and a.lookup.per_minute > 0 and in_force_reason(a, pars, now) is None
    ]  # fmt: skip


def _check_rate(uow: SqlUnitOfWork, pars: Pars, partner: Partner, limit: int) -> None:
    now = pars.clock.now()
    q = (
        sa.select(sa.func.count(), sa.func.min(audit_log.c.at))
        .where(audit_log.c.subject == partner["id"],
               audit_log.c.action.in_(("lookup:answered", "lookup:empty")),
               audit_log.c.at > now - _WINDOW)
    )  # fmt: skip
    count, oldest = uow.conn.execute(q).one()
    if count >= limit:
        wait = max(1, int((oldest + _WINDOW - now).total_seconds()) + 1)
        raise RateLimited(f"at most {limit} look-ups a minute under the agreement", wait)


def lookup(pars: Pars, partner: Partner, kind: str, value: str, purpose: str) -> dict[str, Any]:
    """The records matching the identifier, each projected for the agreement that allows the
    look-up. Forbidden if no agreement in force allows look-up by `kind`; InvalidInput
    (`/purpose`) unless `purpose` is one of the purpose codes such an agreement declares: the
    code is all the log records of why, never text the partner typed."""
    now = pars.clock.now()
    with pars.uow() as uow:
        agreements = _allowing(uow, pars, partner, kind)
        if not agreements:
            # The purpose is not recorded: unchecked against any agreement, it is free text.
            uow.audit(
                AuditEntry(
                    partner_actor(partner),
                    "lookup:refused",
                    "denied",
                    "partner",
                    partner["id"],
                    {"by": kind},
                )
            )
            uow.commit()
            raise Forbidden(f"no agreement in force allows look-up by {kind}")
        declaring = [a for a in agreements if purpose in a.lookup.purposes]
        if not declaring:
            uow.audit(
                AuditEntry(
                    partner_actor(partner),
                    "lookup:refused",
                    "failure",
                    "partner",
                    partner["id"],
                    {"by": kind, "refused": "/purpose"},
                )
            )
            uow.commit()
            codes = sorted({p for a in agreements for p in a.lookup.purposes})
            raise InvalidInput.one(
                "/purpose",
                "name one of the purpose codes of your agreement: " + ", ".join(codes)
                if codes
                else "your agreement declares no purpose codes (lookup.purposes); it must be "
                "renewed with them before look-ups are answered",
            )
        agreement = max(declaring, key=lambda a: a.lookup.per_minute)
        _check_rate(uow, pars, partner, agreement.lookup.per_minute)
        if kind == "state_id":
            people = uow.persons.find(state_id=value)
            f = ArrestFilter(person_id=people[0]["id"]) if people else None
        else:
            f = ArrestFilter(otn=value) if kind == "otn" else ArrestFilter(docket_number=value)
        arrests = uow.arrests.search(f, _MAX_RESULTS, None).items if f else []
        results = []
        salts = []
        for arrest in arrests:
            if arrest.state in _NOT_ANSWERED:
                continue  # a sealed or expunged record is answered as one that does not exist
            data = project_record(agreement, full_record(arrest), now, pars.policy)
            if data is not None:
                # Write-ahead: each record answered is a disclosure on the log before it leaves.
                entry, salt = disclosure(
                    "disclosure:lookup", partner, agreement, arrest.id, data, data,
                    {"by": kind, "purpose": purpose},
                )  # fmt: skip
                uow.audit(entry)
                results.append(data)
                salts.append(salt)
        uow.audit(AuditEntry(
            partner_actor(partner), "lookup:answered" if results else "lookup:empty", "success",
            "partner", partner["id"],
            {"by": kind, "purpose": purpose, "count": len(results),
             "records": [r.get("id") for r in results]},
            agreement_id=agreement.id, agreement_version=agreement.version))  # fmt: skip
        uow.commit()
        receipts = [
            receipt(leaf, salt) for leaf, salt in zip(uow.leaves[: len(salts)], salts, strict=True)
        ]
    return {
        "agreement": f"{agreement.id}/v{agreement.version}",
        "items": results,
        "receipts": receipts,
    }
