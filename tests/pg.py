"""A throwaway PostgreSQL cluster for the test session, from the installed server binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL server binary {name!r} not found: install PostgreSQL (the README's test "
            "command does) or set PARS_TEST_DATABASE_URL to a server the tests may use"
        )
    return candidates[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    # The server refuses to run as root; run it as the 'postgres' account the package creates.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def pg_ctl(data: Path, action: str, opts: str = "", log: Path | None = None) -> None:
    """pg_ctl ACTION on the cluster in `data` ("stop" is fast: sessions are cut)."""
    cmd = [_bin("pg_ctl"), "-D", str(data), "-w"]
    if opts:
        cmd += ["-o", opts]
    if log:
        cmd += ["-l", str(log)]
    cmd += ["-m", "fast", "stop"] if action == "stop" else [action]
    subprocess.run(_as_postgres(cmd), check=True, capture_output=True)


@contextmanager
def throwaway_cluster(info: dict[str, object] | None = None) -> Iterator[str]:
    """Start a cluster on a free port; yield its admin URL; stop and delete it afterwards.
    `info`, if given, receives the cluster's "data" and "log" paths and "opts", for pg_ctl."""
    root = Path(tempfile.mkdtemp(prefix="pars-pg-"))
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(
            [
                _bin("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres(
            [_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    if info is not None:
        info.update({"data": data, "log": root / "log", "opts": opts})
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
