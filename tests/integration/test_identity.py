"""Identity resolution on both stores: records follow identified arrests, candidates come from the
blocking-key index, decisions on arrest entry, merge/unmerge, the SSN blind index, batch runs."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from pars.config import Settings
from pars.domain.errors import Conflict, Forbidden, InvalidInput
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.identity import MatchIn, match_person, ssn_indexes
from pars.services.identity_batch import dedupe, rekey, train_model
from pars.services.identity_merge import MergeIn, merge_persons, unmerge
from pars.services.inputs import ArrestIn, CourtOrderIn, IdentificationIn
from tests.conftest import KEYS, raw_rows, rows
from tests.factories import arrest_body

OFFICER = Principal("officer1", "officer")
SUPERVISOR = Principal("supervisor1", "supervisor")
CLERK = Principal("clerk1", "clerk")
IDENTITY_TABLES = ("identity_records", "identity_keys", "person_merges", "persons", "arrests")


# The factory's "John Doe" is a placeholder name, which the matcher reads as missing: these
# tests book a man with a real surname.
SURNAME = "Dorsey"


def _arrest(pars: Pars, **person: Any) -> str:
    body = arrest_body()
    body["person"] = {**body["person"], "last_name": SURNAME, **person}
    return svc.create_arrest(pars, OFFICER, ArrestIn.model_validate(body), submit=True).id


def _identified(pars: Pars, local_id: str, **person: Any) -> tuple[str, str]:
    """(arrest id, person id) of a new arrest identified under a new local person ID."""
    aid = _arrest(pars, **person)
    arrest = svc.identify(pars, SUPERVISOR, aid, IdentificationIn(local_person_id=local_id))
    return aid, arrest.document["identification"]["person_id"]


def auto_linking(pars: Pars) -> Pars:
    """`pars`'s database and clock, with new arrests linked at once above 0.99."""
    return Pars(
        Settings(data_dir=pars.settings.data_dir, database_url=pars.settings.database_url,
                 identity_auto_link=0.99),
        clock=pars.clock, engine=pars.engine, keys=pars.keys,
    )  # fmt: skip


def _decisions(pars: Pars, arrest_id: str) -> list[dict[str, Any]]:
    return [d for d in rows(pars, "identity_decisions") if d["arrest_id"] == arrest_id]


def _snapshot(pars: Pars) -> dict[str, Any]:
    return {t: json.dumps(rows(pars, t), default=str, sort_keys=True) for t in IDENTITY_TABLES}


def test_an_identified_arrest_is_found_again_at_the_next_booking(pars: Pars, backend: str) -> None:
    _, person = _identified(pars, "S1")
    records = rows(pars, "identity_records")
    assert [r["person_id"] for r in records] == [person]
    assert "ssn" not in records[0]["fields"] and "place_of_birth" not in records[0]["fields"]
    assert {k["key"][0] for k in rows(pars, "identity_keys")} >= {"D", "N", "L", "F"}
    # Re-booked as "Jon Dorsey", day and month of birth swapped: on the review queue.
    again = _arrest(pars, first_name="Jon", date_of_birth="1990-02-04", aliases=[])
    (decision,) = _decisions(pars, again)
    assert (decision["outcome"], decision["status"], decision["person_id"]) == (
        "review",
        "open",
        person,
    )
    assert decision["model_version"] == 0  # the default model: none trained yet
    audit = [a for a in rows(pars, "audit_log") if a["action"] == "person:match"]
    assert audit[-1]["subject"] == again and audit[-1]["details"]["outcome"] == "review"
    assert SURNAME not in json.dumps(audit, default=str)
    assert "1990" not in json.dumps(audit[-1]["details"])
    # Someone else entirely: a new person.
    other = _arrest(pars, first_name="Mary", last_name="Okafor", date_of_birth="1962-11-30",
                    aliases=[], address="77 Elm Ave", phone="267-555-0199")  # fmt: skip
    assert _decisions(pars, other)[0]["outcome"] == "new_person"


