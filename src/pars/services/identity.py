"""Identity resolution, online: which person record is this arrestee, and why.

- :func:`match_person` answers `POST /api/v1/persons/match`: ranked candidates with a match
  probability and a per-field explanation, read from the blocking-key index.
- :func:`on_arrest_entered` runs when an arrest is created: it records the decision (linked
  automatically above `PARS_IDENTITY_AUTO_LINK` if set, on the review queue above
  `PARS_IDENTITY_REVIEW_THRESHOLD`, else a new person) with the model version in use.
- :func:`sync_arrest` keeps the matching record of an identified arrest in step with it (and
  removes it when the arrest is sealed or expunged), inside the command's unit of work.

Matching never uses SSN, place of birth or citizenship. The one exception: staff whose role
reads protected fields may look up an exact SSN, through a keyed blind index (HMAC-SHA256 under
a key derived from the encryption key ring), and those hits are listed apart from the scores.
"""

from __future__ import annotations

import hashlib
import hmac
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from pars.crypto import KeyRing
from pars.domain.arrest import Arrest, ArrestState
from pars.domain.errors import InvalidInput
from pars.domain.roles import READ_PROTECTED, Role
from pars.identity.compare import PersonComparison, PersonFields
from pars.identity.linkage import explain_pair, keys_of, weigh_pair
from pars.identity.model import DEFAULT_MODEL, MatchModel, Score
from pars.identity.normalize import Address
from pars.services.app import Pars, Principal
from pars.services.auth import require_role
from pars.services.inputs import AddressIn, PersonIn
from pars.store.identity import CandidateRow
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = [
    "MATCH_ROLES",
    "RECORDS_ROLES",
    "SSN_ROLES",
    "Candidate",
    "MatchIn",
    "current_model",
    "find_candidates",
    "match_person",
    "on_arrest_entered",
    "person_fields",
    "record_fields",
    "sync_arrest",
]

#: Who may ask for candidates: booking officers and the booking centre's supervisor.
MATCH_ROLES: Final = frozenset({Role.OFFICER, Role.SUPERVISOR})
#: Records staff: who works the review queue, merges and unmerges (the IDENTIFY step's role).
RECORDS_ROLES: Final = frozenset({Role.SUPERVISOR})
#: Who may look up an exact SSN: those among MATCH_ROLES that read protected fields.
SSN_ROLES: Final = MATCH_ROLES & READ_PROTECTED
#: At most this many records are read from one blocking key's block (common names, big ZIPs).
PER_KEY: Final = 100
#: At most this many records (most keys shared first) are scored per query.
MAX_SCORED: Final = 40
#: Who links an arrest when the matcher does it on its own.
AUTO_ACTOR: Final = "identity-resolution"


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    person: PersonIn
    limit: Annotated[StrictInt, Field(ge=1, le=50)] = 10


# -- fields --------------------------------------------------------------------------------


def _address_fields(person: Mapping[str, Any]) -> dict[str, Any]:
    """`address` as one line, and `address_parts` when the address was given in parts (API
    input holds the parts in `address`; an arrest's document beside it)."""
    address = person.get("address")
    parts = person.get("address_parts")
    if isinstance(address, Mapping):
        parts = {k: v for k, v in address.items() if v is not None}
        address = AddressIn(**parts).line()
    return {"address": address, "address_parts": dict(parts) if parts else None}


def record_fields(person: Mapping[str, Any]) -> dict[str, Any]:
    """The matching fields of a person block (API input or an arrest's document), as stored in
    `identity_records.fields`. Protected fields are never copied."""
    dob = person.get("date_of_birth")
    out = {
        "first": person.get("first_name"),
        "last": person.get("last_name"),
        "middle": person.get("middle_name"),
        "dob": dob.isoformat() if isinstance(dob, date) else dob,
        # Only the year is known: kept apart, compared by year only.
        "dob_year": person.get("birth_year") if not dob else None,
        "sex": person.get("sex"),
        **_address_fields(person),
        "phone": person.get("phone"),
        "aliases": [[a.get("first_name"), a.get("last_name")] for a in person.get("aliases") or ()],
    }
    return {k: v for k, v in out.items() if v not in (None, [])}


def person_fields(fields: Mapping[str, Any]) -> PersonFields:
    """`identity_records.fields` as the comparators' :class:`PersonFields`."""
    dob = fields.get("dob")
    return PersonFields(
        first=fields.get("first"),
        last=fields.get("last"),
        dob=date.fromisoformat(dob) if dob else None,
        sex=fields.get("sex"),
        address=Address(**parts)
        if (parts := fields.get("address_parts"))
        else fields.get("address"),
        zip_code=fields.get("zip"),
        phone=fields.get("phone"),
        aliases=tuple((a[0], a[1]) for a in fields.get("aliases") or ()),
        dob_year=fields.get("dob_year"),
    )


