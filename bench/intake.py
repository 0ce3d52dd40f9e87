"""Intake benchmark: create-and-submit arrests through the HTTP API, and a straight-insert ceiling.

For each backend (SQLite, PostgreSQL) it

1. starts the real server as a subprocess on a freshly initialised database (`pars init`, an
   officer account, a token from `pars token`): one process with `pars serve`, or N worker
   processes with `uvicorn --factory --workers N` on `bench._app:create` plus one `pars relay`;
2. drives `POST /api/v1/arrests?submit=true` from concurrent keep-alive HTTP/1.1 connections
   (raw asyncio streams: the client must stay cheap on a 2-core machine) and records each
   request's latency and status;
3. inserts the same rows straight through SQLAlchemy Core on another freshly migrated database,
   one transaction per arrest (copies of the rows one API arrest wrote: otn_sequence, arrests
   with a same-size document and encrypted blob, arrest_versions, 2 audit_log, 1 outbox), in
   C threads and in 1 thread: the faster is the ceiling;
4. prints one table per backend: arrests/s, p50/p99 latency, and the ratio API/ceiling, plus
   where the CPU went per arrest (server, PostgreSQL, this process, the rest of the machine)
   and PostgreSQL's sessions, commits and rollbacks per arrest.

It is a benchmark, not a test: it asserts nothing about timing. Any non-201 answer is counted
and printed as a failure. Run from the repository root:

    uv run python -m bench.intake [--seconds N | --count N] [--clients C]
                                  [--backend sqlite|postgres|both] [--workers 1,2]

PostgreSQL: `PARS_BENCH_DATABASE_URL` (an admin URL: the benchmark creates and drops its own
`pars_bench_*` databases there), else a throwaway cluster from `tests/pg.py`.
`--py-spy DIR` (with `uv run --with py-spy ...`) samples the server during each API run and
writes collapsed stacks there; figures from such a run are disturbed by the sampler. `--app
MODULE:FACTORY` serves another ASGI factory (a variant under study) with uvicorn. See --help.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-not-secret"
USER = "bench.officer"
PATH = "/api/v1/arrests?submit=true"
CLK_TCK = os.sysconf("SC_CLK_TCK")
_SURNAMES = (
    "Doe", "Roe", "Smith", "Jones", "Brown", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
)  # fmt: skip
_GIVEN = (
    "John", "Jane", "Mary", "James", "Maria", "Robert", "Linda", "Michael", "David", "Susan",
    "Carlos", "Ana", "Kim", "Sam",
)  # fmt: skip


def _repo_on_path() -> None:
    """`tests` (factories, the throwaway cluster) is imported from the repository root."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- results -----------------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds spent during one run, by whom."""

    server: float | None = None
    database: float | None = None
    bench: float = 0.0
    server_split: list[float] = field(default_factory=list)  # per server process, seconds
    machine: float = 0.0  # every process on the machine, kernel included
    steal: float = 0.0  # taken by the hypervisor

    @property
    def others(self) -> float:
        """What the machine spent outside the measured processes (other work, kernel)."""
        return max(0.0, self.machine - (self.server or 0.0) - (self.database or 0.0) - self.bench)


@dataclass
class Result:
    backend: str
    path: str
    clients: int
    seconds: float
    latencies: list[float]  # of successful arrests, seconds
    failures: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    cpu: Cpu = field(default_factory=Cpu)
    ceiling: bool = False
    db_activity: dict[str, int] = field(default_factory=dict)  # pg_stat_database deltas

    @property
    def arrests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.arrests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000


# -- processes and CPU accounting ----------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int, float, float] | None:
    """(comm, ppid, pgrp, own CPU s, reaped children's CPU s) from /proc, None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    f = raw[raw.rindex(")") + 2 :].split()
    own = (int(f[11]) + int(f[12])) / CLK_TCK
    children = (int(f[13]) + int(f[14])) / CLK_TCK
    return comm, int(f[1]), int(f[2]), own, children


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds of every live process in a process group (own + reaped children)."""
    out: dict[int, float] = {}
    for pid in _pids():
        st = _stat(pid)
        if st and st[2] == pgid:
            out[pid] = st[3] + st[4]
    return out


def postgres_cpu(postmaster: int | None) -> float | None:
    """CPU seconds of a local PostgreSQL server: the postmaster, its live children, and the
    children it has reaped. None when the server is not on this machine."""
    if postmaster is None:
        return None
    root = _stat(postmaster)
    if root is None:
        return None
    total = root[3] + root[4]
    for pid in _pids():
        st = _stat(pid)
        if st and st[1] == postmaster:
            total += st[3]
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


