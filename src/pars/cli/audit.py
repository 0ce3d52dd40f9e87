"""`pars audit ...` and `pars keys generate`: the disclosure log from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from pars.cli.support import load_app, load_settings

__all__ = ["register"]


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Write <data_dir>/audit-signing.key (never overwriting one), or print a seed."""
    from pars.audit.checkpoint import Signer

    if args.print:
        signer = Signer.generate()
        print(signer.seed_b64())
        print(f"public key: {signer.public_b64}", file=sys.stderr)
        return 0
    settings = load_settings()
    path = settings.data_dir / "audit-signing.key"
    if path.exists():
        print(f"pars: {path} exists; not replacing the log's signing key", file=sys.stderr)
        return 1
    signer = Signer.load(None, settings.data_dir, create=True)
    print(f"wrote {path}\npublic key: {signer.public_b64}")
    print("verifier key: `pars audit public-key` (its name follows PARS_JURISDICTION)")
    return 0


def _given_checkpoints(paths: list[str]) -> list[object]:
    """The checkpoints in files as the stand-alone verifier reads them: signed notes, the API's
    JSON answers, `pars audit checkpoints` output."""
    from pars.audit.standalone import checkpoint_items

    items: list[object] = []
    for path in paths:
        try:
            items.extend(checkpoint_items(open(path, encoding="utf-8").read()))  # noqa: SIM115
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise SystemExit(f"pars: cannot read checkpoints from {path}: {e}") from e
    return items


def cmd_verify(args: argparse.Namespace) -> int:
    from pars.services.audit_verify import verify, verify_given
    from pars.store.uow import AuditEntry

    def progress(done: int, total: int) -> None:
        print(f"\rverified {done:,}/{total:,} entries", end="", file=sys.stderr)

    given = _given_checkpoints(args.checkpoints or [])
    pars = load_app()
    report = verify(pars, progress=None if args.quiet else progress)
    if not args.quiet:
        print(file=sys.stderr)
    outside = verify_given(pars, given) if given else None
    problems = report.problems + (outside.problems if outside else [])
    # Reading the whole log is an access to it: on record, with the result.
    outcome = "success" if not problems else "failure"
    details = {"entries": report.entries, "problems": len(problems)}
    if outside:
        details["given_checkpoints"] = outside.checkpoints
    pars.audit_now(AuditEntry("cli", "audit:verified", outcome, details=details))
    if not problems:
        extra = f", {outside.checkpoints} given checkpoint(s) match" if outside else ""
        print(f"ok: {report.entries:,} entries, {report.checkpoints} checkpoint(s) verified{extra}")
        return 0
    print(f"FAILED: {len(problems)} problem(s); the first bad one:", file=sys.stderr)
    for line in problems:
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
    av.add_argument(
        "--checkpoints",
        metavar="FILE",
        action="append",
        help="also check checkpoints kept outside (signed notes, the API's JSON answers or "
        "`pars audit checkpoints` output) against the log; may be given more than once",
    )
    av.set_defaults(fn=cmd_verify)
    asub.add_parser("checkpoint", help="sign a checkpoint now").set_defaults(fn=cmd_checkpoint)
    asub.add_parser("checkpoints", help="print every checkpoint as JSON").set_defaults(
        fn=cmd_checkpoints
    )
    ae = asub.add_parser("export", help="the log as JSON lines, for the stand-alone verifier")
    ae.add_argument("--out", help="file to write (default: standard output)")
    ae.set_defaults(fn=cmd_export)
    asub.add_parser(
        "public-key", help="print the log's public key and its C2SP verifier key (JSON)"
    ).set_defaults(fn=cmd_public_key)
