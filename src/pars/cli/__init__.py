"""The `pars` command (`pars.cli.main`), one module per group of sub-commands: `audit`
(the disclosure log, checkpoints and keys of the log), `identity` (train and dedupe), and
`support` (loading settings and the application for a command). `python -m pars.cli` runs it."""

from pars.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
