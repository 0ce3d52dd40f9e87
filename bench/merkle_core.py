"""Merkle core benchmark: the pure RFC 6962 log over an in-memory node store.

Measures, for `pars.audit.merkle`:

1. appends/s, one leaf per `append` and in batches of 1000;
2. at 10^5 and 10^6 leaves: `root()`, inclusion and consistency proof generation (random
   indices / old sizes, against the full tree), with the store reads each one made;
3. `verify_inclusion` and `verify_consistency` on those proofs.

Leaf hashing (SHA-256 of the entry) is timed apart and kept out of the append figures, since
callers hash entries when they build them. It is a benchmark, not a test: it asserts nothing.
Run from the repository root:

    uv run python -m bench.merkle_core [--sizes 100000,1000000] [--samples 2000]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from pars.audit.merkle import (
    MemoryNodeStore,
    MerkleLog,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)


class CountingStore(MemoryNodeStore):
    """Counts `get` calls so the figures show what a database-backed store would be asked."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, level: int, index: int) -> bytes | None:
        self.reads += 1
        return super().get(level, index)


def _best(run: Callable[[], object], count: int, repeats: int = 3) -> float:
    """Seconds per operation, best of `repeats` runs of `run` (which does `count` operations).

    Like timeit, the best run is the one least disturbed by the rest of the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times) / count


def _fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} µs"


def bench_appends(single: int, batched: int, rng: random.Random, out: dict[str, Any]) -> None:
    entries = [rng.randbytes(64) for _ in range(single)]
    start = time.perf_counter()
    hashes = [leaf_hash(e) for e in entries]
    hashing = time.perf_counter() - start
    print(f"leaf_hash (64-byte entries):    {single / hashing:12,.0f} /s")
    out["leaf_hash_per_s"] = round(single / hashing)

    log = MerkleLog(MemoryNodeStore())
    start = time.perf_counter()
    for h in hashes:
        log.append([h])
    elapsed = time.perf_counter() - start
    print(
        f"append, 1 leaf per call:        {single / elapsed:12,.0f} leaves/s  ({single:,} leaves)"
    )
    out["append_1_per_s"] = round(single / elapsed)

    leaves = [rng.randbytes(32) for _ in range(batched)]
    log = MerkleLog(MemoryNodeStore())
    start = time.perf_counter()
    for i in range(0, batched, 1000):
        log.append(leaves[i : i + 1000])
    elapsed = time.perf_counter() - start
    print(
        f"append, batches of 1000:        {batched / elapsed:12,.0f} leaves/s  ({batched:,} leaves)"
    )
    out["append_1000_per_s"] = round(batched / elapsed)


def bench_proofs(size: int, samples: int, rng: random.Random, out: dict[str, Any]) -> None:
    store = CountingStore()
    log = MerkleLog(store)
    leaves = [rng.randbytes(32) for _ in range(size)]
    start = time.perf_counter()
    for i in range(0, size, 1000):
        log.append(leaves[i : i + 1000])
    build = time.perf_counter() - start
    print(f"\nsize {size:,}: built in {build:.2f} s, {len(store):,} nodes stored")

    # The store's millions of objects are long-lived: keep the cyclic GC from rescanning them
    # in the middle of the timed loops.
    gc.collect()
    gc.freeze()
    root = log.root()
    store.reads = 0
    t_root = _best(lambda: [log.root() for _ in range(200)], 200, repeats=1)
    print(f"  root()                       {_fmt_us(t_root)}   {store.reads / 200:5.1f} reads")

    indices = [rng.randrange(size) for _ in range(samples)]
    store.reads = 0
    proofs = [log.inclusion_proof(i, size) for i in indices]
    reads_incl = store.reads / samples
    t_incl = _best(lambda: [log.inclusion_proof(i, size) for i in indices], samples)
    lengths = statistics.mean(len(p) for p in proofs)
    print(
        f"  inclusion_proof              {_fmt_us(t_incl)}   {reads_incl:5.1f} reads"
        f"   {lengths:4.1f} hashes"
    )

    olds = [rng.randrange(1, size) for _ in range(samples)]
    old_roots = {old: log.root(old) for old in olds}
    store.reads = 0
    cproofs = [log.consistency_proof(old, size) for old in olds]
    reads_cons = store.reads / samples
    t_cons = _best(lambda: [log.consistency_proof(old, size) for old in olds], samples)
    clengths = statistics.mean(len(p) for p in cproofs)
    print(
        f"  consistency_proof            {_fmt_us(t_cons)}   {reads_cons:5.1f} reads"
        f"   {clengths:4.1f} hashes"
    )

    pairs = list(zip(indices, proofs, strict=True))
    ok = all(verify_inclusion(leaves[i], i, size, p, root) for i, p in pairs)
    t_vi = _best(lambda: [verify_inclusion(leaves[i], i, size, p, root) for i, p in pairs], samples)
    print(f"  verify_inclusion             {_fmt_us(t_vi)}   all valid: {ok}")

    cpairs = list(zip(olds, cproofs, strict=True))
    ok = all(verify_consistency(old, size, old_roots[old], root, p) for old, p in cpairs)
    t_vc = _best(
        lambda: [verify_consistency(old, size, old_roots[old], root, p) for old, p in cpairs],
        samples,
    )
    print(f"  verify_consistency           {_fmt_us(t_vc)}   all valid: {ok}")
    gc.unfreeze()
    out[str(size)] = {
        "build_s": round(build, 3),
        "root_us": round(t_root * 1e6, 2),
        "inclusion_proof_us": round(t_incl * 1e6, 2),
        "consistency_proof_us": round(t_cons * 1e6, 2),
        "verify_inclusion_us": round(t_vi * 1e6, 2),
        "verify_consistency_us": round(t_vc * 1e6, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated tree sizes")
    parser.add_argument("--samples", type=int, default=2000, help="proofs timed per size")
    parser.add_argument("--single", type=int, default=100_000, help="leaves for 1-leaf appends")
    parser.add_argument("--batched", type=int, default=1_000_000, help="leaves for batch appends")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object, last")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"benchmark": "merkle_core"}

    print(
        f"Python {sys.version.split()[0]} on {platform.machine()} ({platform.processor() or '?'})"
    )
    rng = random.Random(6962)
    bench_appends(args.single, args.batched, rng, out)
    for size in (int(s) for s in args.sizes.split(",")):
        bench_proofs(size, args.samples, rng, out)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
