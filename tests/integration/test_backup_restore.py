"""`pars backup` and `pars restore` (issue 14 item 10): a database whose events were already
delivered is backed up, restored into a fresh target, its disclosure log verifies, and the
restored PARS sends nothing again: the relay queues no new deliveries and the webhook sender has
nothing left to post."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pars.config import Settings
from pars.crypto import KeyRing
from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest
from pars.services.delivery.relay import relay_once
from pars.services.delivery.webhooks import deliver_webhooks
from pars.services.inputs import ArrestIn
from tests.conftest import AUDIT_SIGNING_KEY, KEYS, pg_database, rows
from tests.factories import active_agreement, arrest_body
from tests.integration.cli import run_cli
from tests.integration.test_cloudevents import Receiver

OFFICER = Principal("officer1", "officer")
PARTNER = "DA"


@pytest.fixture
def clock() -> FakeClock:
    # Webhook receivers check the timestamp against their own clock: real time, standing still.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_allowlist": "127.0.0.1", "webhook_timeout_seconds": 2}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database to restore into."""
    if backend == "sqlite":
        (tmp_path / "restored").mkdir()
        yield f"sqlite:///{tmp_path / 'restored' / 'pars.db'}"
        return
    admin_url: str = request.getfixturevalue("pg_admin_url")
    with pg_database(admin_url, f"pars_restore_{uuid.uuid4().hex[:8]}") as url:
        yield url


def _use(monkeypatch: pytest.MonkeyPatch, url: str, data_dir: Path) -> None:
    monkeypatch.setenv("PARS_DATABASE_URL", url)
    monkeypatch.setenv("PARS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PARS_ENCRYPTION_KEYS", KEYS)
    monkeypatch.setenv("PARS_AUDIT_SIGNING_KEY", AUDIT_SIGNING_KEY)


def test_a_restored_backup_verifies_and_sends_nothing_twice(
    pars: Pars,
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,
    fresh_url: str,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ag.add_partner(pars, PARTNER, "prosecutor")
    ag.set_webhook_secret(pars, PARTNER)
    now = clock.now()
    term = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=30)}
    active_agreement(pars, PARTNER, transport="webhook", webhook_url=receiver.url, **term)
    arrested = (now - timedelta(hours=2)).isoformat()
    for _ in range(3):
        create_arrest(
            pars, OFFICER, ArrestIn.model_validate(arrest_body(arrested_at=arrested)), True
        )
    relay_once(pars)
    while deliver_webhooks(pars):
        pass
    before = rows(pars, "deliveries")
    assert len(before) == 3 and {d["status"] for d in before} == {"delivered"}
    assert len(receiver.received) == 3

    backup = env / "pars.backup"
    _use(monkeypatch, pars.settings.sqlalchemy_url, env)
    assert run_cli(monkeypatch, "backup", str(backup)) == 0
    assert backup.stat().st_size > 0
    assert run_cli(monkeypatch, "backup", str(backup)) == 1  # an existing file is kept
    # The source still holds tables: restoring over it needs --force.
    assert run_cli(monkeypatch, "restore", str(backup)) == 1
    assert "not empty" in capsys.readouterr().err

    _use(monkeypatch, fresh_url, env)
    assert run_cli(monkeypatch, "restore", str(backup)) == 0
    assert run_cli(monkeypatch, "audit", "verify", "--quiet") == 0
    assert run_cli(monkeypatch, "restore", str(backup)) == 1  # no longer empty
    assert run_cli(monkeypatch, "restore", str(backup), "--force") == 0
    assert run_cli(monkeypatch, "audit", "verify", "--quiet") == 0

    settings = Settings(data_dir=env, database_url=fresh_url, audit_signing_key=AUDIT_SIGNING_KEY,
                        webhook_allowlist="127.0.0.1", webhook_timeout_seconds=2)  # fmt: skip
    restored = Pars(settings, clock=clock, keys=KeyRing(KEYS))
    try:
        assert len(rows(restored, "arrests")) == 3
        relay_once(restored)
        assert deliver_webhooks(restored) == 0
        after = rows(restored, "deliveries")
        assert [(d["id"], d["event_id"], d["status"]) for d in after] == [
            (d["id"], d["event_id"], d["status"]) for d in before
        ]
        assert len(receiver.received) == 3  # nothing sent again
        # The relay's cursor came with the backup: it stands past every relayed event.
        cursor = rows(restored, "relay_state")
        assert cursor and cursor == rows(pars, "relay_state")
        # A new arrest on the restored database is delivered, once.
        body = ArrestIn.model_validate(arrest_body(arrested_at=arrested))
        create_arrest(restored, OFFICER, body, True)
        relay_once(restored)
        while deliver_webhooks(restored):
            pass
        assert len(rows(restored, "deliveries")) == 4
        assert len(receiver.received) == 4
    finally:
        restored.engine.dispose()


def test_restore_refuses_a_missing_backup(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, f"sqlite:///{env / 'pars.db'}", env)
    assert run_cli(monkeypatch, "restore", str(env / "nothing")) == 2
    assert "no backup" in capsys.readouterr().err
    assert not (env / "pars.db").exists()


def test_backup_without_pg_dump_says_what_is_missing(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pars.cli import backup as cli_backup

    monkeypatch.setattr(cli_backup.shutil, "which", lambda name: None)
    monkeypatch.setattr(cli_backup.glob, "glob", lambda pattern: [])
    _use(monkeypatch, "postgresql+psycopg://pars@127.0.0.1:1/pars", env)
    assert run_cli(monkeypatch, "backup", str(env / "out.dump")) == 2
    assert "pg_dump not found" in capsys.readouterr().err
    assert not (env / "out.dump").exists()
