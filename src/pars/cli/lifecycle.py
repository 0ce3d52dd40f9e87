"""`pars lifecycle run [--dry-run] [--json]`: apply the limited-access rule (Clean Slate by
default; PARS_LIMITED_ACCESS_RULE) to the stored records."""

from __future__ import annotations

import argparse
import json

from pars.cli.support import load_app

__all__ = ["register"]


def cmd_run(args: argparse.Namespace) -> int:
    from pars.services.lifecycle import run

    pars = load_app()
    report = run(pars, dry_run=args.dry_run)
    rows = [
        {
            "arrest_id": e.facts.arrest_id,
            "otn": e.facts.otn,
            "state": e.facts.state,
            "disposed_at": e.facts.disposed_at.isoformat() if e.facts.disposed_at else None,
            "reason": e.reason,
        }
        for e in report.eligible
    ]
    if args.json:
        summary = {
            "dry_run": report.dry_run,
            "at": report.at.isoformat(),
            "examined": report.examined,
            "eligible": rows,
            "sealed": report.sealed,
            "refused": report.failed,
        }
        print(json.dumps(summary))
    else:
        verb = "would seal" if report.dry_run else "sealed"
        for row in rows:
            print(f"{row['otn']}\t{row['arrest_id']}\t{row['state']}\t{row['reason']}")
        done = len(rows) if report.dry_run else report.sealed
        print(f"{verb} {done} of {report.examined} candidate records", end="")
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
