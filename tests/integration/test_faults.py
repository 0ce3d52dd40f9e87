"""Faults survived, nothing lost (issue 14 item 10), with real processes: `pars serve` killed
with SIGKILL in the middle of many concurrent submits, PostgreSQL stopped for ten seconds under
steady intake and relaying, and a full disk on SQLite. Afterwards no record is half-written, every
accepted arrest is there and reaches the partner exactly once, and the log verifies."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pars.config import Settings
from pars.crypto import KeyRing
from pars.domain.clock import SystemClock
from pars.services import agreements as ag
from pars.services.app import Pars
from pars.services.auth import issue_token
from pars.store.engine import make_engine, migrate
from tests.conftest import AUDIT_SIGNING_KEY, KEYS, Api, _seed_users, rows
from tests.factories import active_agreement, arrest_body
from tests.integration.cli import run_cli
from tests.pg import free_port, pg_ctl, throwaway_cluster

PARTNER = "PSP"
TABLES = ("arrests", "arrest_versions", "audit_log", "outbox")
Answer = tuple[int | None, str, dict[str, Any]]  # status (None: no answer), content type, body


@pytest.fixture
def clock() -> SystemClock:
    """Real time: the server process cannot share a fake clock (tokens, agreement terms)."""
    return SystemClock()


class Process:
    """`pars serve` or `pars relay` as a child process on the test's database."""

    def __init__(self, pars: Pars, data_dir: Path, *args: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_")}
        self.env.update({
            "PARS_DATA_DIR": str(data_dir), "PARS_DATABASE_URL": pars.settings.sqlalchemy_url,
            "PARS_ENCRYPTION_KEYS": KEYS, "PARS_AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY,
            "PARS_LOG_LEVEL": "error",
        })  # fmt: skip
        self.args = args
        self.port = free_port()
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "pars.cli", *self.args]
        if self.args[0] == "serve":
            argv += ["--port", str(self.port)]
        return subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, "the process ended"
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2).close()
                return
            assert time.monotonic() < deadline, "pars serve did not start"
            time.sleep(0.1)

    def restart(self) -> None:
        self.proc = self._start()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def submit(port: int, token: str, timeout: float = 20) -> Answer:
    """POST one arrest, created and submitted; what came back (status None: no answer)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/arrests?submit=true",
        data=json.dumps(arrest_body()).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    # A kill can land between the headers and the body (http.client.IncompleteRead, an
    # HTTPException, not an OSError): that is no answer too, as the client saw nothing whole.
    try:
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers.get("content-type", ""), json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
            return (
                e.code,
                e.headers.get("content-type", ""),
                body | {"_retry": e.headers["Retry-After"]},
            )
    except (OSError, http.client.HTTPException):
        return None, "", {}


def assert_whole(pars: Pars) -> list[str]:
    """Every arrest has all its versions, its audit entries and (submitted) its outbox event;
    nothing names an arrest that is not there. Returns the arrest ids."""
    arrests = {a["id"]: a for a in rows(pars, "arrests")}
    versions = Counter(v["arrest_id"] for v in rows(pars, "arrest_versions"))
    audited = {e["subject"] for e in rows(pars, "audit_log")}
    events = Counter(
        e["subject"] for e in rows(pars, "outbox") if e["type"] == "pars.arrest.submitted"
    )
    for aid, a in arrests.items():
        assert versions[aid] == a["version"] >= 1, aid
        assert aid in audited, aid
        assert events[aid] == (1 if a["state"] != "draft" else 0), aid
    assert set(versions) <= set(arrests) and set(events) <= set(arrests)
    return list(arrests)


def _verify(monkeypatch: pytest.MonkeyPatch, pars: Pars, data_dir: Path) -> int:
    for key in [k for k in os.environ if k.startswith("PARS_") and not k.startswith("PARS_TEST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PARS_DATABASE_URL", pars.settings.sqlalchemy_url)
    monkeypatch.setenv("PARS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PARS_ENCRYPTION_KEYS", KEYS)
    monkeypatch.setenv("PARS_AUDIT_SIGNING_KEY", AUDIT_SIGNING_KEY)
    return run_cli(monkeypatch, "audit", "verify", "--quiet")


# -- SIGKILL mid-request ------------------------------------------------------------------------


def test_serve_killed_mid_request_leaves_no_partial_record(
    pars: Pars, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issue_token(pars, "officer1")
    server = Process(pars, tmp_path, "serve", "--no-relay")
    server.wait_ready()
    answers: list[Answer] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            answers.append(submit(server.port, token, timeout=10))

    clients = [threading.Thread(target=client) for _ in range(8)]
    try:
        for c in clients:
            c.start()
        deadline = time.monotonic() + 30
        while sum(a[0] == 201 for a in answers) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()  # with requests in flight on every client thread
        stop.set()
        for c in clients:
            c.join(30)
    finally:
        stop.set()
        server.kill()
    accepted = [a[2]["id"] for a in answers if a[0] == 201]
    assert len(accepted) >= 20
    assert {a[0] for a in answers} <= {201, None}
    ids = assert_whole(pars)
    assert set(accepted) <= set(ids)  # every arrest answered 201 was committed
    assert _verify(monkeypatch, pars, tmp_path) == 0
    # It starts again and serves.
    server.restart()
    try:
        server.wait_ready()
        status, _, body = submit(server.port, token)
        assert status == 201 and body["id"] in assert_whole(pars)
    finally:
        server.kill()


# -- PostgreSQL stopped -------------------------------------------------------------------------


@pytest.fixture
def own_cluster() -> Iterator[dict[str, Any]]:
    """A PostgreSQL cluster of this test's own, to stop and start."""
    info: dict[str, Any] = {}
    with throwaway_cluster(info) as admin:
        info["admin"] = admin
        yield info


