"""What a request costs before any command runs: the HTTP stack's share of intake's CPU.

Drives ASGI applications in-process (no socket, as `bench/intake_cpu.py` does), from C
concurrent tasks on one event loop, and prints the process CPU per request of:

- a bare FastAPI application: an `async` route, a plain `def` route (one hand-off to anyio's
  worker thread), and an `async` route with two `run_in_threadpool` calls;
- PARS's own application on a fresh SQLite database: `GET /healthz` (no authentication, no
  database) and an authenticated `GET /api/v1/charges?q=theft`.

    uv run python -m bench.asgi_overhead [--requests N] [--json]

It is a benchmark, not a test: it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _call(app: ASGI, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    status = [0]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    await app(scope, receive, send)
    return status[0]


def _measure(
    loop: asyncio.AbstractEventLoop,
    app: ASGI,
    path: str,
    requests: int,
    clients: int,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> float:
    """CPU µs per request, after a warm-up; RuntimeError if any answer is not 200."""

    async def drive(count: int) -> list[int]:
        todo = iter(range(count))
        answers: list[int] = []

        async def worker() -> None:
            for _ in todo:
                answers.append(await _call(app, path, query, headers or []))

        await asyncio.gather(*(worker() for _ in range(clients)))
        return answers

    loop.run_until_complete(drive(max(requests // 10, 50)))
    start = time.process_time()
    answers = loop.run_until_complete(drive(requests))
    cpu = time.process_time() - start
    if set(answers) != {200}:
        raise RuntimeError(f"{path}: answers {sorted(set(answers))}")
    return round(1e6 * cpu / requests, 1)


def _bare() -> ASGI:
    from fastapi import FastAPI
    from starlette.concurrency import run_in_threadpool

    app = FastAPI()

    @app.get("/async")
    async def in_loop() -> dict[str, int]:
        return {"a": 1}

    @app.get("/sync")
    def in_thread() -> dict[str, int]:
        return {"a": 1}

    @app.get("/two-hand-offs")
    async def two_hops() -> dict[str, int]:
        await run_in_threadpool(lambda: None)
        await run_in_threadpool(lambda: None)
        return {"a": 1}

    return app  # type: ignore[return-value]


def _pars(data_dir: Path) -> tuple[ASGI, str]:
    from pars.config import Settings
    from pars.crypto import KeyRing, new_key_line
    from pars.logs import configure
    from pars.services.app import Pars
    from pars.services.auth import add_user, issue_token
    from pars.store.engine import make_engine, migrate
    from pars.web.app import create_app

    url = f"sqlite:///{data_dir / 'pars.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    settings = Settings(data_dir=data_dir, database_url=url, log_level="warning")
    configure(settings.log_format, settings.log_level)
    app_pars = Pars(settings, keys=KeyRing(new_key_line()))
    add_user(app_pars, "bench.officer", "officer", "bench-password-not-secret")
    return create_app(app_pars), issue_token(app_pars, "bench.officer")  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.asgi_overhead", description=__doc__.split("\n")[0]
    )
    p.add_argument("--requests", type=int, default=5000, help="measured requests per path")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    args = p.parse_args(argv)
    loop = asyncio.new_event_loop()
    figures: dict[str, dict[str, float]] = {}
    bare = _bare()
    with tempfile.TemporaryDirectory() as data_dir:
        app, token = _pars(Path(data_dir))
        auth = [(b"authorization", f"Bearer {token}".encode())]
        paths: list[tuple[str, ASGI, str, bytes, list[tuple[bytes, bytes]]]] = [
            ("bare FastAPI, async route", bare, "/async", b"", []),
            ("bare FastAPI, def route (one hand-off)", bare, "/sync", b"", []),
            ("bare FastAPI, async route, two hand-offs", bare, "/two-hand-offs", b"", []),
            ("PARS, GET /healthz", app, "/healthz", b"", []),
            ("PARS, GET /api/v1/charges?q=theft (signed in)", app, "/api/v1/charges",
             b"q=theft", auth),
        ]  # fmt: skip
        for name, target, path, query, headers in paths:
            figures[name] = {}
            for clients in (1, 16):
                us = _measure(loop, target, path, args.requests, clients, query, headers)
                figures[name][f"{clients}_clients_cpu_us"] = us
            print(
                f"{name:48} {figures[name]['1_clients_cpu_us']:8.1f} µs (1 client)  "
                f"{figures[name]['16_clients_cpu_us']:8.1f} µs (16 clients)",
                flush=True,
            )
    loop.close()
    if args.json:
        print(json.dumps({"benchmark": "asgi_overhead", "cpu_us_per_request": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
