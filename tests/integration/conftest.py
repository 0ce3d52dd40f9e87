"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment for the `pars` command: no PARS_ settings but a fresh data dir."""
    for key in [k for k in os.environ if k.startswith("PARS_") and not k.startswith("PARS_TEST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PARS_DATA_DIR", str(tmp_path))
    return tmp_path
