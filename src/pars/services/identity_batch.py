"""Identity resolution in batch: training the model, and finding likely duplicate persons.

- :func:`train_model` estimates m, u, the prior and the name frequencies from the
  jurisdiction's own matching records (see :mod:`pars.identity.em`) and stores the result as
  the next model version, which is the one in use from then on.
- :func:`rekey` recomputes every record's blocking keys (after the key design changed, as when
  issue 15 added the name-pair + birth-year and phone keys), a batch per transaction.
- :func:`dedupe` reads the blocking-key index once (through its primary key, in key order),
  scores each pair of records of different persons that share at least two keys, once, and
  puts the likely duplicates on the review queue (skipping the pairs already open there, read
  once; inserts in batches). It never merges.
"""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pars.identity.compare import PersonFields
from pars.identity.em import train
from pars.identity.linkage import keys_of, weigh_pair
from pars.identity.model import probability
from pars.services.app import Pars
from pars.services.identity import current_model, person_fields
from pars.store.uow import AuditEntry

__all__ = ["DedupeResult", "dedupe", "rekey", "train_model"]

Progress = Callable[[str, int, int], None]
#: Training reads at most this many records (a random sample when there are more).
TRAIN_SAMPLE: Final = 200_000
#: Blocks with more records than this are skipped by the batch (every John Smith in a city).
MAX_BLOCK: Final = 100
#: The batch scores pairs that share at least this many blocking keys. A duplicate with one
#: booking error shares most of its keys; two strangers rarely share two. (The online matcher
#: takes every record sharing one key.) Measured on 20,000 corrupted bookings (issue 15): with
#: the W and P keys, 2 finds 98.4% of the true pairs scoring 13,260 pairs; 1 finds 99.0%
#: scoring 135,512, ten times the work for 0.6 points (and beyond the 10-minute budget at 10^6).
MIN_SHARED: Final = 2
#: Review items are inserted this many to a statement.
INSERT_BATCH: Final = 5_000


def train_model(
    pars: Pars,
    by: str,
    progress: Progress | None = None,
    sample: int = TRAIN_SAMPLE,
    random_pairs: int = 200_000,
) -> int:
    """Train on the stored matching records and store the model; returns its version."""
    with pars.reader() as uow:
        total = uow.identity.count_records()
        keep = sample / total if total > sample else 1.0
        rng = random.Random(total)  # noqa: S311 - sampling, not secrets
        records: list[PersonFields] = []
        for n, (_, _, fields) in enumerate(uow.identity.iter_records()):
            if keep >= 1.0 or rng.random() < keep:
                records.append(person_fields(fields))
            if progress and n % 50_000 == 0:
                progress("read", n, total)
    if len(records) < 2:
        raise ValueError("training needs at least two person records; identify arrests first")
    model = train(records, random_pairs=random_pairs, progress=progress)
    with pars.uow() as uow:
        version = uow.identity.add_model(model.to_json(), by, pars.clock.now())
        uow.audit(
            AuditEntry(
                by,
                "identity:model_trained",
                subject=str(version),
                details={
                    "version": version,
                    "records": len(records),
                    "em_pairs": dict(model.info.get("em_pairs", {})),
                },
            )
        )
        uow.commit()
    return version


#: Records re-keyed per transaction by :func:`rekey`.
REKEY_BATCH: Final = 5_000


def rekey(pars: Pars, by: str, progress: Progress | None = None) -> tuple[int, int]:
    """Recompute the blocking keys of every stored record from its matching fields; returns
    (records, keys written). Safe to run at any time and again: a record's keys are replaced in
    the same transaction, a batch at a time."""
    with pars.reader() as uow:
        total = uow.identity.count_records()
    done = written = 0
    last = 0
    while True:
        with pars.uow() as uow:
            batch: dict[int, frozenset[str]] = {}
            for record_id, _, fields in uow.identity.iter_records(after=last):
                batch[record_id] = keys_of(person_fields(fields))
                if len(batch) >= REKEY_BATCH:
                    break
            if not batch:
                uow.audit(
                    AuditEntry(by, "identity:rekey", details={"records": done, "keys": written})
                )
                uow.commit()
                return done, written
            written += uow.identity.replace_keys(batch)
            uow.commit()
        done += len(batch)
        last = max(batch)
        if progress:
            progress("re-keyed", done, total)