class CpuMeter:
    def __init__(self, server_groups: list[int], postmaster: int | None) -> None:
        self._groups = server_groups
        self._postmaster = postmaster

    def __enter__(self) -> CpuMeter:
        self._server0 = self._server()
        self._db0 = postgres_cpu(self._postmaster)
        self._bench0 = time.process_time()
        self._machine0 = machine_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        machine1 = machine_cpu()
        server1 = self._server()
        db1 = postgres_cpu(self._postmaster)
        split = [v - self._server0.get(pid, 0.0) for pid, v in sorted(server1.items())]
        self.cpu = Cpu(
            server=sum(split) if self._groups else None,
            database=db1 - self._db0 if db1 is not None and self._db0 is not None else None,
            bench=time.process_time() - self._bench0,
            server_split=[s for s in split if s > 0.05],
            machine=machine1[0] - self._machine0[0],
            steal=machine1[1] - self._machine0[1],
        )

    def _server(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for pgid in self._groups:
            out.update(group_cpu(pgid))
        return out


class Server:
    """The PARS API in a subprocess (its own process group, killed as a whole on stop)."""

    def __init__(
        self, env: dict[str, str], workers: int, port: int, log: Path, app: str | None = None
    ) -> None:
        self.env, self.workers, self.port, self.log = env, workers, port, log
        self.app = app  # an ASGI factory for uvicorn; None: `pars serve` when one process
        self.proc: subprocess.Popen[bytes] | None = None
        self.others: list[subprocess.Popen[bytes]] = []  # beside the server: the relay

    @property
    def groups(self) -> list[int]:
        """Process groups of everything this server runs (each its own session)."""
        return [p.pid for p in ([self.proc] if self.proc else []) + self.others]

    @property
    def relay(self) -> bool:
        """Whether to run `pars relay` beside uvicorn (when this PARS has a relay)."""
        if self.workers == 1 and self.app is None:
            return False
        import importlib

        # By module name: `pars.cli.main` as an attribute is the `main` function.
        return hasattr(importlib.import_module("pars.cli.main"), "cmd_relay")

    @property
    def label(self) -> str:
        if self.workers == 1 and self.app is None:
            return "API, pars serve (1 process)"
        app = f" {self.app}" if self.app else ""
        relay = " + pars relay" if self.relay else ""
        return f"API, uvicorn{app} --workers {self.workers}{relay}"

    def start(self) -> None:
        host = ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers == 1 and self.app is None:
            cmd = [sys.executable, "-m", "pars.cli", "serve", *host]
        else:
            cmd = [
                sys.executable, "-m", "uvicorn", self.app or "bench._app:create", "--factory",
                *host, "--workers", str(self.workers), "--log-level", "warning",
                "--no-access-log",
            ]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            if self.relay:
                # `pars serve` relays in a thread; uvicorn workers do not, so run the separate
                # relay worker, as a multi-process deployment would.
                self.others.append(subprocess.Popen(
                    [sys.executable, "-m", "pars.cli", "relay"], env=self.env, cwd=ROOT,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                ))  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout: float = 180.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/readyz")
                ready = conn.getresponse().status == 200
                conn.close()
                if ready:
                    if self.workers > 1:
                        time.sleep(2.0)  # let every worker reach accept() before connecting
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        procs = ([self.proc] if self.proc else []) + self.others
        self.proc, self.others = None, []
        for proc in procs:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group (it leads its own session), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    # Workers of a multi-process server are in the same group; make sure none is left.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class PySpy:
    """`py-spy record` attached to the server during a run (collapsed stacks, --nonblocking)."""

    def __init__(self, out: Path | None, pid: int, name: str) -> None:
        self.out = out / f"{name}.txt" if out else None
        self.pid = pid
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PySpy:
        if self.out is None:
            return self
        exe = shutil.which("py-spy")
        if exe is None:
            raise RuntimeError("--py-spy needs py-spy: uv run --with py-spy python -m bench.intake")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(self.pid), "--subprocesses", "--nonblocking", "--gil",
             "--rate", "100", "--format", "raw", "-o", str(self.out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        time.sleep(1.0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.out and self.out.exists():
            _log(f"py-spy: {self.out}")
            summarise_stacks(self.out)


def summarise_stacks(path: Path, top: int = 30) -> None:
    """Print the functions that appear in the most samples (inclusive), from collapsed stacks."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = stack.split(";")
        seen = {f.split(" (", 1)[0] + " (" + _short(f) + ")" for f in frames[1:]}
        for f in seen:
            inclusive[f] += count
    print(f"\nprofile {path.name}: {total} samples; functions in most samples (inclusive)")
    for name, count in inclusive.most_common(top):
        print(f"  {100 * count / max(total, 1):5.1f}%  {name}")


def _short(frame: str) -> str:
    inside = frame.split(" (", 1)[1].rstrip(")") if " (" in frame else ""
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in inside:
            inside = inside.split(marker, 1)[1]
    return inside.split(":", 1)[0]


# -- setup: databases, users, tokens -------------------------------------------------------------


def _env(data_dir: Path, db_url: str | None, keys: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_")}
    env.update(PARS_DATA_DIR=str(data_dir), PARS_ENCRYPTION_KEYS=keys, PARS_LOG_LEVEL="warning")
    if db_url:
        env["PARS_DATABASE_URL"] = db_url
    return env


def _pars(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pars.cli", *args], env=env, cwd=ROOT, input=stdin,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"pars {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def prepare(env: dict[str, str]) -> str:
    """`pars init`, an officer account, and a token for it."""
    _pars(env, "init")
    _pars(env, "users", "add", USER, "--role", "officer", "--password-stdin", stdin=PASSWORD + "\n")
    return _pars(env, "token", USER).splitlines()[-1]


class Databases:
    """Fresh databases, one per run: SQLite files in temporary directories, or PostgreSQL
    databases created on one server (and dropped at the end)."""

    def __init__(self, root: Path, admin_url: str | None) -> None:
        self.root = root
        self.admin_url = admin_url
        self._created: list[str] = []
        self._n = 0
        self.postmaster = _postmaster(admin_url) if admin_url else None

    def fresh(self) -> tuple[Path, str | None]:
        """(data dir, database URL; None means the SQLite file in the data dir)."""
        self._n += 1
        data_dir = self.root / f"run{self._n}"
        data_dir.mkdir(parents=True)
        if self.admin_url is None:
            return data_dir, None
        name = f"pars_bench_{os.getpid()}_{self._n}"
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            admin.dispose()
        self._created.append(name)
        url = sa.make_url(self.admin_url).set(database=name)
        return data_dir, url.render_as_string(hide_password=False)

    def activity(self, url: str | None) -> dict[str, int] | None:
        """PostgreSQL's counters for one database: sessions opened, commits, rollbacks."""
        if self.admin_url is None or url is None:
            return None
        time.sleep(1.0)  # backends report their counters about once a second
        admin = sa.create_engine(self.admin_url)
        try:
            with admin.connect() as conn:
                row = conn.execute(
                    sa.text(
                        "SELECT sessions, xact_commit, xact_rollback FROM pg_stat_database "
                        "WHERE datname = :name"
                    ),
                    {"name": sa.make_url(url).database},
                ).one()
        except sa.exc.SQLAlchemyError:
            return None
        finally:
            admin.dispose()
        return {"sessions": row[0], "commits": row[1], "rollbacks": row[2]}

    def drop_all(self) -> None:
        if self.admin_url is None or not self._created:
            return
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for name in self._created:
                    with contextlib.suppress(sa.exc.SQLAlchemyError):
                        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()
        self._created.clear()


def _postmaster(admin_url: str) -> int | None:
    """The pid of the PostgreSQL server if it runs on this machine and we may read its data
    directory (the throwaway cluster does); else None, and its CPU is not reported."""
    engine = sa.create_engine(admin_url)
    try:
        with engine.connect() as conn:
            data = str(conn.exec_driver_sql("SHOW data_directory").scalar())
        return int((Path(data) / "postmaster.pid").read_text().split()[0])
    except (sa.exc.SQLAlchemyError, OSError, ValueError, IndexError):
        return None
    finally:
        engine.dispose()


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'pars.db').resolve()}"


# -- the HTTP load ---------------------------------------------------------------------------


def body_template() -> str:
    """`arrest_body()` as JSON, with placeholders for what varies per request."""
    _repo_on_path()
    from tests.factories import arrest_body

    body = arrest_body()
    # Recent, so the body stays valid whatever today's date (the factory's is a fixed day).
    eastern = timezone(timedelta(hours=-5))
    arrested = (datetime.now(UTC) - timedelta(hours=3)).astimezone(eastern).replace(microsecond=0)
    body["arrested_at"] = arrested.isoformat()
    body["report_number"] = "@RN@"
    body["person"] = {**body["person"], "last_name": "@LN@", "first_name": "@FN@"}
    return json.dumps(body, separators=(",", ":"))


class Load:
    """C keep-alive connections, each sending its next create-and-submit as soon as the last one
    is answered. The connections live on one event loop across `warm_up` and `run`, so that the
    measured run reuses the connections the warm-up spread over the server's workers."""

    def __init__(self, port: int, token: str, clients: int, tag: str) -> None:
        self.port, self.clients, self.tag = port, clients, tag
        self._template = body_template()
        self._head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Accept: application/json\r\n"
        )
        self._n = 0
        self._loop = asyncio.new_event_loop()
        self._conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    def _request(self, n: int) -> bytes:
        body = (
            self._template.replace("@RN@", f"{self.tag}-{n:07d}")
            .replace("@LN@", _SURNAMES[n % len(_SURNAMES)])
            .replace("@FN@", _GIVEN[(n // len(_SURNAMES)) % len(_GIVEN)])
            .encode()
        )
        return (self._head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        """(status, body, server closes) of one HTTP/1.1 response."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                chunked = True
            elif name == b"connection" and value == b"close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            return status, b"".join(p[:-2] for p in parts), close
        return status, await reader.readexactly(length or 0), close

    async def _one(self, i: int, result: Result) -> None:
        """One create-and-submit on connection `i`, recorded in `result`."""
        self._n += 1
        data = self._request(self._n)
        reader, writer = self._conns[i]
        t0 = time.perf_counter()
        try:
            writer.write(data)
            status, body, close = await self._response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            result.failures[f"connection: {type(e).__name__}"] += 1
            writer.close()
            self._conns[i] = await self._connect()
            return
        elapsed = time.perf_counter() - t0
        if status == 201:
            result.latencies.append(elapsed)
        else:
            result.failures[str(status)] += 1
            if len(result.samples) < 5:
                result.samples.append(f"{status} {body[:300].decode(errors='replace')}")
        if close:
            writer.close()
            self._conns[i] = await self._connect()

    async def _warm_up(self, requests: int, stagger: float, limit: float) -> Result:
        """Open the connections one at a time while the open ones carry traffic, so that a busy
        worker is less likely than an idle one to accept the next (uvicorn's workers share one
        listening socket); stop after `requests` requests, or `limit` seconds."""
        result = Result("", "warm-up", self.clients, 0.0, [])
        done = asyncio.Event()

        async def client(i: int) -> None:
            while not done.is_set():
                await self._one(i, result)

        tasks = []
        deadline = time.perf_counter() + limit
        for i in range(self.clients):
            self._conns.append(await self._connect())
            tasks.append(asyncio.create_task(client(i)))
            await asyncio.sleep(stagger)
        while time.perf_counter() < deadline:
            if result.arrests + sum(result.failures.values()) >= requests:
                break
            await asyncio.sleep(0.05)
        done.set()
        await asyncio.gather(*tasks)
        return result

    async def _run(self, count: int | None, seconds: float) -> Result:
        for i, (reader, writer) in enumerate(self._conns):
            if reader.at_eof() or writer.is_closing():  # the server's keep-alive timeout
                writer.close()
                self._conns[i] = await self._connect()
        result = Result("", "", self.clients, 0.0, [])
        deadline = time.perf_counter() + seconds
        sent = 0

        async def client(i: int) -> None:
            nonlocal sent
            while (count is None or sent < count) and time.perf_counter() < deadline:
                sent += 1
                await self._one(i, result)

        start = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(self.clients)))
        result.seconds = time.perf_counter() - start
        return result

    def warm_up(self, requests: int, stagger: float = 0.05, limit: float = 60.0) -> Result:
        return self._loop.run_until_complete(self._warm_up(requests, stagger, limit))

    def run(self, count: int | None, seconds: float) -> Result:
        """Until `count` requests were sent, or `seconds` passed."""
        return self._loop.run_until_complete(self._run(count, seconds))

    def close(self) -> None:
        for _, writer in self._conns:
            writer.close()
        self._conns.clear()
        pending = asyncio.all_tasks(self._loop)  # left by an interrupted run

        async def finish() -> None:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        self._loop.run_until_complete(finish())
        self._loop.close()


def api_run(
    backend: str,
    dbs: Databases,
    keys: str,
    workers: int,
    args: argparse.Namespace,
    count: int | None,
    seconds: float,
) -> tuple[Result, dict[str, Any]]:
    """One API run on a fresh database; also returns a stored arrest to copy for the ceiling."""
    data_dir, db_url = dbs.fresh()
    env = _env(data_dir, db_url, keys)
    token = prepare(env)
    server = Server(env, workers, _free_port(), data_dir / "server.log", args.app)
    with contextlib.ExitStack() as closing:
        closing.callback(server.stop)
        server.start()
        assert server.proc is not None
        tag = f"B{workers}{backend[0].upper()}"
        load = Load(server.port, token, args.clients, tag)
        closing.callback(load.close)
        wait_quiet(args.quiet_wait)  # before the warm-up: idle connections time out in 5 s
        warm = load.warm_up(max(4 * args.clients, 100))
        if warm.failures:
            raise RuntimeError(
                f"warm-up failed: {dict(warm.failures)} {warm.samples[:2]}\n"
                f"server log:\n{server.tail()}"
            )
        _log(f"{backend}: {server.label}: measuring ({args.clients} clients)")
        name = f"{backend}-{workers}w"
        before = dbs.activity(db_url)
        with (
            PySpy(args.py_spy, server.proc.pid, name),
            CpuMeter(server.groups, dbs.postmaster) as meter,
        ):
            result = load.run(count=count, seconds=seconds)
        result.cpu = meter.cpu
        after = dbs.activity(db_url)
        if before and after:
            result.db_activity = {k: after[k] - before[k] for k in after}
        result.backend, result.path = backend, server.label
        if server.proc.poll() is not None:
            result.failures["server died"] += 1
        if result.failures:
            result.samples.append(f"server log:\n{server.tail()}")
    template = read_template(db_url or sqlite_url(data_dir), keys)
    _log(f"{backend}: {server.label}: {result.arrests} arrests in {result.seconds:.1f}s")
    return result, template


def wait_quiet(limit: float, busy_below: float = 0.25) -> None:
    """Wait (at most `limit` seconds) for a second in which the machine's CPU is nearly idle,
    so that other programs' work does not land in the figures; say so if it never comes."""
    if limit <= 0:
        return
    deadline = time.monotonic() + limit
    while True:
        before = machine_cpu()[0]
        time.sleep(1.0)
        busy = machine_cpu()[0] - before
        if busy < busy_below:
            return
        if time.monotonic() >= deadline:
            _log(f"machine still busy ({busy:.2f} cores in use by others); measuring anyway")
            return


def _free_port() -> int:
    _repo_on_path()
    from tests.pg import free_port

    return free_port()


# -- the ceiling ---------------------------------------------------------------------------------


_TEMPLATE_TABLES = ("arrests", "arrest_versions", "audit_log", "outbox")


def _plain(value: Any) -> Any:
    """A value read back, ready to write again: aware datetimes, bytes."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def read_template(url: str, keys_spec: str) -> dict[str, Any]:
    """The rows one create-and-submit wrote, read back from the API's database with the columns
    the database really has (reflected), so the ceiling follows the schema as it evolves."""
    from pars.crypto import KeyRing

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn, only=list(_TEMPLATE_TABLES))
            t = meta.tables
            arrest = conn.execute(sa.select(t["arrests"]).limit(1)).mappings().one()
            aid = arrest["id"]

            def rows(name: str, column: str, order: str | None = None) -> list[dict[str, Any]]:
                q = sa.select(t[name]).where(t[name].c[column] == aid)
                if order:
                    q = q.order_by(t[name].c[order])
                return [{k: _plain(v) for k, v in r.items()} for r in conn.execute(q).mappings()]

            template: dict[str, Any] = {
                "arrest": {k: _plain(v) for k, v in arrest.items()},
                "versions": rows("arrest_versions", "arrest_id", "version"),
                "audits": rows("audit_log", "subject", "id"),
                "events": rows("outbox", "subject", "seq"),
            }
    finally:
        engine.dispose()
    document = template["arrest"]["document"]
    if isinstance(document, str):
        template["arrest"]["document"] = json.loads(document)
    template["protected"] = KeyRing(keys_spec).decrypt(template["arrest"]["protected"], aid)
    return template


def describe_template(template: dict[str, Any]) -> str:
    a = template["arrest"]
    doc = len(json.dumps(a["document"], separators=(",", ":")))
    return (
        f"rows per arrest: 1 otn_sequence, 1 arrests (document {doc} B of JSON, protected "
        f"{len(a['protected'] or b'')} B of AES-GCM), {len(template['versions'])} arrest_versions, "
        f"{len(template['audits'])} audit_log, {len(template['events'])} outbox"
    )


def _audit_row(e: dict[str, Any], subject: str) -> Any:
    """The template's audit row as the store would append it for another arrest."""
    from pars.store.audit import AuditRow

    return AuditRow(
        e["actor"], e["action"], e["outcome"], e["role"], subject, e["details"] or {},
        e.get("agreement_id"), e.get("agreement_version"), e.get("record_id"),
        tuple((e.get("classes") or "").split(",")) if e.get("classes") else (),
        e.get("payload_hash"), e.get("salt"),
    )  # fmt: skip


def ceiling_run(
    backend: str,
    dbs: Databases,
    keys_spec: str,
    template: dict[str, Any],
    threads: int,
    count: int | None,
    seconds: float,
    quiet_wait: float = 0.0,
) -> Result:
    """The same rows through SQLAlchemy Core, one transaction per arrest, in `threads` threads,
    on a freshly migrated database, with PARS's engine settings and table definitions. Each row
    is the template's (every column), with new ids, names, timestamps and ciphertext."""
    from pars.crypto import KeyRing
    from pars.domain.identifiers import otn_from_sequence
    from pars.store import tables
    from pars.store.audit import append_rows

    try:  # the frontier is newer than some versions this compares (bench/intake_cpu --compare)
        from pars.store.audit import frontier
    except ImportError:
        frontier = None
    from pars.store.engine import make_engine, migrate

    data_dir, db_url = dbs.fresh()
    engine = make_engine(db_url or sqlite_url(data_dir))
    migrate(engine)
    keys = KeyRing(keys_spec)

    def shape(name: str, rows: list[dict[str, Any]]) -> tuple[sa.Table, list[dict[str, Any]]]:
        """PARS's table, and the template rows cut to its columns, less generated keys."""
        table: sa.Table = getattr(tables, name)
        pk = list(table.primary_key.columns)
        generated = {pk[0].name} if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) else set()
        keep = set(table.c.keys()) - generated
        return table, [{k: v for k, v in r.items() if k in keep} for r in rows]

    arrests, (a,) = shape("arrests", [template["arrest"]])
    versions, vs = shape("arrest_versions", template["versions"])
    _, audits = shape("audit_log", template["audits"])
    outbox, events = shape("outbox", template["events"])
    doc, protected, prefix = a["document"], template["protected"], a["otn"][0]
    person = (doc.get("document") or {}).get("person") or {}

    def one(n: int) -> None:
        aid = str(uuid.uuid4())
        now = datetime.now(UTC)
        last, first = _SURNAMES[n % len(_SURNAMES)], _GIVEN[n % len(_GIVEN)]
        document = {
            **doc,
            "document": {
                **doc.get("document", {}),
                "report_number": f"C-{n:07d}",
                "person": {**person, "last_name": last, "first_name": first},
            },
        }
        pending = frontier(engine).pending() if frontier is not None else None
        with engine.begin() as conn:
            inserted = conn.execute(sa.insert(tables.otn_sequence).values()).inserted_primary_key
            seq = int(inserted[0]) if inserted else 0
            blob = keys.encrypt(protected, aid)
            row = {
                **a, "id": aid, "otn": otn_from_sequence(prefix, seq), "created_at": now,
                "updated_at": now, "document": document, "protected": blob,
            }  # fmt: skip
            if "last_name_key" in row:
                row["last_name_key"], row["first_name_key"] = last.lower(), first.lower()
            conn.execute(sa.insert(arrests).values(**row))
            for v in vs:
                conn.execute(
                    sa.insert(versions).values(
                        **{**v, "arrest_id": aid, "changed_at": now, "snapshot": document,
                           "protected": blob}
                    )
                )  # fmt: skip
            if audits:
                # The audit rows are leaves of the disclosure log: appended as the store does
                # (the nodes it needs from the process's frontier, published after COMMIT).
                extra = () if pending is None else (pending,)
                append_rows(conn, [_audit_row(e, aid) for e in audits], now, *extra)
            if events:
                conn.execute(
                    sa.insert(outbox),
                    [{**e, "id": str(uuid.uuid4()), "subject": aid, "time": now} for e in events],
                )
        if pending is not None:
            pending.publish()

    for n in range(20):  # warm-up: connections, statement caches
        one(-n - 1)
    result = Result(backend, "", threads, 0.0, [], ceiling=True)
    result.path = f"ceiling, SQLAlchemy Core, {threads} thread{'s' if threads > 1 else ''}"
    lock = threading.Lock()
    state = {"sent": 0}
    stop = threading.Event()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        while not stop.is_set():
            with lock:
                if (count is not None and state["sent"] >= count) or (
                    time.perf_counter() >= deadline
                ):
                    return
                state["sent"] += 1
                n = state["sent"]
            t0 = time.perf_counter()
            try:
                one(n)
            except Exception as e:  # a failed insert is reported, not raised
                with lock:
                    result.failures[type(e).__name__] += 1
                    if len(result.samples) < 5:
                        result.samples.append(str(e)[:300])
                continue
            elapsed = time.perf_counter() - t0
            with lock:
                result.latencies.append(elapsed)

    wait_quiet(quiet_wait)
    with CpuMeter([], dbs.postmaster) as meter:
        start = time.perf_counter()
        deadline = start + seconds  # the workers read it when they run
        pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
        for t in pool:
            t.start()
        try:
            for t in pool:
                t.join()
        finally:
            stop.set()
        result.seconds = time.perf_counter() - start
    result.cpu = meter.cpu
    engine.dispose()
    _log(f"{backend}: {result.path}: {result.arrests} arrests in {result.seconds:.1f}s")
    return result


# -- report --------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            timeout=10, check=False,
        )  # fmt: skip
        commit = done.stdout.strip() or "?"
        # Read-only: no index refresh, so no lock taken in a work tree others are using.
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "diff", "--quiet", "HEAD", "--", "src"], cwd=ROOT,
            capture_output=True, timeout=10, check=False,
        )  # fmt: skip
        if dirty.returncode == 1:
            commit += " + uncommitted changes in src/"
    return [
        f"date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"machine: nproc={os.cpu_count()} ({cpu}), {platform.system()} {platform.release()}",
        f"python: {platform.python_version()} ({platform.python_implementation()}), "
        f"sqlalchemy {sa.__version__}",
        f"commit: {commit}",
        f"load average at start: {Path('/proc/loadavg').read_text().split(' ', 3)[:3]}",
    ]


