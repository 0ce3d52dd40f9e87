"""`pars audit ...` and `pars keys generate`: the disclosure log from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from pars.cli_support import load_app, load_settings

__all__ = ["register"]


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Write <data_dir>/audit-signing.key (never overwriting one), or print a seed."""
    from pars.audit.checkpoint import Signer

    if args.print:
        signer = Signer.generate()
        print(signer.seed_b64())
        print(f"public key: {signer.public_b64} (key id {signer.key_id})", file=sys.stderr)
        return 0
    settings = load_settings()
    path = settings.data_dir / "audit-signing.key"
    if path.exists():
        print(f"pars: {path} exists; not replacing the log's signing key", file=sys.stderr)
        return 1
    signer = Signer.load(None, settings.data_dir, create=True)
    print(f"wrote {path}\npublic key: {signer.public_b64} (key id {signer.key_id})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from pars.services.audit_verify import verify

    def progress(done: int, total: int) -> None:
        print(f"\rverified {done:,}/{total:,} entries", end="", file=sys.stderr)

    from pars.store.uow import AuditEntry

    pars = load_app()
    report = verify(pars, progress=None if args.quiet else progress)
    if not args.quiet:
        print(file=sys.stderr)
    # Reading the whole log is an access to it: on record, with the result.
    outcome = "success" if report.ok else "failure"
    details = {"entries": report.entries, "problems": len(report.problems)}
    pars.audit_now(AuditEntry("cli", "audit:verified", outcome, details=details))
    if report.ok:
        print(f"ok: {report.entries:,} entries, {report.checkpoints} checkpoint(s) verified")
        return 0
    print(f"FAILED: {len(report.problems)} problem(s); the first bad one:", file=sys.stderr)
    for line in report.problems:
        print(f"  {line}", file=sys.stderr)
    return 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from pars.services.app import Principal
    from pars.services.audit import checkpoint

    cp = checkpoint(load_app(), Principal("cli", "admin"))
    print(f"checkpoint {cp['id']}: size {cp['size']}, root {cp['root_hash']}")
    return 0


def cmd_checkpoints(args: argparse.Namespace) -> int:
    from pars.services.audit import all_checkpoints

    print(json.dumps(all_checkpoints(load_app()), indent=2))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pars.services.audit import export_lines

    out = open(args.out, "w") if args.out else sys.stdout  # noqa: SIM115
    try:
        from pars.services.app import Principal

        for line in export_lines(load_app(), Principal("cli", "admin")):
            out.write(line)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_public_key(args: argparse.Namespace) -> int:
    from pars.services.audit import public_key

    print(json.dumps(public_key(load_app())))
    return 0


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    keys: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    kg = keys.add_parser("generate", help="create the disclosure log's Ed25519 signing key")
    kg.add_argument("--print", action="store_true", help="print a seed for the setting instead")
    kg.set_defaults(fn=cmd_keys_generate)

    a = sub.add_parser("audit", help="the tamper-evident disclosure log")
    asub = a.add_subparsers(dest="audit_command", required=True)
    av = asub.add_parser("verify", help="recompute the log and check every checkpoint")
    av.add_argument("--quiet", action="store_true")
    av.set_defaults(fn=cmd_verify)
    asub.add_parser("checkpoint", help="sign a checkpoint now").set_defaults(fn=cmd_checkpoint)
    asub.add_parser("checkpoints", help="print every checkpoint as JSON").set_defaults(
        fn=cmd_checkpoints
    )
    ae = asub.add_parser("export", help="the log as JSON lines, for the stand-alone verifier")
    ae.add_argument("--out", help="file to write (default: standard output)")
    ae.set_defaults(fn=cmd_export)
    asub.add_parser("public-key", help="print the log's public key").set_defaults(fn=cmd_public_key)
