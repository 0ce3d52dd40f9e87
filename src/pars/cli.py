"""The `pars` command: init, serve, demo, users, token, keys."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pars.config import Settings, UnknownSetting, check_environment
from pars.domain.errors import DomainError

if TYPE_CHECKING:
    from pars.services.app import Pars

__all__ = ["main"]


def _settings() -> Settings:
    check_environment()
    return Settings()


def _pars(settings: Settings, create_keys: bool = False) -> Pars:
    from pars.crypto import KeyRing
    from pars.services.app import Pars

    keys = KeyRing.load(settings.encryption_keys, settings.data_dir, create=create_keys)
    return Pars(settings, keys=keys)


def cmd_init(args: argparse.Namespace) -> int:
    from pars.store.engine import migrate

    settings = _settings()
    pars = _pars(settings, create_keys=True)
    migrate(pars.engine)
    print(f"database ready: {pars.engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pars.logs import configure
    from pars.web.app import create_app

    settings = _settings()
    configure(settings.log_format, settings.log_level)
    pars = _pars(settings)
    uvicorn.run(
        create_app(pars),
        host=args.host,
        port=args.port,
        log_level=settings.log_level,
        access_log=False,  # the app logs each request itself, without query strings
    )
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
    add_user(pars, args.name, args.role, password)
    print(f"user {args.name} added with role {args.role}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:

    pars = _pars(_settings())
    with pars.uow() as uow:
        for u in uow.users.all():
            locked = f" locked until {u.locked_until.isoformat()}" if u.locked_until else ""
            print(f"{u.username}\t{u.role}{' disabled' if u.disabled else ''}{locked}")
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pars", description="Preliminary Arraignment Reporting System")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="create or migrate the database, create the key file").set_defaults(
        fn=cmd_init
    )

    s = sub.add_parser("serve", help="serve the API")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(fn=cmd_serve)

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
    ua.set_defaults(fn=cmd_users_add)
    usub.add_parser("list", help="list users").set_defaults(fn=cmd_users_list)

    t = sub.add_parser("token", help="print a new API token for a user")
    t.add_argument("name")
    t.set_defaults(fn=cmd_token)

    k = sub.add_parser("keys", help="encryption keys for protected fields")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    ksub.add_parser(
        "new", help="print a new key to put first in PARS_ENCRYPTION_KEYS"
    ).set_defaults(fn=cmd_keys_new)
    kr = ksub.add_parser("rotate", help="re-encrypt every protected value under the first key")
    kr.add_argument("--quiet", action="store_true")
    kr.set_defaults(fn=cmd_keys_rotate)
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
    except ValueError as e:
        print(f"pars: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