def test_match_ranks_candidates_and_explains_each_field(pars: Pars, backend: str) -> None:
    _, person = _identified(pars, "S1")
    _identified(pars, "S2", first_name="Mary", last_name="Okafor", date_of_birth="1962-11-30",
                aliases=[], address="77 Elm Ave", phone="267-555-0199")  # fmt: skip
    query = {"last_name": "DORSEY", "first_name": "Jonathan", "date_of_birth": "1990-04-02"}
    result = match_person(pars, OFFICER, MatchIn.model_validate({"person": query}))
    best = result["candidates"][0]
    assert best["person_id"] == person and best["probability"] > 0.5
    fields = {f["field"]: f for f in best["fields"]}
    assert fields["dob"]["level"] == "EXACT" and fields["dob"]["weight"] > 5
    assert fields["last"]["agrees"] and fields["phone"]["level"] == "MISSING"
    assert all(c["person_id"] != person for c in result["candidates"][1:])
    with pytest.raises(Forbidden):
        match_person(pars, CLERK, MatchIn.model_validate({"person": query}))


def test_exact_ssn_through_a_keyed_blind_index_only(pars: Pars, backend: str) -> None:
    _, person = _identified(pars, "S1")
    (record,) = raw_rows(pars, "identity_records")
    text = json.dumps(record, default=str)
    assert "123-45-6789" not in text and "123456789" not in text
    assert record["ssn_index"] == ssn_indexes(pars.keys, "123-45-6789")[0]
    assert record["ssn_index"].startswith(KEYS.split(":")[0] + ":")
    import hashlib

    assert hashlib.sha256(b"123456789").hexdigest() not in text  # keyed, not a plain hash
    query = {"last_name": "Nobody", "first_name": "Else", "ssn": "123-45-6789"}
    result = match_person(pars, SUPERVISOR, MatchIn.model_validate({"person": query}))
    assert result["ssn_matches"] == [person]
    assert all(c["person_id"] != person for c in result["candidates"])  # not in the score


def test_auto_link_above_the_configured_threshold(pars: Pars, backend: str) -> None:
    _, person = _identified(pars, "S1")
    auto = auto_linking(pars)
    again = _arrest(auto, aliases=[])
    (decision,) = _decisions(pars, again)
    assert (decision["outcome"], decision["status"]) == ("auto_linked", "closed")
    linked = next(a for a in rows(pars, "arrests") if a["id"] == again)
    assert (linked["state"], linked["person_id"]) == ("identified", person)
    assert len([r for r in rows(pars, "identity_records") if r["person_id"] == person]) == 2


def test_a_merged_person_stands_for_the_survivor(pars: Pars, backend: str) -> None:
    _, keep = _identified(pars, "S1")
    aid, dup = _identified(pars, "S2", first_name="Johnny")
    merge = merge_persons(pars, SUPERVISOR, keep, MergeIn(merged_id=dup))
    assert {r["person_id"] for r in rows(pars, "identity_records")} == {keep}
    with pytest.raises(Conflict, match="already merged"):
        merge_persons(pars, SUPERVISOR, keep, MergeIn(merged_id=dup))
    # Identifying with the merged person's id now links to the survivor.
    arrest = svc.identify(pars, SUPERVISOR, aid, IdentificationIn(person_id=dup))
    assert arrest.document["identification"]["person_id"] == keep
    unmerge(pars, SUPERVISOR, str(merge["merge_id"]))
    with pytest.raises(Conflict, match="already undone"):
        unmerge(pars, SUPERVISOR, str(merge["merge_id"]))


def test_different_state_ids_are_never_merged(pars: Pars, backend: str) -> None:
    a = svc.identify(pars, SUPERVISOR, _arrest(pars), IdentificationIn(state_id="PA1"))
    b = svc.identify(pars, SUPERVISOR, _arrest(pars), IdentificationIn(state_id="PA2"))
    with pytest.raises(Conflict, match="different state_ids"):
        merge_persons(
            pars,
            SUPERVISOR,
            a.document["identification"]["person_id"],
            MergeIn(merged_id=b.document["identification"]["person_id"]),
        )