def table(results: list[Result]) -> str:
    best = max((r.rate for r in results if r.ceiling), default=0.0)
    rows = [["backend", "path", "clients", "arrests", "arrests/s", "p50 ms", "p99 ms", "ratio"]]
    for r in results:
        if r.ceiling:
            ratio = "ceiling" if r.rate == best else f"({r.rate / best:.2f})"
        else:
            ratio = f"{r.rate / best:.2f}" if best else "-"
        rows.append(
            [r.backend, r.path, str(r.clients), str(r.arrests), f"{r.rate:.0f}",
             f"{r.percentile(0.50):.1f}", f"{r.percentile(0.99):.1f}", ratio]
        )  # fmt: skip
    return _markdown(rows)


def cpu_table(results: list[Result]) -> str:
    """CPU milliseconds per arrest: who spent the machine's cores."""
    rows = [
        ["backend", "path", "server", "postgres", "bench process", "others", "cores busy",
         "steal", "server split"]
    ]  # fmt: skip
    for r in results:
        n = max(r.arrests, 1)
        c = r.cpu

        def ms(v: float | None, n: int = n) -> str:
            return "-" if v is None else f"{1000 * v / n:.2f}"

        def cores(v: float, r: Result = r) -> str:
            return f"{v / r.seconds:.2f}" if r.seconds else "-"

        split = " / ".join(f"{s:.1f}s" for s in c.server_split) if len(c.server_split) > 1 else ""
        rows.append(
            [r.backend, r.path, ms(c.server), ms(c.database), ms(c.bench), ms(c.others),
             cores(c.machine), cores(c.steal), split]
        )  # fmt: skip
    return _markdown(rows)


