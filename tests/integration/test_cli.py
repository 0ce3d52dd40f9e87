"""The operator's commands, run as the `pars` entry point would run them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pars.config import Settings
from pars.crypto import KeyRing
from pars.services.app import Pars
from pars.services.auth import authenticate
from tests.integration.cli import run_cli as _run


def test_init_users_and_token(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, "init") == 0
    assert (env / "pars.db").exists()
    key_file = env / "encryption.keys"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert _run(monkeypatch, "init") == 0  # idempotent
    assert (
        _run(
            monkeypatch,
            "users",
            "add",
            "ada",
            "--role",
            "prosecutor",
            "--password-stdin",
            stdin="a long enough password\n",
        )
        == 0
    )
    assert (
        _run(
            monkeypatch,
            "users",
            "add",
            "ada",
            "--role",
            "prosecutor",
            "--password-stdin",
            stdin="a long enough password\n",
        )
        == 1
    )
    assert "exists" in capsys.readouterr().err
    assert (
        _run(
            monkeypatch,
            "users",
            "add",
            "bob",
            "--role",
            "sheriff",
            "--password-stdin",
            stdin="a long enough password\n",
        )
        == 1
    )
    assert "unknown role" in capsys.readouterr().err
    assert (
        _run(
            monkeypatch,
            "users",
            "add",
            "bob",
            "--role",
            "clerk",
            "--password-stdin",
            stdin="short\n",
        )
        == 1
    )
    assert "at least 8" in capsys.readouterr().err
    assert _run(monkeypatch, "users", "list") == 0
    assert "ada\tprosecutor" in capsys.readouterr().out
    assert _run(monkeypatch, "token", "ada") == 0
    token = capsys.readouterr().out.strip()
    pars = Pars(Settings(data_dir=env), keys=KeyRing.load(None, env))
    assert authenticate(pars, token).role == "prosecutor"
    assert _run(monkeypatch, "token", "nobody") == 1


def test_password_must_come_from_stdin(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(monkeypatch, "init") == 0
    assert _run(monkeypatch, "users", "add", "x", "--role", "clerk") == 2


def test_unknown_setting_is_an_error(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARS_DATABSE_URL", "sqlite:///typo.db")
    assert _run(monkeypatch, "init") == 2
    assert "PARS_DATABSE_URL" in capsys.readouterr().err


def test_keys_new_and_rotate(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, "init") == 0
    capsys.readouterr()
    old = (env / "encryption.keys").read_text().strip()
    assert _run(monkeypatch, "keys", "new") == 0
    new = capsys.readouterr().out.strip()
    KeyRing(new)
    monkeypatch.setenv("PARS_ENCRYPTION_KEYS", f"{new},{old}")
    assert _run(monkeypatch, "keys", "rotate", "--quiet") == 0
    assert "re-encrypted 0" in capsys.readouterr().out


def test_console_script_is_installed() -> None:
    out = subprocess.run(["pars", "--help"], capture_output=True, text=True, check=True)
    for command in (
        "init",
        "serve",
        "relay",
        "demo",
        "users",
        "token",
        "keys",
        "partners",
        "agreements",
    ):
        assert command in out.stdout
