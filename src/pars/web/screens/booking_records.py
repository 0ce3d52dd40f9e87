"""What the booking screen reads and writes, through the same service handlers as the API: the
draft created or corrected with what changed (`services.arrests.create_arrest`, `correct`, and
`identify` for a supervisor's pick), charge suggestions from the catalogue, identity candidates
(`services.identity.match_person`) and the person record picked (`identity_merge.get_person`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from pars.domain.arrest import ArrestState
from pars.domain.catalogue import Offense
from pars.domain.errors import Conflict, Forbidden, NotFound
from pars.domain.roles import Role, Step, may
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.identity import MatchIn, match_person
from pars.services.identity_merge import get_person
from pars.services.inputs import ArrestIn, ArrestPatch, CorrectionIn, IdentificationIn, PersonIn
from pars.services.views import get_arrest, list_arrests
from pars.store.arrests import ArrestFilter
from pars.web.screens import booking_form as bf
from pars.web.screens.words import day

__all__ = ["PREFILL", "candidates", "pick", "prefill", "store", "suggest"]

REASON = "Draft saved from the booking screen"

TIERS = {
    "auto_link": "Almost certainly this person",
    "review": "Likely this person",
    "new_person": "Probably someone else",
}
_IDS = ("state_id", "fbi_number", "local_person_id")
_MATCH_FIELDS = ("last_name", "first_name", "middle_name", "date_of_birth", "sex", "address")
# What a pick fills in, where the officer left it empty, from the person's newest arrest that
# the officer may read: the description and contact details, which the officer then checks
# with the arrestee. Never the identifiers typed at booking time (SSN, place of birth,
# citizenship) nor the names and date of birth, which the officer typed to find the person.
PREFILL = (
    "middle_name", "suffix", "sex", "race", "ethnicity", "address", "phone",
    "height_inches", "weight_pounds", "eye_color", "hair_color",
)  # fmt: skip


def _patch(pars: Pars, view: dict[str, Any], data: ArrestIn) -> dict[str, Any]:
    """What of the draft the form changed, as a correction's `changes` (top-level keys
    replace, person fields merge, a field left empty is cleared)."""
    zone = pars.settings.zone
    before = bf.parse(bf.form_of_view(view, zone), zone).data
    new = data.model_dump(mode="json", exclude_none=True)
    old = before.model_dump(mode="json", exclude_none=True) if before else {}
    patch: dict[str, Any] = {}
    for key in ArrestPatch.model_fields:
        if key == "co_defendants":  # not on this form: left as they are
            continue
        if key == "charges":
            keys = [[bf.charge_key(pars.catalogue, c) for c in d.get(key, [])] for d in (new, old)]
            if keys[0] != keys[1] or not old:
                patch[key] = new.get(key, [])
        elif key == "person":
            np, op = new.get(key, {}), old.get(key, {})
            lists = ("aliases", "scars_marks_tattoos")
            changed = {
                k: np.get(k, [] if k in lists else None)
                for k in sorted(set(np) | set(op))
                if np.get(k) != op.get(k)
            }
            if changed:
                patch[key] = changed
        elif new.get(key) != old.get(key):
            patch[key] = new.get(key, [] if key in ("victims", "witnesses") else None)
    return patch


def store(pars: Pars, who: Principal, arrest_id: str, data: ArrestIn, pick: str) -> tuple[str, str]:
    """Create the draft, or correct it with what changed; link a supervisor's pick. Returns
    (id, OTN)."""
    if not arrest_id:
        arrest = svc.create_arrest(pars, who, data)
        arrest_id, otn, linked = arrest.id, arrest.otn, None
    else:
        view = get_arrest(pars, who, arrest_id)
        if view["state"] != ArrestState.DRAFT.value:
            raise Conflict("this report was sent already; ask a supervisor to correct it")
        otn = view["otn"]
        linked = (view.get("identification") or {}).get("person_id")
        changes = _patch(pars, view, data)
        if changes:
            cmd = CorrectionIn(reason=REASON, changes=ArrestPatch.model_validate(changes))
            svc.correct(pars, who, arrest_id, cmd)
    if pick and pick != linked and may(Role(who.role), Step.IDENTIFY):
        svc.identify(pars, who, arrest_id, IdentificationIn(person_id=pick))
    return arrest_id, otn


def pick(pars: Pars, who: Principal, person_id: str) -> dict[str, Any] | None:
    """The picked person record, for the form: its identifiers and how it reads."""
    if not person_id:
        return None
    try:
        person = get_person(pars, who, person_id)
    except NotFound:
        return None
    fields = person["records"][0]["fields"] if person["records"] else {}
    return {"id": person_id, "ids": {k: person.get(k) for k in _IDS}, "summary": _who(fields)}


def prefill(pars: Pars, who: Principal, person_id: str) -> dict[str, Any]:
    """{"fields": {"person.<f>": text}, "from": the arrest's day in words, or None} from the
    newest arrest of the picked person that `who` may read (the read is audited as any
    other); no fields when there is none."""
    empty: dict[str, Any] = {"fields": {}, "from": None}
    if not person_id or len(person_id) > 36:
        return empty
    try:
        found = list_arrests(pars, who, ArrestFilter(person_id=person_id), 1, None)
        if not found["items"]:
            return empty
        view = get_arrest(pars, who, found["items"][0]["id"])
    except (NotFound, Forbidden):
        return empty
    person = view.get("person") or {}
    fields = {f"person.{f}": str(person[f]) for f in PREFILL if person.get(f) not in (None, "", [])}
    arrested = datetime.fromisoformat(view["arrested_at"]).astimezone(pars.settings.zone)
    return {"fields": fields, "from": day(arrested.date()) if fields else None}


def _who(fields: dict[str, Any]) -> str:
    name = ", ".join(p for p in (fields.get("last"), fields.get("first")) if p)
    dob = fields.get("dob")
    return f"{name or 'Name not recorded'}{f', born {day(dob)}' if dob else ''}"


def suggest(pars: Pars, words: str) -> list[dict[str, str]]:
    def one(o: Offense) -> dict[str, str]:
        return {
            "statute": str(o.citation),
            "key": o.citation.key,
            "description": o.description,
            "grade": o.default_grade.value,
        }

    return [one(o) for o in pars.catalogue.search(words[:100], 8)]


def _person_in(form: dict[str, str]) -> PersonIn | None:
    """The person block as the matcher reads it; fields that do not validate are left out."""
    person: dict[str, Any] = {
        f: form[f"person.{f}"] for f in _MATCH_FIELDS if form.get(f"person.{f}")
    }
    if not person.get("last_name") or not person.get("first_name"):
        return None
    for _ in range(2):
        try:
            return PersonIn.model_validate(person)
        except ValidationError as e:
            for err in e.errors(include_input=False, include_url=False):
                person.pop(str(err["loc"][0]), None) if err["loc"] else None
    return None


def candidates(pars: Pars, who: Principal, form: dict[str, str]) -> dict[str, Any]:
    person = _person_in(form)
    if person is None:
        return {"asked": False, "items": []}
    found = match_person(pars, who, MatchIn(person=person, limit=5))
    items = []
    for c in found["candidates"]:
        record = get_person(pars, who, c["person_id"])
        items.append(
            {
                "person_id": c["person_id"],
                "summary": _who(c["record"]),
                "record": c["record"],
                "percent": f"{c['probability'] * 100:.1f}".rstrip("0").rstrip("."),
                "tier": TIERS.get(c["tier"], c["tier"]),
                "likely": c["tier"] != "new_person",
                "fields": c["fields"],
                "ids": {k: record.get(k) or "" for k in _IDS},
            }
        )
    return {"asked": True, "items": items}