# -- the SSN blind index -------------------------------------------------------------------

_BLIND_KEYS: weakref.WeakKeyDictionary[KeyRing, list[tuple[str, bytes]]] = (
    weakref.WeakKeyDictionary()
)
_BLIND_LABEL: Final = b"pars:identity:ssn-blind-index:v1"


def _blind_keys(keys: KeyRing) -> list[tuple[str, bytes]]:
    """(key id, HMAC key) per key of the ring, the current one first (see
    `KeyRing.derived_keys`)."""
    cached = _BLIND_KEYS.get(keys)
    if cached is None:
        cached = keys.derived_keys(_BLIND_LABEL)
        _BLIND_KEYS[keys] = cached
    return cached


def ssn_indexes(keys: KeyRing, ssn: str | None) -> list[str]:
    """The blind index values of an SSN, one per key id (the current key's first)."""
    digits = "".join(ch for ch in ssn or "" if ch.isdigit())
    if len(digits) != 9:
        return []
    return [
        f"{kid}:{hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()}"
        for kid, key in _blind_keys(keys)
    ]


# -- the model in use ----------------------------------------------------------------------

_MODELS: dict[tuple[str, int], MatchModel] = {}


def current_model(pars: Pars, uow: SqlUnitOfWork) -> MatchModel:
    """The newest trained model (cached per database and version), else the default one."""
    version = uow.identity.latest_model_version()
    if version is None:
        return DEFAULT_MODEL
    cache_key = (f"{id(pars.engine)}:{pars.engine.url}", version)
    model = _MODELS.get(cache_key)
    if model is None:
        row = uow.identity.model(version)
        assert row is not None
        model = MatchModel.from_json(row["parameters"], version)
        if len(_MODELS) > 64:
            _MODELS.clear()
        _MODELS[cache_key] = model
    return model


# -- candidates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A person record and the best score of any of its matching records."""

    person_id: str
    record_id: int
    fields: dict[str, Any]
    score: Score
    shared_keys: int

    @property
    def probability(self) -> float:
        return self.score.probability


def find_candidates(
    uow: SqlUnitOfWork, model: MatchModel, query: PersonFields, limit: int
) -> list[Candidate]:
    """Persons sharing a blocking key with `query`, best first, at most `limit`."""
    rows = uow.identity.candidates(sorted(keys_of(query)), PER_KEY, MAX_SCORED)
    best: dict[str, tuple[float, CandidateRow, PersonComparison]] = {}
    for row in rows:
        weight, comparison = weigh_pair(model, query, person_fields(row.fields))
        current = best.get(row.person_id)
        if current is None or weight > current[0]:
            best[row.person_id] = (weight, row, comparison)
    ranked = sorted(best.values(), key=lambda t: (-t[0], t[1].person_id))[:limit]
    # The explanation is built for the candidates returned only.
    return [
        Candidate(
            row.person_id,
            row.record_id,
            row.fields,
            explain_pair(model, query, comparison),
            row.shared,
        )
        for _, row, comparison in ranked
    ]


def _explain(score: Score) -> list[dict[str, Any]]:
    return [
        {
            "field": f.field,
            "level": f.label,
            "weight": round(f.weight, 2),
            "agrees": f.weight > 0,
            "reason": f.reason,
        }
        for f in score.fields
    ]


def _tier(pars: Pars, probability: float) -> str:
    s = pars.settings
    if s.identity_auto_link is not None and probability >= s.identity_auto_link:
        return "auto_link"
    return "review" if probability >= s.identity_review_threshold else "new_person"


def render_candidate(pars: Pars, c: Candidate) -> dict[str, Any]:
    return {
        "person_id": c.person_id,
        "probability": round(c.score.probability, 6),
        "weight": round(c.score.weight, 2),
        "tier": _tier(pars, c.score.probability),
        "record": c.fields,
        "fields": _explain(c.score),
    }


def _audit_match(
    uow: SqlUnitOfWork,
    who: Principal,
    subject: str | None,
    found: list[Candidate],
    model: MatchModel,
    **extra: Any,
) -> None:
    """The `person:match` audit row: counts, the top probability, the model; never a name."""
    details = {
        "candidates": len(found),
        "top_probability": round(found[0].probability, 4) if found else None,
        "model_version": model.version,
        **extra,
    }
    uow.audit(AuditEntry(who.username, "person:match", "success", who.role, subject, details))