def _markdown(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in rows]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def figures(backend: str, results: list[Result]) -> dict[str, Any]:
    """One backend's figures for `--json`: per path arrests/s, latency, CPU ms per arrest
    (server, database, and the two together) and the ratio to the ceiling."""
    best = max((r.rate for r in results if r.ceiling), default=0.0)
    paths = []
    for r in results:
        n = max(r.arrests, 1)
        c = r.cpu

        def ms(v: float | None, n: int = n) -> float | None:
            return None if v is None else round(1000 * v / n, 3)

        # The ceiling's inserts run in the bench process: that is its "server" side.
        own = c.bench if r.ceiling else c.server
        paths.append({
            "path": r.path, "ceiling": r.ceiling, "clients": r.clients, "arrests": r.arrests,
            "seconds": round(r.seconds, 3), "arrests_per_s": round(r.rate, 2),
            "p50_ms": round(r.percentile(0.50), 2), "p99_ms": round(r.percentile(0.99), 2),
            "ratio_to_ceiling": round(r.rate / best, 3) if best else None,
            "cpu_ms_per_arrest": {
                "server": ms(c.server), "database": ms(c.database), "bench": ms(c.bench),
                "others": ms(c.others),
                "server_plus_database": ms((own or 0.0) + (c.database or 0.0)),
            },
            "failures": sum(r.failures.values()),
            "db_activity_per_arrest": {
                k: round(v / n, 3) for k, v in r.db_activity.items()
            },
        })  # fmt: skip
    return {"backend": backend, "paths": paths}


