"""`pars keys generate` and `pars audit ...`, run as the entry point runs them, and the
stand-alone verifier run on what they publish."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.integration.cli import run_cli as _run


def test_keys_checkpoints_verify_and_export(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, "init") == 0
    key_file = env / "audit-signing.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    before = key_file.read_text()
    assert _run(monkeypatch, "keys", "generate") == 1  # never replaces the log's key
    assert key_file.read_text() == before
    assert _run(monkeypatch, "users", "add", "ada", "--role", "clerk", "--password-stdin",
                stdin="a long enough password\n") == 0  # fmt: skip
    assert _run(monkeypatch, "audit", "checkpoint") == 0
    assert _run(monkeypatch, "audit", "verify", "--quiet") == 0
    out = capsys.readouterr().out
    assert "checkpoint 1: size" in out and "ok:" in out
    export = env / "log.jsonl"
    assert _run(monkeypatch, "audit", "export", "--out", str(export)) == 0
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [line["index"] for line in lines] == list(range(len(lines)))
    assert _run(monkeypatch, "audit", "checkpoints") == 0
    checkpoints = json.loads(capsys.readouterr().out)
    assert len(checkpoints) == 1
    assert _run(monkeypatch, "audit", "public-key") == 0
    public = json.loads(capsys.readouterr().out)
    assert public["algorithm"] == "Ed25519"

    # Tamper with one entry: verify fails and names it.
    with sqlite3.connect(env / "pars.db") as db:
        db.execute(
            "UPDATE audit_log SET entry = replace(entry, '\"v\":1', '\"v\":2') WHERE leaf_index = 1"
        )
    assert _run(monkeypatch, "audit", "verify", "--quiet") == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "entry 1:" in err


def test_serve_and_relay_need_the_signing_key(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, "init") == 0
    (env / "audit-signing.key").unlink()
    assert _run(monkeypatch, "relay") == 2
    assert "pars keys generate" in capsys.readouterr().err
    assert _run(monkeypatch, "keys", "generate", "--print") == 0
    seed = capsys.readouterr().out.strip()
    monkeypatch.setenv("PARS_AUDIT_SIGNING_KEY", "not base64!")
    assert _run(monkeypatch, "audit", "checkpoint") == 2
    monkeypatch.setenv("PARS_AUDIT_SIGNING_KEY", seed)
    assert _run(monkeypatch, "audit", "checkpoint") == 0
