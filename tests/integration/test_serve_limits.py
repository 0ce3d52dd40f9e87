"""A real `pars serve` against slow and piling-up clients: a header trickled one byte at a time
is cut off, half-open connections are closed, and a request beyond the concurrency limit is
answered 503 instead of waiting. Bounds are generous (three times the setting): the machine is
noisy, and the point is that the server closes the connection at all."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pars.services.app import Pars
from tests.conftest import AUDIT_SIGNING_KEY, KEYS

HEADER_TIMEOUT = 1.5
BOUND = 3 * HEADER_TIMEOUT
LIMIT = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(pars: Pars, tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_")}
    env.update({
        "PARS_DATA_DIR": str(tmp_path), "PARS_DATABASE_URL": pars.settings.sqlalchemy_url,
        "PARS_ENCRYPTION_KEYS": KEYS, "PARS_AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY,
        "PARS_LOG_LEVEL": "error", "PARS_SERVE_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "PARS_SERVE_LIMIT_CONCURRENCY": str(LIMIT), "PARS_SERVE_KEEP_ALIVE_SECONDS": "30",
    })  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "pars.cli", "serve", "--no-relay", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            assert time.monotonic() < deadline, "pars serve did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _closed_by_server(sock: socket.socket, within: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closed `sock` (sending `trickle` one byte every 0.25 s
    meanwhile), or None if it was still open after `within`. Fails on any answer bytes."""
    began = time.monotonic()
    sent = 0
    while time.monotonic() - began < within:
        readable, _, _ = select.select([sock], [], [], 0.25)
        if readable:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            assert data == b"", f"answered instead of cut off: {data[:60]!r}"
            return time.monotonic() - began
        if sent < len(trickle):
            try:
                sock.send(trickle[sent : sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - began
            sent += 1
    return None


def _get(port: int, sock: socket.socket | None = None) -> bytes:
    s = sock or socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: pars\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
        return answer
    finally:
        s.close()


def test_a_slowloris_header_is_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        trickle = b"GET /healthz HTTP/1.1\r\nHost: pars\r\nX-Slow: " + b"a" * 200
        closed_after = _closed_by_server(sock, BOUND, trickle)
    assert closed_after is not None, f"still open after {BOUND} s"
    assert _get(server).startswith(b"HTTP/1.1 200")  # and the server serves on


def test_half_open_connections_are_closed(server: int) -> None:
    sockets = [socket.create_connection(("127.0.0.1", server), timeout=10) for _ in range(150)]
    try:
        began = time.monotonic()
        for sock in sockets:
            left = max(0.0, BOUND - (time.monotonic() - began))
            assert _closed_by_server(sock, left + 0.25) is not None, "a connection stayed open"
    finally:
        for sock in sockets:
            sock.close()


def test_a_request_beyond_the_limit_is_answered_503_then_served_again(server: int) -> None:
    idle = [socket.create_connection(("127.0.0.1", server), timeout=10) for _ in range(LIMIT)]
    try:
        time.sleep(0.2)  # let the server accept them all
        assert _get(server).startswith(b"HTTP/1.1 503")
        for sock in idle:
            assert _closed_by_server(sock, BOUND) is not None
    finally:
        for sock in idle:
            sock.close()
    assert _get(server).startswith(b"HTTP/1.1 200")


def test_a_kept_alive_connection_is_served_and_then_timed_again(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: pars\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):  # the headers and the body
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:60]
        # Keep-alive is 30 s here: it is the header timeout that closes the idle connection.
        assert _closed_by_server(sock, BOUND) is not None