def test_unmerge_restores_exactly(pars: Pars, backend: str) -> None:
    _, keep = _identified(pars, "S1")
    _, dup = _identified(pars, "S2", first_name="Johnny", address="9 Oak St")
    _, third = _identified(pars, "S3", first_name="Jack")
    before = _snapshot(pars)
    m1 = merge_persons(pars, SUPERVISOR, keep, MergeIn(merged_id=dup))
    m2 = merge_persons(pars, SUPERVISOR, third, MergeIn(merged_id=keep))
    assert {r["person_id"] for r in rows(pars, "identity_records")} == {third}
    with pytest.raises(Conflict, match="undo that first"):
        unmerge(pars, SUPERVISOR, str(m1["merge_id"]))
    unmerge(pars, SUPERVISOR, str(m2["merge_id"]))
    unmerge(pars, SUPERVISOR, str(m1["merge_id"]))
    after = _snapshot(pars)
    for table in ("identity_records", "identity_keys", "persons", "arrests"):
        assert after[table] == before[table], table
    assert all(m["undone_at"] is not None for m in rows(pars, "person_merges"))
    actions = [a["action"] for a in rows(pars, "audit_log")]
    assert actions.count("person:merged") == 2 and actions.count("person:unmerged") == 2
    with pytest.raises(InvalidInput):
        merge_persons(pars, SUPERVISOR, keep, MergeIn(merged_id=keep))
    with pytest.raises(Forbidden):
        merge_persons(pars, OFFICER, keep, MergeIn(merged_id=dup))


