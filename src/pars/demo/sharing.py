"""The demo's partner agencies: agreements approved by the owners' quorum, fed the way production
feeds them (the relay, then each partner pulling its feed) every few simulated hours, so that the
disclosure log, its checkpoints and `/transparency` show true figures. One agreement ends part-way
through the history: its partner stops receiving at that second, and the report says so."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.auth import add_user
from pars.services.delivery.feed import feed_page
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.inputs import AgreementIn, ApprovalIn

__all__ = ["DemoPartners"]

TICK = timedelta(hours=6)

_PARTNERS: list[dict[str, Any]] = [
    {
        "name": "Pennsylvania State Police, Central Repository",
        "class": "state_repository",
        "purpose": "criminal history record information: arrests and dispositions",
        "legal_basis": "18 Pa.C.S. § 9112 (mandatory fingerprinting and reporting)",
        "event_types": ["pars.arrest.submitted", "pars.charging.decided"],
        "granted": ["case", "identity", "officer"],
        "share_of_history": None,  # in force to the end, and beyond (a yearly agreement)
    },
    {
        "name": "Pretrial Services Agency",
        "class": "pretrial",
        "purpose": "pretrial supervision of released defendants",
        "legal_basis": "Pa.R.Crim.P. 523, 527 (conditions of release)",
        "event_types": ["pars.arraignment.completed"],
        "granted": ["case", "identity", "contact"],
        "share_of_history": 0.6,  # ended part-way: the report shows nothing left after its end
    },
]


class DemoPartners:
    def __init__(self, pars: Pars, start: datetime, end: datetime) -> None:
        """Register the partners and their agreements, in force from `start`."""
        self.pars = pars
        # Staff who speak for the owners (privacy officers with an owner), with their passwords.
        self.owner_logins: dict[str, str] = {}
        speakers: list[Principal] = []
        for org in pars.policy.owners[: pars.policy.quorum]:
            name = f"owner_{org}"[:60]
            self.owner_logins[name] = secrets.token_urlsafe(9)
            add_user(pars, name, "privacy_officer", self.owner_logins[name], "demo", org)
            speakers.append(Principal(name, "privacy_officer", org))
        officer = Principal("privacy_officer", "privacy_officer")
        self.partners: list[dict[str, Any]] = []
        for p in _PARTNERS:
            partner_id, _ = ag.add_partner(pars, p["name"], p["class"], by="demo")
            share = p["share_of_history"]
            ends = end + timedelta(days=275) if share is None else start + (end - start) * share
            doc = {
                "partner": partner_id,
                "purpose": p["purpose"],
                "legal_basis": p["legal_basis"],
                "event_types": p["event_types"],
                "granted": p["granted"],
                "starts_at": start.replace(microsecond=0).isoformat(),
                "ends_at": ends.replace(microsecond=0).isoformat(),
            }
            aid = ag.create_agreement(pars, officer, AgreementIn.model_validate(doc))["id"]
            ag.submit(pars, officer, aid)
            for speaker in speakers:
                ag.approve(pars, speaker, aid, ApprovalIn())
            self.partners.append({"id": partner_id, "name": p["name"], "cursor": 0})

    def deliver(self) -> int:
        """Relay what was committed, then let every partner read its feed to the end."""
        relay_once(self.pars)
        withhold_ended(self.pars)
        served = 0
        for partner in self.partners:
            while True:  # each partner keeps its cursor, as a real one would
                page = feed_page(self.pars, partner, partner["cursor"], 500)
                served += len(page["items"])
                if int(page["next_cursor"]) == partner["cursor"]:
                    break
                partner["cursor"] = int(page["next_cursor"])
        return served