@pytest.mark.postgres
def test_postgres_stopped_ten_seconds_under_load_loses_and_repeats_nothing(
    own_cluster: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = make_engine(own_cluster["admin"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('CREATE DATABASE "pars"')
    admin.dispose()
    url = make_url(own_cluster["admin"]).set(database="pars").render_as_string(False)
    settings = Settings(data_dir=tmp_path, database_url=url, audit_signing_key=AUDIT_SIGNING_KEY)
    pars = Pars(settings, clock=SystemClock(), keys=KeyRing(KEYS))
    migrate(pars.engine)
    _seed_users(pars)
    ag.add_partner(pars, PARTNER, "state_repository")
    active_agreement(pars, PARTNER, granted=["case"], starts_at="2020-01-01T00:00:00+00:00",
                     ends_at="2099-01-01T00:00:00+00:00")  # fmt: skip
    token = issue_token(pars, "officer1")
    server = Process(pars, tmp_path, "serve", "--no-relay")
    relay = Process(pars, tmp_path, "relay", "--interval", "0.05")
    answers: list[tuple[float, Answer]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            answers.append((time.monotonic(), submit(server.port, token)))
            time.sleep(0.1)

    clients = [threading.Thread(target=client) for _ in range(2)]
    try:
        server.wait_ready()
        for c in clients:
            c.start()
        deadline = time.monotonic() + 30
        while len(rows(pars, "deliveries")) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rows(pars, "deliveries"), "the relay made no progress before the outage"
        pars.engine.dispose()
        down = time.monotonic()
        pg_ctl(own_cluster["data"], "stop")
        time.sleep(10)
        pg_ctl(own_cluster["data"], "start", own_cluster["opts"], own_cluster["log"])
        up = time.monotonic()
        # Intake goes on after the outage...
        while sum(a[0] == 201 and t > up for t, a in answers) < 5:
            late = Counter(a[0] for t, a in answers if t > up)
            assert time.monotonic() < up + 30, f"none accepted after PostgreSQL came back: {late}"
            time.sleep(0.05)
        stop.set()
        for c in clients:
            c.join(30)
        # ...and the relay catches up with everything accepted.
        accepted = [a[2]["id"] for _, a in answers if a[0] == 201]
        deadline = time.monotonic() + 30
        while len(rows(pars, "deliveries")) < len(accepted) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert relay.proc.poll() is None, "the relay ended during the outage"
    finally:
        stop.set()
        server.kill()
        relay.kill()
    statuses = Counter(a[0] for _, a in answers)
    assert set(statuses) <= {201, 503}, statuses  # never 500, never a hang or a cut connection
    during = [a for t, a in answers if down < t < up - 1]
    assert during and all(a[0] == 503 for a in during)
    for status, ctype, body in (a for _, a in answers if a[0] == 503):
        assert ctype.startswith("application/problem+json") and body["status"] == 503
        assert body["_retry"] and status == 503
    ids = assert_whole(pars)
    assert set(accepted) <= set(ids)
    outbox = [e["id"] for e in rows(pars, "outbox") if e["type"] == "pars.arrest.submitted"]
    queued = [d["event_id"] for d in rows(pars, "deliveries")]
    assert len(outbox) == len(ids) >= len(accepted)
    assert sorted(queued) == sorted(outbox)  # each event queued for the partner exactly once
    assert _verify(monkeypatch, pars, tmp_path) == 0
    pars.engine.dispose()


# -- disk full (SQLite) -------------------------------------------------------------------------


def test_a_full_disk_answers_507_and_leaves_the_database_intact(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database file may not grow (SQLite's max_page_count, set on every connection, stands
    in for a full file system): a write is refused with a problem, nothing half-written, and
    once there is room again the log verifies and intake goes on."""
    pars = api.pars
    officer = api.as_("officer")
    assert officer.post("/api/v1/arrests?submit=true", json=arrest_body()).status_code == 201
    path = make_url(pars.settings.sqlalchemy_url).database
    assert path
    limit: dict[str, int | None] = {"pages": None}

    @sa.event.listens_for(pars.engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        if limit["pages"] is not None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {limit['pages']}")

    with sqlite3.connect(path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    limit["pages"] = pages + 2
    pars.engine.dispose()  # new connections, capped
    answers = []
    for _ in range(50):
        before = {
            t: len(rows(pars, t)) for t in ("arrests", "arrest_versions", "audit_log", "outbox")
        }
        r = officer.post("/api/v1/arrests?submit=true", json=arrest_body())
        answers.append(r.status_code)
        if r.status_code != 201:
            break
    assert answers[-1] == 507, answers
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 507 and r.headers["Retry-After"]
    assert {t: len(rows(pars, t)) for t in before} == before  # nothing of it was written
    assert_whole(pars)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    # Space returns.
    limit["pages"] = None
    pars.engine.dispose()
    assert _verify(monkeypatch, pars, tmp_path) == 0
    assert officer.post("/api/v1/arrests?submit=true", json=arrest_body()).status_code == 201
    assert_whole(pars)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB file system of its own (tmpfs), where it can be mounted (root)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root); the max_page_count test"
                    " above covers the same error path")  # fmt: skip
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def test_a_real_full_file_system_under_pars_serve(
    small_fs: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQLite file on a file system that fills up under a running `pars serve`."""
    shutil.copy(sqlite_template, small_fs / "pars.db")
    settings = Settings(data_dir=small_fs, audit_signing_key=AUDIT_SIGNING_KEY)
    pars = Pars(settings, clock=SystemClock(), keys=KeyRing(KEYS))
    token = issue_token(pars, "officer1")
    server = Process(pars, small_fs, "serve", "--no-relay")
    filler = small_fs / "filler"
    try:
        server.wait_ready()
        assert submit(server.port, token)[0] == 201
        with filler.open("wb") as f, contextlib.suppress(OSError):
            while True:  # until ENOSPC
                f.write(b"\0" * 65536)
                f.flush()
        answers: list[Answer] = []
        for _ in range(50):  # the WAL may still have room for a few
            before = {t: len(rows(pars, t)) for t in TABLES}
            answers.append(submit(server.port, token))
            if answers[-1][0] != 201:
                break
        status, ctype, body = answers[-1]
        assert status == 507 and ctype.startswith("application/problem+json"), answers
        assert body["status"] == 507 and body["_retry"]
        assert {t: len(rows(pars, t)) for t in TABLES} == before
        # Space returns: the same running server takes arrests again.
        filler.unlink()
        assert submit(server.port, token)[0] == 201
    finally:
        server.kill()
    assert_whole(pars)
    with sqlite3.connect(small_fs / "pars.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    pars.engine.dispose()
    assert _verify(monkeypatch, pars, small_fs) == 0
