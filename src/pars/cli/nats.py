"""`pars nats config` and `pars nats credentials`: each partner's own NATS user, and the
nats-server configuration that gives every user only what it may read
(`pars.services.delivery.nats_access`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pars.cli.support import load_app

__all__ = ["register"]


def cmd_config(args: argparse.Namespace) -> int:
    from pars.services.delivery.nats_access import pars_seed, public_key_of, server_authorization

    pars = load_app()
    seed_file = pars.settings.nats_seed_file
    if seed_file is None:
        raise ValueError(
            "set PARS_NATS_SEED_FILE to where PARS's own NATS key is to be kept (this command "
            "makes it there); PARS then connects with it"
        )
    seed, made = pars_seed(Path(seed_file), create=True)
    if made:
        print(f"made PARS's NATS key at {seed_file} (keep it; PARS only)", file=sys.stderr)
    with pars.reader() as uow:
        partners = uow.sharing.partners()
    text = server_authorization(
        partners, pars.settings.nats_stream, public_key_of(seed), pars.clock.now()
    )
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
        with_nats = sum(1 for p in partners if p.get("nats_public_key"))
        print(
            f"wrote {args.out}: PARS and {with_nats} partner user(s); reload nats-server "
            "(`nats-server --signal reload`) for it to take effect",
            file=sys.stderr,
        )
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    from pars.services.delivery.nats_access import set_nats_credentials

    pars = load_app()
    partner_id, seed = set_nats_credentials(pars, args.name)
    print_credentials(partner_id, seed, pars.settings.nats_stream)
    return 0


def print_credentials(partner_id: str, seed: str, stream: str) -> None:
    """What the partner needs to read its events, the seed shown once."""
    from pars.services.delivery.nats_access import consumer_name, inbox_prefix

    print(f"NATS seed (shown once, give it to the partner securely): {seed}")
    print(
        f"  the partner reads stream {stream}, consumer {consumer_name(partner_id)}, connecting "
        f"with inbox_prefix {inbox_prefix(partner_id)}; run `pars nats config` and reload "
        "nats-server for the new user to take effect"
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nt = sub.add_parser("nats", help="partners' NATS users and the server configuration")
    nsub = nt.add_subparsers(dest="nats_command", required=True)
    nc = nsub.add_parser(
        "config", help="write nats-server's authorization block: PARS and one user per partner"
    )
    nc.add_argument("--out", default="-", help="file to write (default: standard output)")
    nc.set_defaults(fn=cmd_config)
    cr = nsub.add_parser(
        "credentials", help="a new NATS user for a partner (replacing any); prints its seed once"
    )
    cr.add_argument("name")
    cr.set_defaults(fn=cmd_credentials)
