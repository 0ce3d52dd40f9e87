"""`pars backup DEST` and `pars restore SRC`: an online copy of the database and its return.

SQLite goes through the sqlite3 online backup API, so the copy is consistent while `pars serve`
and `pars relay` keep writing. PostgreSQL is wrapped: `pg_dump -Fc` (one snapshot, consistent
while the server runs) and `pg_restore`, found on PATH or in the PostgreSQL bin directory. A
restore refuses a target that already holds tables unless told `--force`."""

from __future__ import annotations

import argparse
import glob
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from pars.cli.support import load_settings

__all__ = ["register"]


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if not u.drivername.startswith("sqlite"):
        return None
    if not u.database or u.database == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be backed up or restored")
    return Path(u.database)


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it (no '+driver')."""
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if candidates:
        return candidates[-1]
    raise FileNotFoundError(
        f"{name} not found on PATH or in /usr/lib/postgresql/*/bin: install the PostgreSQL "
        "client programs (of the server's major version or newer) to back up or restore"
    )


def _run_tool(cmd: list[str]) -> None:
    # The program is pg_dump/pg_restore found above; the arguments are ours, no shell.
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise ValueError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()}")


def _sqlite_tables(path: Path) -> list[str]:
    if not path.exists() or path.stat().st_size == 0:
        return []
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def _pg_tables(url: str) -> list[str]:
    import sqlalchemy as sa

    from pars.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            q = sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            return [r[0] for r in conn.execute(q)]
    finally:
        engine.dispose()


def cmd_backup(args: argparse.Namespace) -> int:
    url = load_settings().sqlalchemy_url
    dest = Path(args.dest)
    if dest.exists() and not args.force:
        print(f"pars: {dest} exists; not replacing it (--force to)", file=sys.stderr)
        return 1
    source = _sqlite_path(url)
    if source is not None:
        if not source.exists():
            raise FileNotFoundError(f"no database at {source}")
        dest.unlink(missing_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(dest) as out:
            src.backup(out)  # online: pages copied under a read lock, restarted on a write
        out.close()
        src.close()
    else:
        _run_tool([pg_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(dest), _libpq_url(url)])
    print(f"backed up to {dest}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    url = load_settings().sqlalchemy_url
    src = Path(args.src)
    if not src.is_file():
        raise FileNotFoundError(f"no backup at {src}")
    target = _sqlite_path(url)
    tables = _sqlite_tables(target) if target is not None else _pg_tables(url)
    if tables and not args.force:
        print(
            f"pars: the target database is not empty ({len(tables)} tables); stop PARS and"
            " restore with --force to replace it",
            file=sys.stderr,
        )
        return 1
    if target is not None:
        with sqlite3.connect(src) as backup, sqlite3.connect(target) as out:
            backup.backup(out)
        out.close()
        backup.close()
    else:
        _run_tool([
            pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
            "--exit-on-error", "-d", _libpq_url(url), str(src),
        ])  # fmt: skip
    print(f"restored {src}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser("backup", help="an online, consistent copy of the database")
    b.add_argument("dest", help="file to write (SQLite database, or pg_dump custom format)")
    b.add_argument("--force", action="store_true", help="replace an existing file")
    b.set_defaults(fn=cmd_backup)
    r = sub.add_parser("restore", help="put a backup back into the configured database")
    r.add_argument("src", help="a file written by `pars backup`")
    r.add_argument("--force", action="store_true", help="replace a database that holds tables")
    r.set_defaults(fn=cmd_restore)
