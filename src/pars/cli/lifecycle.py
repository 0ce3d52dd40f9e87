"""`pars lifecycle run [--dry-run] [--json]`: apply the limited-access rule (Clean Slate by
default; PARS_LIMITED_ACCESS_RULE) to the stored records. The dry run streams what it would seal
as it reads it (one narrowing query, read in batches), so it runs in flat memory at any size."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pars.cli.support import load_app

__all__ = ["register"]


def _row(e: Any) -> dict[str, Any]:
    return {
        "arrest_id": e.facts.arrest_id,
        "otn": e.facts.otn,
        "state": e.facts.state,
        "disposed_at": e.facts.disposed_at.isoformat() if e.facts.disposed_at else None,
        "reason": e.reason,
    }


def _line(row: dict[str, Any]) -> str:
    return f"{row['otn']}\t{row['arrest_id']}\t{row['state']}\t{row['reason']}"


def _dry_run(args: argparse.Namespace) -> int:
    from pars.services.lifecycle.limited_access import eligible

    pars = load_app()
    now = pars.clock.now()
    counter = [0]
    found = 0
    if args.json:  # one JSON object on one line, written as it is read
        print(f'{{"dry_run": true, "at": {json.dumps(now.isoformat())}, "eligible": [', end="")
    for e in eligible(pars, now, counter):
        row = _row(e)
        if args.json:
            print(("," if found else "") + json.dumps(row), end="")
        else:
            print(_line(row))
        found += 1
    if args.json:
        print(f'], "examined": {counter[0]}, "would_seal": {found}, "sealed": 0, "refused": 0}}')
    else:
        print(f"would seal {found} of {counter[0]} candidate records")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pars.services.lifecycle.limited_access import run

    if args.dry_run:
        return _dry_run(args)
    report = run(load_app())
    rows = [_row(e) for e in report.eligible]
    if args.json:
        summary = {
            "dry_run": False,
            "at": report.at.isoformat(),
            "eligible": rows,
            "examined": report.examined,
            "sealed": report.sealed,
            "refused": report.failed,
        }
        print(json.dumps(summary))
    else:
        for row in rows:
            print(_line(row))
        print(f"sealed {report.sealed} of {report.examined} candidate records", end="")
        print(f"; {report.failed} refused" if report.failed else "")
    return 1 if report.failed else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lc = sub.add_parser("lifecycle", help="the record's later life: automatic limited access")
    lsub = lc.add_subparsers(dest="lifecycle_command", required=True)
    r = lsub.add_parser(
        "run", help="seal what the limited-access rule (PARS_LIMITED_ACCESS_RULE) makes eligible"
    )
    r.add_argument("--dry-run", action="store_true", help="list what it would seal; change nothing")
    r.add_argument("--json", action="store_true", help="one JSON object")
    r.set_defaults(fn=cmd_run)
