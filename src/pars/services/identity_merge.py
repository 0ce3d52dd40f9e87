"""Records staff's commands on person records: merge, unmerge, and the review queue.

A merge moves the matching records of one person (the *merged*) onto another (the *survivor*)
and leaves a redirect: the merged person's id resolves to the survivor from then on (arrests
keep the person id they were identified with; nothing on them is rewritten). The merge row
lists what it moved, so an unmerge moves exactly those records back and ends the redirect:
the state before the merge, restored. Both are audited (`person:merged`, `person:unmerged`).

Concurrent merges of the same persons are serialised: the person rows are locked in id order
(PostgreSQL), and SQLite has one writer at a time; the second merge then finds the first one
done and is refused as a conflict.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pars.domain.errors import Conflict, InvalidInput, NotFound
from pars.domain.roles import Step
from pars.services.app import Pars, Principal
from pars.services.auth import require, require_role
from pars.services.identity import MATCH_ROLES, RECORDS_ROLES, sync_arrest
from pars.services.inputs import RecordId
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = [
    "MergeIn",
    "ReviewIn",
    "decide_review",
    "get_person",
    "list_reviews",
    "merge_persons",
    "unmerge",
]

_IDENTIFIERS = ("state_id", "fbi_number", "local_person_id")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    merged_id: RecordId


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    resolution: Literal["link", "merge", "reject"]


def _merge(uow: SqlUnitOfWork, who: Principal, survivor: str, merged: str, now: Any) -> int:
    if survivor == merged:
        raise InvalidInput.one("/merged_id", "a person record cannot be merged into itself")
    rows = uow.identity.lock_persons([survivor, merged])
    if survivor not in rows:
        raise NotFound("no such person")
    if merged not in rows:
        raise InvalidInput.one("/merged_id", f"no person {merged}")
    if uow.identity.merged_into(merged) is not None:
        raise Conflict(f"person {merged} is already merged into another record")
    into = uow.identity.merged_into(survivor)
    if into is not None:
        raise Conflict(f"person {survivor} is merged into {uow.identity.resolve(survivor)}")
    for key in ("state_id", "fbi_number"):
        a, b = rows[survivor].get(key), rows[merged].get(key)
        if a and b and a != b:
            # Fingerprint-based identifiers that differ: two people, whatever the names say.
            raise Conflict(f"the two person records have different {key}s; not the same person")
    moved = uow.identity.record_ids_of(merged)
    uow.identity.move_records(moved, survivor)
    merge_id = uow.identity.add_merge(survivor, merged, moved, who.username, now)
    uow.audit(
        AuditEntry(
            who.username,
            "person:merged",
            "success",
            who.role,
            survivor,
            details={"merge_id": merge_id, "merged_id": merged, "records_moved": len(moved)},
        )
    )
    return merge_id


def merge_persons(pars: Pars, who: Principal, survivor_id: str, data: MergeIn) -> dict[str, Any]:
    """Merge `data.merged_id` into `survivor_id`; Conflict if either is already merged away."""
    require_role(pars, who, RECORDS_ROLES, "merge persons", survivor_id)
    with pars.uow() as uow:
        merge_id = _merge(uow, who, survivor_id, data.merged_id, pars.clock.now())
        uow.commit()
    return {"merge_id": merge_id, "survivor_id": survivor_id, "merged_id": data.merged_id}


def unmerge(pars: Pars, who: Principal, merge_id: str) -> dict[str, Any]:
    """Undo a merge: its records go back and the redirect ends. Conflict if it was undone
    already, or the survivor has since been merged into another record (undo that first)."""
    require_role(pars, who, RECORDS_ROLES, "unmerge persons", merge_id)
    if not merge_id.isdigit() or len(merge_id) > 12:
        raise NotFound("no such merge")
    with pars.uow() as uow:
        m = uow.identity.merge(int(merge_id))
        if m is None:
            raise NotFound("no such merge")
        survivor, merged = m["survivor_id"], m["merged_id"]
        uow.identity.lock_persons([survivor, merged])
        m = uow.identity.merge(int(merge_id))  # again, now that the persons are locked
        assert m is not None
        if m["undone_at"] is not None:
            raise Conflict(f"merge {merge_id} was already undone")
        if uow.identity.merged_into(survivor) is not None:
            raise Conflict(
                f"person {survivor} has since been merged into another record; undo that first"
            )
        still_there = set(uow.identity.record_ids_of(survivor))
        back = [i for i in m["moved"] if i in still_there]
        uow.identity.move_records(back, merged)
        uow.identity.undo_merge(int(merge_id), who.username, pars.clock.now())
        uow.audit(
            AuditEntry(
                who.username,
                "person:unmerged",
                "success",
                who.role,
                survivor,
                details={
                    "merge_id": int(merge_id),
                    "merged_id": merged,
                    "records_moved": len(back),
                },
            )
        )
        uow.commit()
    return {"merge_id": int(merge_id), "survivor_id": survivor, "merged_id": merged}


def get_person(pars: Pars, who: Principal, person_id: str) -> dict[str, Any]:
    """A person record: identifiers, matching records, and merges (the persons merged into it
    and, if it was merged away, the record that now stands for it)."""
    require_role(pars, who, MATCH_ROLES, "read person records", person_id)
    with pars.reader() as uow:
        person = uow.persons.get(person_id) if len(person_id) <= 36 else None
        if person is None:
            raise NotFound("no such person")
        records = uow.identity.records(uow.identity.record_ids_of(person_id))
        arrests = {r.record_id: uow.identity.arrest_of(r.record_id) for r in records}
        resolved = uow.identity.resolve(person_id)
        return {
            "id": person_id,
            **{k: person.get(k) for k in _IDENTIFIERS},
            "merged_into": resolved if resolved != person_id else None,
            "merged": uow.identity.merged_ids(person_id),
            "records": [
                {"record_id": r.record_id, "arrest_id": arrests[r.record_id], "fields": r.fields}
                for r in records
            ],
            "merges": [
                {
                    "merge_id": m["id"],
                    "survivor_id": m["survivor_id"],
                    "merged_id": m["merged_id"],
                    "merged_at": m["merged_at"].isoformat(),
                    "merged_by": m["merged_by"],
                    "undone_at": m["undone_at"].isoformat() if m["undone_at"] else None,
                }
                for m in uow.identity.merges_of(person_id)
            ],
        }


def _render_decision(d: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in d.items() if v is not None}
    for k in ("created_at", "decided_at"):
        if k in out:
            out[k] = out[k].isoformat()
    return out


def list_reviews(
    pars: Pars, who: Principal, status: str | None, after: int, limit: int
) -> dict[str, Any]:
    """The review queue (status `open`), oldest first, or every decision (status None)."""
    require_role(pars, who, RECORDS_ROLES, "read the identity review queue")
    with pars.reader() as uow:
        items = uow.identity.decisions(status, after, limit)
    return {
        "items": [_render_decision(d) for d in items],
        "next_after": items[-1]["id"] if len(items) == limit else None,
    }


def decide_review(pars: Pars, who: Principal, decision_id: str, data: ReviewIn) -> dict[str, Any]:
    """Settle an open review item: link the arrest to the candidate, merge the duplicate pair,
    or reject the candidate. One transaction, audited."""
    require_role(pars, who, RECORDS_ROLES, "decide identity reviews", decision_id)
    if not decision_id.isdigit() or len(decision_id) > 12:
        raise NotFound("no such review item")
    now = pars.clock.now()
    with pars.uow() as uow:
        item = uow.identity.decision(int(decision_id), lock=True)
        if item is None:
            raise NotFound("no such review item")
        if item["status"] != "open":
            raise Conflict(f"review item {decision_id} is already {item['resolution']}")
        resolution = {"link": "linked", "merge": "merged", "reject": "rejected"}[data.resolution]
        if data.resolution == "link":
            if item["kind"] != "arrest" or not item["person_id"]:
                raise InvalidInput.one("/resolution", "only an arrest's candidate can be linked")
            require(pars, who, Step.IDENTIFY, item["arrest_id"])
            arrest = uow.arrests.get(item["arrest_id"])
            person_id = uow.identity.resolve(item["person_id"])
            person = uow.persons.get(person_id) or {}
            arrest.identify(
                {"person_id": person_id, **{k: person.get(k) for k in _IDENTIFIERS}},
                who.username,
                now,
            )
            sync_arrest(pars, uow, arrest)
            uow.audit(
                AuditEntry(
                    who.username,
                    "arrest:identified",
                    "success",
                    who.role,
                    arrest.id,
                    details={"state": arrest.state.value},
                )
            )
        elif data.resolution == "merge":
            if item["kind"] != "duplicate":
                raise InvalidInput.one("/resolution", "only a duplicate pair can be merged")
            _merge(uow, who, item["person_id"], item["other_person_id"], now)
        uow.identity.close_decision(int(decision_id), resolution, who.username, now)
        uow.audit(
            AuditEntry(
                who.username,
                "person:review_decided",
                "success",
                who.role,
                decision_id,
                details={"resolution": resolution, "kind": item["kind"]},
            )
        )
        uow.commit()
    with pars.reader() as reader:
        final = reader.identity.decision(int(decision_id))
    assert final is not None
    return _render_decision(final)