def test_concurrent_merges_of_the_same_person_are_serialized(pars: Pars, backend: str) -> None:
    _, a = _identified(pars, "S1")
    _, b = _identified(pars, "S2", first_name="Johnny")
    _, c = _identified(pars, "S3", first_name="Jack")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt(survivor: str, merged: str) -> None:
        barrier.wait()
        try:
            merge_persons(pars, SUPERVISOR, survivor, MergeIn(merged_id=merged))
            outcomes.append("merged")
        except Conflict:
            outcomes.append("conflict")

    # b into a, twice, and a into b, and b into c: b can go one way only.
    threads = [
        threading.Thread(target=attempt, args=pair) for pair in ((a, b), (a, b), (b, a), (c, b))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merges = [m for m in rows(pars, "person_merges") if m["undone_at"] is None]
    merged_away = [m["merged_id"] for m in merges]
    assert len(merged_away) == len(set(merged_away))  # nobody merged twice
    # A survivor may be merged on later (b into a, then that into c is a chain, which unmerge
    # undoes from its end): every chain ends, at a person not merged away, and has no cycle.
    into = {m["merged_id"]: m["survivor_id"] for m in merges}
    for start in into:
        seen, at = {start}, into[start]
        while at in into:
            assert at not in seen, f"a cycle of merges through {at}"
            seen.add(at)
            at = into[at]
    assert outcomes.count("merged") == len(merges) >= 1
    owners = {r["person_id"] for r in rows(pars, "identity_records")}
    assert not owners & set(merged_away)


def test_sealing_removes_the_matching_record(pars: Pars, backend: str) -> None:
    aid, _ = _identified(pars, "S1")
    assert rows(pars, "identity_records")
    svc.seal(pars, CLERK, aid, CourtOrderIn(order="CP-51-MD-1-2026"))
    assert rows(pars, "identity_records") == [] and rows(pars, "identity_keys") == []


def test_train_and_dedupe(pars: Pars, backend: str) -> None:
    _, a = _identified(pars, "S1")
    _, b = _identified(pars, "S2", first_name="Jon")  # the same man, a second record
    _identified(pars, "S3", first_name="Mary", last_name="Okafor", date_of_birth="1962-11-30",
                aliases=[], address="77 Elm Ave", phone="267-555-0199")  # fmt: skip
    version = train_model(pars, "cli", random_pairs=500)
    assert version == 1
    (trained,) = [x for x in rows(pars, "audit_log") if x["action"] == "identity:model_trained"]
    assert trained["details"]["version"] == 1
    result = dedupe(pars, "cli", threshold=0.5)
    assert result.model_version == 1
    assert [(x, y) for x, y, _ in result.likely] == [tuple(sorted((a, b)))]
    queue = [d for d in rows(pars, "identity_decisions") if d["kind"] == "duplicate"]
    assert len(queue) == 1 and queue[0]["status"] == "open"
    assert dedupe(pars, "cli", threshold=0.5).queued == 0  # already on the queue
    assert {r["person_id"] for r in rows(pars, "identity_records")} >= {a, b}  # nothing merged
    again = _arrest(pars, aliases=[])
    assert _decisions(pars, again)[0]["model_version"] == 1


def test_rekey_restores_the_keys_the_current_design_gives(pars: Pars, backend: str) -> None:
    _identified(pars, "S1")
    _identified(pars, "S2", first_name="Jon")
    before = {(r["key"], r["record_id"]) for r in rows(pars, "identity_keys")}
    assert any(k.startswith("P:") for k, _ in before) and any(k.startswith("W:") for k, _ in before)
    with pars.uow() as uow:  # keys written by an older design: no phone, no name pair + year
        uow.identity.replace_keys({
            record_id: [k for k, r in before if r == record_id and k[0] not in "PW"]
            for record_id in {r for _, r in before}
        })  # fmt: skip
        uow.commit()
    assert not any(r["key"][0] in "PW" for r in rows(pars, "identity_keys"))
    assert rekey(pars, "cli") == (2, len(before))
    assert {(r["key"], r["record_id"]) for r in rows(pars, "identity_keys")} == before
    assert rekey(pars, "cli") == (2, len(before))  # again: the same
    (audit, _) = [x for x in rows(pars, "audit_log") if x["action"] == "identity:rekey"]
    assert audit["details"] == {"records": 2, "keys": len(before)}


def test_the_identity_commands(
    pars: Pars,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    import os

    from pars.cli import main

    _identified(pars, "S1")
    _identified(pars, "S2", first_name="Jon")
    for key in [k for k in os.environ if k.startswith("PARS_") and not k.startswith("PARS_TEST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PARS_DATABASE_URL", pars.settings.sqlalchemy_url)
    monkeypatch.setenv("PARS_ENCRYPTION_KEYS", KEYS)
    monkeypatch.setenv("PARS_DATA_DIR", str(tmp_path))
    assert main(["identity", "train", "--random-pairs", "300"]) == 0
    assert "version 1 trained" in capsys.readouterr().out
    out = tmp_path / "dupes.csv"
    assert main(["identity", "dedupe", "--quiet", "--threshold", "0.5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 likely duplicate pair(s), 1 newly on the review queue; nothing was merged" in printed
    lines = out.read_text().splitlines()
    assert lines[0] == "person_id,other_person_id,probability" and len(lines) == 2
    assert SURNAME not in out.read_text()
    assert main(["identity", "rekey", "--quiet"]) == 0
    assert "2 records re-keyed" in capsys.readouterr().out


def test_dedupe_queues_in_batches_and_skips_pairs_already_open(
    pars: Pars, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from pars.services import identity_batch

    pairs = []
    for n, (first, last, dob) in enumerate(
        [("Ada", "Quintero", "1971-03-14"), ("Basil", "Ferreira", "1983-08-21"),
         ("Cleo", "Mbeki", "1995-12-09")]
    ):  # fmt: skip
        person = {"first_name": first, "last_name": last, "date_of_birth": dob, "aliases": []}
        _, a = _identified(pars, f"A{n}", **person)
        _, b = _identified(pars, f"B{n}", **person)
        pairs.append(tuple(sorted((a, b))))
    monkeypatch.setattr(identity_batch, "INSERT_BATCH", 2)  # 3 pairs: two statements
    result = dedupe(pars, "cli", threshold=0.5)
    assert sorted((x, y) for x, y, _ in result.likely) == sorted(pairs)
    assert result.queued == 3
    queue = [d for d in rows(pars, "identity_decisions") if d["kind"] == "duplicate"]
    assert sorted((d["person_id"], d["other_person_id"]) for d in queue) == sorted(pairs)
    assert all(d["status"] == "open" and d["model_version"] == 0 for d in queue)
    assert dedupe(pars, "cli", threshold=0.5).queued == 0
    assert len([d for d in rows(pars, "identity_decisions") if d["kind"] == "duplicate"]) == 3
    with pars.reader() as uow:
        assert uow.identity.open_duplicate_pairs() == set(pairs)
    indexes = sa.inspect(pars.engine).get_indexes("identity_decisions")
    assert ["person_id", "other_person_id"] in [i["column_names"] for i in indexes]