def report(backend: str, outcome: tuple[list[Result], list[str]]) -> None:
    results, notes = outcome
    print(f"\n## {backend}\n")
    print(table(results))
    for note in notes:
        print(f"\n{note}")
    print(
        "\nCPU ms per arrest. server: every server process; bench process: the load client, or"
        "\nthe ceiling's own inserts; others: the rest of the machine (kernel, other programs);"
        "\ncores busy: the whole machine's busy CPU / wall time; steal: taken by the hypervisor.\n"
    )
    print(cpu_table(results))
    for r in results:
        if r.db_activity and r.arrests:
            per = ", ".join(f"{v / r.arrests:.2f} {k}" for k, v in r.db_activity.items())
            print(f"\npostgres, {r.path}, per arrest: {per} (pg_stat_database)")
    for r in results:
        if r.failures:
            print(f"\nFAILURES in {r.backend} / {r.path}: {sum(r.failures.values())}")
            for what, n in r.failures.most_common():
                print(f"  {n} x {what}")
            for s in r.samples:
                print(f"  e.g. {s}")
    api = [r for r in results if not r.ceiling]
    best = max((r.rate for r in results if r.ceiling), default=0.0)
    if api and best:
        top = max(api, key=lambda r: r.rate)
        lines = [
            f"best API: {top.rate:.0f} arrests/s ({top.path}), {top.rate / best:.0%} of ceiling"
        ]
        if backend == "postgres":
            lines.append(
                f"targets: >= 500 arrests/s: {'met' if top.rate >= 500 else 'NOT met'}; "
                f">= 60% of ceiling: {'met' if top.rate >= 0.6 * best else 'NOT met'}"
            )
        print("\n" + "\n".join(lines))
    sys.stdout.flush()


