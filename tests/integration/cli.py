"""Running the `pars` command in-process, as its entry point would."""

from __future__ import annotations

import io
import sys

import pytest

from pars.cli import main


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(list(args))
