"""Fixtures: a PARS application on SQLite or a real PostgreSQL, schema built by the migrations,
one user per role, and an HTTP client that acts as any of them."""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from pars.config import Settings
from pars.crypto import KeyRing
from pars.domain.clock import FakeClock
from pars.domain.roles import Role
from pars.services.app import Pars, Principal
from pars.services.auth import add_user, issue_token
from pars.store.engine import make_engine, migrate
from pars.store.tables import metadata
from pars.web.app import create_app
from tests.pg import throwaway_cluster

PASSWORD = "correct horse battery staple"
START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
KEYS = "test1:" + base64.b64encode(b"k" * 32).decode()
# The disclosure log's checkpoint key in tests (an Ed25519 seed).
AUDIT_SIGNING_KEY = base64.b64encode(b"s" * 32).decode()
_counter = itertools.count()


def _seed_users(pars: Pars) -> None:
    for role in Role:
        add_user(pars, f"{role.value}1", role.value, PASSWORD)
    add_user(pars, "officer2", "officer", PASSWORD)
    for owner in ("district_attorney", "courts", "city"):
        add_user(pars, f"owner_{owner}", "privacy_officer", PASSWORD, owner=owner)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A PostgreSQL server for the session: PARS_TEST_DATABASE_URL, or a throwaway cluster."""
    url = os.environ.get("PARS_TEST_DATABASE_URL")
    if url:
        yield url
        return
    with throwaway_cluster() as admin:
        yield admin


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "pars.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    pars = Pars(
        Settings(data_dir=path.parent), clock=FakeClock(START), engine=engine, keys=KeyRing(KEYS)
    )
    _seed_users(pars)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> tuple[str, str]:
    """(admin URL, template database name) with the migrated schema and the users."""
    name = f"pars_tpl_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    pars = Pars(Settings(), clock=FakeClock(START), engine=engine, keys=KeyRing(KEYS))
    _seed_users(pars)
    engine.dispose()
    admin.dispose()
    return pg_admin_url, name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrise a test over both stores by asking for this fixture."""
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings (e.g. collection switches)."""
    return {}


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    kind = request.getfixturevalue("backend") if "backend" in request.fixturenames else "sqlite"
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "pars.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    admin_url, template_name = request.getfixturevalue("pg_template")
    name = f"pars_t{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with pg_database(admin_url, name, template_name) as url:
        yield url


@contextlib.contextmanager
def pg_database(admin_url: str, name: str, template: str | None = None) -> Iterator[str]:
    """A PostgreSQL database of its own (empty, or a copy of `template`), dropped afterwards;
    yields its URL."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pars(
    db_url: str, clock: FakeClock, tmp_path: Path, settings_overrides: dict[str, Any]
) -> Iterator[Pars]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=db_url,
        **({"audit_signing_key": AUDIT_SIGNING_KEY} | settings_overrides),
    )
    app_pars = Pars(settings, clock=clock, keys=KeyRing(KEYS))
    yield app_pars
    app_pars.engine.dispose()


@pytest.fixture
def other_process(db_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Pars]:
    """A second process's application on the same database as `pars`: its own engine, token
    cache and revocation probe."""
    settings = Settings(data_dir=tmp_path, database_url=db_url, audit_signing_key=AUDIT_SIGNING_KEY)
    second = Pars(settings, clock=clock, keys=KeyRing(KEYS))
    yield second
    second.engine.dispose()


class Api:
    """An HTTP client that can act as any seeded user: `api.as_("prosecutor").post(...)`."""

    def __init__(self, client: TestClient, pars: Pars) -> None:
        self.client = client
        self.pars = pars
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            self._tokens[username] = issue_token(self.pars, username)
        return self._tokens[username]

    def fresh_tokens(self) -> None:
        """Forget the tokens, e.g. after moving the clock past the idle lock."""
        self._tokens.clear()

    def as_(self, role_or_user: str) -> TestClient:
        roles = {r.value for r in Role}
        user = f"{role_or_user}1" if role_or_user in roles else role_or_user
        self.client.headers["Authorization"] = f"Bearer {self.token(user)}"
        return self.client

    def principal(self, role: str) -> Principal:
        return Principal(f"{role}1", role)


@pytest.fixture
def relay_tries(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """How each pass of `relay_once` ran, in order: False whole, True item by item (after the
    whole batch failed). `[False]` is one batch that went in whole."""
    from pars.services.delivery import relay

    tries: list[bool] = []
    whole_batch = relay._relay

    def spy(pars: Any, batch: int, isolate: bool) -> int:
        tries.append(isolate)
        return whole_batch(pars, batch, isolate)

    monkeypatch.setattr(relay, "_relay", spy)
    return tries


@pytest.fixture
def api(pars: Pars) -> Iterator[Api]:
    with TestClient(create_app(pars), raise_server_exceptions=False) as client:
        yield Api(client, pars)


def rows(pars: Pars, table: str) -> list[dict[str, Any]]:
    """Every row of a table, in insertion order, with JSON and times decoded."""
    t = metadata.tables[table]
    with pars.engine.connect() as conn:
        q = sa.select(t).order_by(*t.primary_key.columns)
        return [dict(r) for r in conn.execute(q).mappings()]


def raw_rows(pars: Pars, table: str) -> list[dict[str, Any]]:
    """Every row as the database driver returns it, undecoded: what an attacker with the file
    would see."""
    with pars.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"SELECT * FROM {table}")).mappings()]