# -- main ----------------------------------------------------------------------------------------


def _bench_backend(
    backend: str, admin_url: str | None, root: Path, args: argparse.Namespace
) -> tuple[list[Result], list[str]]:
    from pars.crypto import new_key_line

    count, seconds = args.count, args.seconds
    keys = new_key_line()
    dbs = Databases(root / backend, admin_url)
    results: list[Result] = []
    template: dict[str, Any] | None = None
    try:
        for w in args.workers if backend == "postgres" else [1]:
            result, template = api_run(backend, dbs, keys, w, args, count, seconds)
            results.append(result)
        assert template is not None
        notes = [f"ceiling {describe_template(template)}"]
        for threads in dict.fromkeys([args.clients, 1]) if args.ceiling else ():
            results.append(
                ceiling_run(backend, dbs, keys, template, threads, count, seconds, args.quiet_wait)
            )
    finally:
        dbs.drop_all()
    return results, notes


@contextlib.contextmanager
def postgres_admin() -> Iterator[tuple[str, str]]:
    url = os.environ.get("PARS_BENCH_DATABASE_URL")
    if url:
        yield url, "PARS_BENCH_DATABASE_URL"
        return
    _repo_on_path()
    from tests.pg import throwaway_cluster

    _log("starting a throwaway PostgreSQL cluster")
    with throwaway_cluster() as admin:
        yield admin, "throwaway cluster from tests/pg.py (fsync=off, synchronous_commit=off)"