def match_person(pars: Pars, who: Principal, data: MatchIn) -> dict[str, Any]:
    """Ranked candidates for a person block, each with its probability and explanation; an
    exact-SSN look-up, listed apart, for roles that read protected fields."""
    require_role(pars, who, MATCH_ROLES, "match persons")
    ssn = data.person.ssn
    if ssn is not None and who.role not in SSN_ROLES:
        raise InvalidInput.one("/person/ssn", f"role '{who.role}' may not look up an SSN")
    query = person_fields(record_fields(data.person.model_dump(exclude_none=True)))
    with pars.uow() as uow:
        model = current_model(pars, uow)
        found = find_candidates(uow, model, query, data.limit)
        ssn_hits = uow.identity.by_ssn_index(ssn_indexes(pars.keys, ssn)) if ssn else []
        _audit_match(uow, who, None, found, model, ssn_lookup=ssn is not None)
        uow.commit()
    result: dict[str, Any] = {
        "model_version": model.version,
        "thresholds": {
            "review": pars.settings.identity_review_threshold,
            "auto_link": pars.settings.identity_auto_link,
        },
        "candidates": [render_candidate(pars, c) for c in found],
    }
    if ssn is not None:
        result["ssn_matches"] = sorted({r.person_id for r in ssn_hits})
    return result


# -- hooks into the arrest commands ---------------------------------------------------------


def on_arrest_entered(pars: Pars, uow: SqlUnitOfWork, arrest: Arrest, who: Principal) -> None:
    """Match a new arrest's person block and record the decision, in the arrest's unit of work.

    Above the auto-link threshold (if set), and with no other candidate above the review
    threshold, the arrest is linked at once; above the review threshold it goes on the review
    queue; below, the arrestee is taken for a new person (records staff still identify).
    """
    person = arrest.document.get("person") or {}
    if not person or (arrest.document.get("identification") or {}).get("person_id"):
        return
    model = current_model(pars, uow)
    found = find_candidates(uow, model, person_fields(record_fields(person)), 2)
    now = pars.clock.now()
    top = found[0] if found else None
    review = pars.settings.identity_review_threshold
    outcome = "new_person" if top is None else _tier(pars, top.probability)
    if outcome == "auto_link" and len(found) > 1 and found[1].probability >= review:
        outcome = "review"  # two plausible persons: a human decides
    if top is not None and outcome == "auto_link":
        linked = uow.persons.get(top.person_id) or {}
        ids = ("state_id", "fbi_number", "local_person_id")
        arrest.identify(
            {"person_id": top.person_id, **{k: linked.get(k) for k in ids}}, AUTO_ACTOR, now
        )
        sync_arrest(pars, uow, arrest)
    uow.identity.add_decision(
        now,
        kind="arrest",
        arrest_id=arrest.id,
        person_id=top.person_id if top else None,
        probability=top.probability if top else 0.0,
        weight=top.score.weight if top else model.base,
        model_version=model.version,
        outcome="auto_linked" if outcome == "auto_link" else outcome,
        status="open" if outcome == "review" else "closed",
        resolution="linked" if outcome == "auto_link" else None,
        decided_by=AUTO_ACTOR if outcome != "review" else None,
        decided_at=now if outcome != "review" else None,
    )
    _audit_match(
        uow,
        who,
        arrest.id,
        found,
        model,
        outcome="auto_linked" if outcome == "auto_link" else outcome,
    )


def sync_arrest(pars: Pars, uow: SqlUnitOfWork, arrest: Arrest) -> None:
    """Keep the arrest's matching record as the arrest now says: the person block of an
    identified arrest, under the person it resolves to; none once sealed or expunged."""
    identification = arrest.document.get("identification") or {}
    person_id = identification.get("person_id")
    hidden = arrest.state in (ArrestState.SEALED, ArrestState.EXPUNGED)
    if not person_id and not hidden:
        return  # not identified: nothing stored for it, nothing to look up
    existing = uow.identity.record_of_arrest(arrest.id)
    if hidden or not person_id:
        if existing is not None:
            uow.identity.delete_record(existing["id"])
        return
    fields = record_fields(arrest.document.get("person") or {})
    ssn = (arrest.protected.get("person") or {}).get("ssn")
    indexes = ssn_indexes(pars.keys, ssn)
    ssn_index = indexes[0] if indexes else None
    target = uow.identity.resolve(person_id)
    if existing is not None:
        if (
            existing["person_id"] == target
            and existing["fields"] == fields
            and existing["ssn_index"] == ssn_index
        ):
            return
        uow.identity.delete_record(existing["id"])
    keys = keys_of(person_fields(fields))
    uow.identity.add_record(target, arrest.id, fields, keys, ssn_index, pars.clock.now())
    # The arrest is identified: its open review items are settled.
    uow.identity.close_arrest_reviews(arrest.id, "identified", AUTO_ACTOR, pars.clock.now())
