"""The `pars` command: init, serve, relay, demo, users, token, keys, partners, agreements,
audit, lifecycle."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pars import heap
from pars.audit.checkpoint import Signer
from pars.cli import audit as cli_audit
from pars.cli import backup as cli_backup
from pars.cli import identity as cli_identity
from pars.cli import lifecycle as cli_lifecycle
from pars.cli import nats as cli_nats
from pars.cli.support import load_app as _pars
from pars.cli.support import load_settings as _settings
from pars.config import UnknownSetting
from pars.domain.errors import DomainError

if TYPE_CHECKING:
    from pars.services.app import Pars

__all__ = ["main"]


def cmd_init(args: argparse.Namespace) -> int:
    from pars.store.engine import migrate

    settings = _settings()
    pars = _pars(settings, create_keys=True)
    Signer.load(settings.audit_signing_key, settings.data_dir, create=True)
    migrate(pars.engine)
    print(f"database ready: {pars.engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pars.logs import configure
    from pars.web import server
    from pars.web.app import create_app

    settings = _settings()
    configure(settings.log_format, settings.log_level)
    pars = _pars(settings)
    pars.listen()  # PostgreSQL: other processes' commits wake this one's relay and feeds
    if not args.no_relay:
        pars.signer  # noqa: B018 - the relay signs checkpoints: fail now, not in its thread
        _start_relay_thread(pars)
    # Timeouts and limits from the settings (PARS_SERVE_*): see web/server.py.
    server.run(create_app(pars), settings, args.host, args.port)
    return 0


def _start_relay_thread(pars: Pars) -> None:
    """The embedded default: relay in-process, next to the API, with nothing else to run."""
    import threading

    from pars.services.delivery.loop import relay_forever

    threading.Thread(target=relay_forever, args=(pars,), name="pars-relay", daemon=True).start()


def cmd_relay(args: argparse.Namespace) -> int:
    from pars.logs import configure
    from pars.services.delivery.loop import relay_forever
    from pars.store.lease import lease_for

    settings = _settings()
    configure(settings.log_format, settings.log_level)
    pars = _pars(settings)
    if args.status:
        holder = lease_for(pars.engine).holder()
        print(f"active relay: {holder}" if holder else "no relay is active")
        return 0 if holder else 1
    print(
        "relaying the outbox to partners (standing by while another relay is active);"
        " Ctrl-C to stop",
        file=sys.stderr,
    )
    pars.signer  # noqa: B018 - it signs checkpoints: fail now if there is no key
    pars.listen()  # PostgreSQL: a commit in any API process wakes it at once
    heap.settle()  # see pars.heap: no full collection over the startup heap mid-round
    with contextlib.suppress(KeyboardInterrupt):
        relay_forever(pars, interval=args.interval, standby_poll=args.standby_poll)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pars.demo import run_demo

    settings = _settings()
    return run_demo(
        settings,
        days=args.days,
        per_day=args.per_day,
        serve=not args.no_serve,
        host=args.host,
        port=args.port,
        seed=args.seed,
    )


def cmd_users_add(args: argparse.Namespace) -> int:
    from pars.services.auth import add_user

    if not args.password_stdin:
        print("pars: give the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    pars = _pars(_settings())
    add_user(pars, args.name, args.role, password, owner=args.owner)
    owner = f" for owner {args.owner}" if args.owner else ""
    print(f"user {args.name} added with role {args.role}{owner}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:

    pars = _pars(_settings())
    with pars.uow() as uow:
        for u in uow.users.all():
            locked = f" locked until {u.locked_until.isoformat()}" if u.locked_until else ""
            print(f"{u.username}\t{u.role}{' disabled' if u.disabled else ''}{locked}")
    return 0


def cmd_users_unlock(args: argparse.Namespace) -> int:
    from pars.domain.roles import Role
    from pars.services.accounts_admin import unlock
    from pars.services.app import Principal

    pars = _pars(_settings())
    was_locked = unlock(pars, Principal("cli", Role.ADMIN.value), args.name)
    print(f"user {args.name} unlocked" if was_locked else f"user {args.name} was not locked")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from pars.services.auth import issue_token

    pars = _pars(_settings())
    print(issue_token(pars, args.name))
    return 0


def cmd_keys_new(args: argparse.Namespace) -> int:
    from pars.crypto import new_key_line

    print(new_key_line())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from pars.services.keys import rotate

    pars = _pars(_settings())
    count = rotate(pars, progress=not args.quiet)
    print(f"re-encrypted {count} value(s) under key {pars.keys.current}")
    return 0


def cmd_partners_add(args: argparse.Namespace) -> int:
    from pars.services.agreements import add_partner
    from pars.services.delivery.nats_access import set_nats_credentials

    pars = _pars(_settings())
    partner_id, key = add_partner(pars, args.name, args.partner_class)
    print(f"partner {args.name} ({args.partner_class}) id {partner_id}")
    print(f"API key (shown once, store it now): {key}")
    if args.nats:
        _, seed = set_nats_credentials(pars, partner_id)
        cli_nats.print_credentials(partner_id, seed, pars.settings.nats_stream)
    return 0


def cmd_partners_rotate(args: argparse.Namespace) -> int:
    from pars.services.agreements import rotate_partner_key

    key = rotate_partner_key(_pars(_settings()), args.name, revoke_old=not args.keep_old)
    print(f"new API key (shown once): {key}")
    return 0


def cmd_partners_secret(args: argparse.Namespace) -> int:
    from pars.services.agreements import set_webhook_secret

    secret = set_webhook_secret(_pars(_settings()), args.name)
    print(f"webhook signing secret (shown once; the old one stops working): {secret}")
    return 0


def cmd_partners_list(args: argparse.Namespace) -> int:
    pars = _pars(_settings())
    with pars.reader() as uow:
        for p in uow.sharing.partners():
            print(f"{p['id']}\t{p['name']}\t{p['partner_class']}")
    return 0


_OPERATOR = ("cli", "privacy_officer")


def cmd_agreements_import(args: argparse.Namespace) -> int:
    """A YAML agreement document becomes a new draft; approval still needs the owners."""
    import yaml
    from pydantic import ValidationError

    from pars.services.agreements import create_agreement
    from pars.services.app import Principal
    from pars.services.inputs import AgreementIn

    with open(args.file) as f:
        data = yaml.safe_load(f)
    try:
        payload = AgreementIn.model_validate_json(json.dumps(data, default=str))
    except ValidationError as e:
        for err in e.errors(include_input=False):
            where = "/".join(str(p) for p in err["loc"])
            print(f"pars: {args.file}: /{where}: {err['msg']}", file=sys.stderr)
        return 1
    result = create_agreement(_pars(_settings()), Principal(*_OPERATOR), payload)
    print(f"agreement {result['id']} v{result['version']} created as draft")
    return 0


def cmd_agreements_export(args: argparse.Namespace) -> int:
    import yaml

    from pars.services.agreements import get_agreement
    from pars.services.app import Principal

    doc = get_agreement(_pars(_settings()), Principal(*_OPERATOR), args.id, args.version)
    print(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pars", description="Preliminary Arraignment Reporting System")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="create or migrate the database, create the key file").set_defaults(
        fn=cmd_init
    )

    s = sub.add_parser("serve", help="serve the API")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument(
        "--no-relay", action="store_true", help="do not relay to partners in this process"
    )
    s.set_defaults(fn=cmd_serve)

    rl = sub.add_parser("relay", help="relay committed events to partners (a separate worker)")
    rl.add_argument("--interval", type=float, default=0.2, help="idle poll interval, seconds")
    rl.add_argument(
        "--standby-poll",
        type=float,
        default=0.25,
        help="while another relay is active, try for the relay lease this often, seconds",
    )
    rl.add_argument(
        "--status", action="store_true", help="print which relay holds the lease, and exit"
    )
    rl.set_defaults(fn=cmd_relay)

    d = sub.add_parser("demo", help="fresh database with synthetic arrests, then serve it")
    d.add_argument("--days", type=int, default=90)
    d.add_argument("--per-day", type=int, default=120)
    d.add_argument("--seed", type=int, default=2026)
    d.add_argument("--no-serve", action="store_true", help="build the data and stop")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.set_defaults(fn=cmd_demo)

    u = sub.add_parser("users", help="staff accounts")
    usub = u.add_subparsers(dest="users_command", required=True)
    ua = usub.add_parser("add", help="add a user; the password is read from standard input")
    ua.add_argument("name")
    ua.add_argument("--role", required=True)
    ua.add_argument("--password-stdin", action="store_true")
    ua.add_argument("--owner", help="the system owner this user approves agreements for")
    ua.set_defaults(fn=cmd_users_add)
    usub.add_parser("list", help="list users").set_defaults(fn=cmd_users_list)
    uu = usub.add_parser("unlock", help="end a user's lock-out now (audited)")
    uu.add_argument("name")
    uu.set_defaults(fn=cmd_users_unlock)

    t = sub.add_parser("token", help="print a new API token for a user")
    t.add_argument("name")
    t.set_defaults(fn=cmd_token)

    pt = sub.add_parser("partners", help="partner agencies and their API keys")
    psub = pt.add_subparsers(dest="partners_command", required=True)
    pa = psub.add_parser("add", help="register a partner; prints its API key once")
    pa.add_argument("name")
    pa.add_argument("--class", dest="partner_class", required=True)
    pa.add_argument(
        "--nats", action="store_true", help="also make its NATS user (`pars nats credentials`)"
    )
    pa.set_defaults(fn=cmd_partners_add)
    pr = psub.add_parser("rotate", help="issue a new API key (old ones revoked)")
    pr.add_argument("name")
    pr.add_argument("--keep-old", action="store_true", help="keep old keys working for now")
    pr.set_defaults(fn=cmd_partners_rotate)
    psub.add_parser("list", help="list partners").set_defaults(fn=cmd_partners_list)
    pw = psub.add_parser("webhook-secret", help="set a new webhook signing secret; prints it once")
    pw.add_argument("name")
    pw.set_defaults(fn=cmd_partners_secret)

    ag = sub.add_parser("agreements", help="data-sharing agreements as YAML documents")
    asub = ag.add_subparsers(dest="agreements_command", required=True)
    ai = asub.add_parser("import", help="create a draft agreement from a YAML file")
    ai.add_argument("file")
    ai.set_defaults(fn=cmd_agreements_import)
    ae = asub.add_parser("export", help="print an agreement as YAML")
    ae.add_argument("id")
    ae.add_argument("--version", type=int)
    ae.set_defaults(fn=cmd_agreements_export)

    k = sub.add_parser(
        "keys", help="encryption keys for protected fields; the disclosure log's signing key"
    )
    ksub = k.add_subparsers(dest="keys_command", required=True)
    ksub.add_parser(
        "new", help="print a new key to put first in PARS_ENCRYPTION_KEYS"
    ).set_defaults(fn=cmd_keys_new)
    kr = ksub.add_parser("rotate", help="re-encrypt every protected value under the first key")
    kr.add_argument("--quiet", action="store_true")
    kr.set_defaults(fn=cmd_keys_rotate)
    cli_audit.register(sub, ksub)
    cli_identity.register(sub)
    cli_nats.register(sub)
    cli_lifecycle.register(sub)
    cli_backup.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.fn(args)
        return code
    except UnknownSetting as e:
        print(f"pars: {e}", file=sys.stderr)
        return 2
    except DomainError as e:
        print(f"pars: {e.detail}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as e:
        print(f"pars: {e}", file=sys.stderr)
        return 2