@contextlib.contextmanager
def bench_database(admin: str, name: str) -> Iterator[str]:
    """An empty database `name` on the server of `admin` (dropped first if a killed run left
    it), dropped afterwards; yields its URL."""
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn, contextlib.suppress(sa.exc.SQLAlchemyError):
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n")[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--seconds", type=float, help="run each path this long (no count limit)")
    size.add_argument("--count", type=int, help="arrests per path (capped at 120 s per path)")
    p.add_argument("--clients", type=int, default=16, help="concurrent connections / threads")
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument(
        "--workers",
        default="1,2",
        help="server processes for PostgreSQL, comma-separated (SQLite always uses 1)",
    )
    p.add_argument("--py-spy", type=Path, metavar="DIR", help="profile the server into DIR")
    p.add_argument(
        "--app",
        metavar="MODULE:FACTORY",
        help="serve this ASGI factory with uvicorn --factory instead (to compare variants)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="after the tables, print every figure as one JSON object on the last line",
    )
    p.add_argument(
        "--no-ceiling", dest="ceiling", action="store_false", help="skip the straight inserts"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=15.0,
        metavar="S",
        help="before each measurement, wait up to S seconds for other programs to leave the "
        "CPU idle (a shared machine); 0 to not wait",
    )
    args = p.parse_args(argv)
    if args.seconds is not None:
        args.count = None
    elif args.count is not None:
        args.seconds = 120.0
    else:  # default: 3000 arrests, or 20 s, whichever comes first
        args.count, args.seconds = 3000, 20.0
    args.workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    signal.signal(signal.SIGTERM, _interrupt)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print("# PARS intake benchmark (bench/intake.py)\n")
    print("\n".join(machine()))
    limit = f"{args.count} arrests or {args.seconds:.0f} s" if args.count else f"{args.seconds} s"
    print(f"load: {args.clients} clients, POST {PATH}, {limit} per path, keep-alive HTTP/1.1")
    sys.stdout.flush()
    root = Path(tempfile.mkdtemp(prefix="pars-bench-"))
    out: dict[str, Any] = {
        "benchmark": "intake",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "load_average_start": list(os.getloadavg()),
        "clients": args.clients,
        "backends": [],
    }
    try:
        for backend in backends:
            if backend == "sqlite":
                outcome = _bench_backend("sqlite", None, root, args)
            else:
                with postgres_admin() as (admin, where):
                    version = _server_version(admin)
                    print(f"\npostgres: {version}; {where}")
                    outcome = _bench_backend("postgres", admin, root, args)
            report(backend, outcome)
            out["backends"].append(figures(backend, outcome[0]))
    except KeyboardInterrupt:
        _log("interrupted; cleaning up")
        return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        out["load_average_end"] = list(os.getloadavg())
        print(json.dumps(out, separators=(",", ":")))
    return 0


def _commit() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    return done.stdout.strip() or None


def _server_version(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar())
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
