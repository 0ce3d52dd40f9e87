"""Wake-ups across processes on SQLite: datagrams in a directory beside the database file.

PostgreSQL has LISTEN/NOTIFY (`pars.store.notify`); SQLite has nothing of the kind, so a
`pars relay` in another process than `pars serve` used to find new events, and the API's
streams its queued deliveries, only at their polls. Here every process that listens
(`Pars.listen`) binds a Unix datagram socket and names it with an empty file in
`<database file>.wake/`; every commit that wrote outbox events or queued deliveries sends the
channel's name (`pars_outbox`, `pars_queue`) to every other socket named there, after COMMIT,
so a wake-up never runs ahead of the data. A datagram carries nothing but the channel's name.
The sockets are in Linux's abstract namespace (no path-length limit, gone with their process):
a name whose socket refuses is a process that died, and is removed. Where abstract sockets do
not exist the bind fails and the polls serve alone. Nothing depends on a datagram arriving: the
polls stay as the fallback, as with PostgreSQL.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import structlog

from pars.logs import error_name

__all__ = ["WakeDirectory"]

_log = structlog.get_logger("pars.wake")
_instances = itertools.count()


class WakeDirectory:
    """The wake-up sockets of the processes sharing one SQLite database."""

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database.resolve()}.wake")
        self._prefix = "\0pars-wake/" + hashlib.sha256(str(self.path).encode()).hexdigest()[:24]
        self._own: Path | None = None
        self._sock: socket.socket | None = None
        self._sender: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def send(self, channel: str) -> None:
        """Tell every other listening process that `channel` has news (after a COMMIT)."""
        try:
            names = os.listdir(self.path)
        except OSError:
            return  # nobody listens
        data = channel.encode()
        out = self._sender
        if out is None:  # one unbound socket for every send (a datagram send is thread-safe)
            out = self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            out.setblocking(False)
        for name in names:
            target = self.path / name
            if target == self._own or not name.endswith(".sock"):
                continue
            try:
                out.sendto(data, self._address(name))
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    target.unlink()  # its process is gone
            except OSError:
                pass  # full or unreachable: its polls will find the news

    def listen(self, wakeups: dict[str, Callable[[], None]]) -> bool:
        """Bind this process's socket and call `wakeups[channel]` for each datagram, in a daemon
        thread. False (and the polls alone) when the socket cannot be made."""
        if self._sock is not None:
            return True
        own = self.path / f"{os.getpid()}-{next(_instances)}.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(self._address(own.name))
            self.path.mkdir(mode=0o700, exist_ok=True)
            own.touch()
        except OSError as e:
            sock.close()
            _log.warning("wake-up socket not made; news found at polls", error=error_name(e))
            return False
        sock.settimeout(1.0)
        self._own, self._sock = own, sock
        self._stop.clear()

        def run() -> None:
            while not self._stop.is_set():
                try:
                    data = sock.recv(64)
                except TimeoutError:
                    continue
                except OSError:
                    return
                wake = wakeups.get(data.decode(errors="replace"))
                if wake is not None:
                    with contextlib.suppress(Exception):
                        wake()

        self._thread = threading.Thread(target=run, name="pars-wake", daemon=True)
        self._thread.start()
        return True

    @property
    def listening(self) -> bool:
        return self._sock is not None

    def _address(self, name: str) -> str:
        return f"{self._prefix}/{name}"

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3)
        if self._sock is not None:
            self._sock.close()
        if self._own is not None:
            with contextlib.suppress(OSError):
                self._own.unlink()
        self._sock = self._own = self._thread = None
