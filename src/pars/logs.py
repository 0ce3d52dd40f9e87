"""Structured logging (structlog). Protected fields never reach a log line: a processor removes
any key named after one, wherever it sits in the event."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["PROTECTED_KEYS", "configure", "scrub"]

PROTECTED_KEYS = frozenset(
    {"ssn", "place_of_birth", "citizenship", "victims", "witnesses", "password", "token"}
)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "[withheld]" if k in PROTECTED_KEYS else _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def scrub(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        event[key] = "[withheld]" if key in PROTECTED_KEYS else _clean(event[key])
    return event


def configure(fmt: str = "json", level: str = "info") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
