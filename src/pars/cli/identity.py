"""`pars identity train`, `dedupe` and `rekey`: identity resolution in batch."""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pars.cli.support import load_app

if TYPE_CHECKING:
    pass

__all__ = ["register"]

_OPERATOR = "cli"


def _progress(quiet: bool) -> Callable[[str, int, int], None] | None:
    start = time.monotonic()

    def report(stage: str, done: int, total: int) -> None:
        of = f"/{total}" if total else ""
        elapsed = time.monotonic() - start
        print(f"  {stage}: {done}{of} ({elapsed:.0f} s)", file=sys.stderr, flush=True)

    return None if quiet else report


def cmd_train(args: argparse.Namespace) -> int:
    from pars.services.identity_batch import train_model

    version = train_model(
        load_app(),
        _OPERATOR,
        progress=_progress(args.quiet),
        sample=args.sample,
        random_pairs=args.random_pairs,
    )
    print(f"identity model version {version} trained and in use")
    return 0


def cmd_dedupe(args: argparse.Namespace) -> int:
    from pars.services.identity_batch import dedupe

    result = dedupe(
        load_app(),
        _OPERATOR,
        progress=_progress(args.quiet),
        max_block=args.max_block,
        threshold=args.threshold,
        min_shared=args.min_shared,
    )
    if args.out:
        with open(args.out, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["person_id", "other_person_id", "probability"])
            for a, b, p in result.likely:
                writer.writerow([a, b, f"{p:.6f}"])
    print(
        f"{result.records} records, {result.blocks} blocks, {result.pairs_scored} pairs scored "
        f"(model version {result.model_version}): {result.candidates} likely duplicate "
        f"pair(s), {result.queued} newly on the review queue; nothing was merged"
    )
    return 0


def cmd_rekey(args: argparse.Namespace) -> int:
    from pars.services.identity_batch import rekey

    records, keys = rekey(load_app(), _OPERATOR, progress=_progress(args.quiet))
    print(f"{records} records re-keyed ({keys} blocking keys)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `identity train`, `identity dedupe` and `identity rekey` to the `pars` command."""
    ident = sub.add_parser("identity", help="identity resolution: train the model, find duplicates")
    isub = ident.add_subparsers(dest="identity_command", required=True)
    tr = isub.add_parser("train", help="retrain the matching model; stored as a new version")
    tr.add_argument("--sample", type=int, default=200_000, help="at most this many records")
    tr.add_argument("--random-pairs", type=int, default=200_000, help="pairs that estimate u")
    tr.add_argument("--quiet", action="store_true", help="no progress on standard error")
    tr.set_defaults(fn=cmd_train)
    dd = isub.add_parser(
        "dedupe", help="find likely duplicate persons and queue them for review (never merges)"
    )
    dd.add_argument("--max-block", type=int, default=100, help="skip bigger blocking blocks")
    dd.add_argument(
        "--min-shared", type=int, default=2, help="score pairs sharing at least this many keys"
    )
    dd.add_argument("--threshold", type=float, help="default: PARS_IDENTITY_DEDUPE_THRESHOLD")
    dd.add_argument("--out", help="also write the list (person ids, probability) to this CSV")
    dd.add_argument("--quiet", action="store_true", help="no progress on standard error")
    dd.set_defaults(fn=cmd_dedupe)
    rk = isub.add_parser(
        "rekey", help="recompute every record's blocking keys (after an upgrade changed them)"
    )
    rk.add_argument("--quiet", action="store_true", help="no progress on standard error")
    rk.set_defaults(fn=cmd_rekey)