@dataclass(frozen=True)
class DedupeResult:
    records: int
    blocks: int
    pairs_scored: int
    candidates: int  # person pairs at or above the review threshold
    queued: int  # of which newly put on the review queue
    model_version: int
    likely: list[tuple[str, str, float]]  # (person, other person, probability), best first


def dedupe(
    pars: Pars,
    by: str,
    progress: Progress | None = None,
    max_block: int = MAX_BLOCK,
    threshold: float | None = None,
    min_shared: int = MIN_SHARED,
) -> DedupeResult:
    """Score the pairs of records of different persons that share at least `min_shared`
    blocking keys (among blocks of up to `max_block` records) and queue the person pairs at or
    above `threshold` (default: `identity_dedupe_threshold`, 0.95) for review. Nothing is merged.

    The key index is read once, in key order; each record's blocks are kept as compact arrays
    of record ids, and for each record the records sharing its blocks are counted, so a pair is
    scored once however many keys it shares."""
    cut = pars.settings.identity_dedupe_threshold if threshold is None else threshold
    cut_weight = math.log2(cut / (1.0 - cut))  # probability >= cut <=> weight >= this
    records: dict[int, tuple[str, PersonFields]] = {}
    blocks: list[array[int]] = []
    of_record: dict[int, array[int]] = {}
    with pars.reader() as uow:
        model = current_model(pars, uow)
        total = uow.identity.count_records()
        for n, (record_id, person_id, fields) in enumerate(uow.identity.iter_records()):
            records[record_id] = (person_id, person_fields(fields))
            if progress and n % 100_000 == 0:
                progress("read records", n, total)
        for block in uow.identity.iter_blocks(max_block):
            index = len(blocks)
            blocks.append(array("i", block))
            for record_id in block:
                of_record.setdefault(record_id, array("i")).append(index)
            if progress and index % 500_000 == 0:
                progress("read blocks", index, 0)
    best: dict[tuple[str, str], tuple[float, float]] = {}
    scored = 0
    for n, (record_id, mine) in enumerate(of_record.items()):
        counts: Counter[int] = Counter()
        for index in mine:
            counts.update(blocks[index])
        pa, fa = records[record_id]
        for other, shared in counts.items():
            if other <= record_id or shared < min_shared:
                continue
            pb, fb = records[other]
            if pa == pb:
                continue
            scored += 1
            weight, _ = weigh_pair(model, fa, fb)
            if weight >= cut_weight:
                pair = (pa, pb) if pa < pb else (pb, pa)
                if weight > best.get(pair, (0.0, -1e9))[1]:
                    best[pair] = (probability(weight), weight)
        if progress and n % 100_000 == 0:
            progress("records compared", n, len(of_record))
    blocks_read = len(blocks)
    del blocks, of_record
    likely = sorted(((a, b, p) for (a, b), (p, _) in best.items()), key=lambda t: -t[2])
    with pars.uow() as uow:
        now = pars.clock.now()
        # The pairs already queued, read once (a look-up per pair made the batch quadratic).
        already = uow.identity.open_duplicate_pairs()
        rows = [
            {
                "kind": "duplicate",
                "person_id": a,
                "other_person_id": b,
                "probability": p,
                "weight": best[(a, b)][1],
                "model_version": model.version,
                "outcome": "review",
                "status": "open",
            }
            for a, b, p in likely
            if (a, b) not in already
        ]
        for start in range(0, len(rows), INSERT_BATCH):
            uow.identity.add_decisions(now, rows[start : start + INSERT_BATCH])
            if progress:
                progress("queued", min(len(rows), start + INSERT_BATCH), len(rows))
        queued = len(rows)
        uow.audit(
            AuditEntry(
                by,
                "identity:dedupe",
                details={
                    "records": len(records),
                    "pairs_scored": scored,
                    "candidates": len(likely),
                    "queued": queued,
                    "model_version": model.version,
                },
            )
        )
        uow.commit()
    return DedupeResult(
        len(records), blocks_read, scored, len(likely), queued, model.version, likely
    )
