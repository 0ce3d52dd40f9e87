"""Structured logging (structlog). Logs never carry record data:

- a processor removes any key named after a protected field, wherever it sits in the event;
- an exception is logged as its class names and its frames (file, line, function), never its
  message or its locals: a database error's message holds the statement's parameters, a
  validation error's the input, a KeyError the key; in JSON and in console format alike;
- the standard library's loggers (uvicorn's "Exception in ASGI application", a library's
  warnings) go through the same processors, so no traceback is printed by another path.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog

__all__ = ["PROTECTED_KEYS", "configure", "error_name", "safe_traceback", "scrub"]

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


def error_name(e: BaseException) -> str:
    """The exception's class and those of its causes, never their messages (which can hold
    record data): `IntegrityError <- UniqueViolation`."""
    names: list[str] = []
    seen: BaseException | None = e
    while seen is not None and len(names) < 5:
        names.append(type(seen).__qualname__)
        # The cause, or the exception being handled when this one was raised (unless `from None`).
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return " <- ".join(names)


def safe_traceback(e: BaseException, limit: int = 25) -> list[str]:
    """Where the exception went through, innermost last, as the last three parts of each
    file's path: `services/delivery/relay.py:120 in _relay`. Frames only: no message, no
    source line, no local variable."""
    frames = traceback.extract_tb(e.__traceback__)[-limit:]
    return [f"{'/'.join(Path(f.filename).parts[-3:])}:{f.lineno} in {f.name}" for f in frames]


def _exceptions(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace `exc_info` (and any rendered `exception` or `stack`) by the error's class names
    and frames."""
    info = event.pop("exc_info", None)
    event.pop("exception", None)
    event.pop("stack", None)
    event.pop("stack_info", None)
    if info is True:
        info = sys.exc_info()
    exc = info if isinstance(info, BaseException) else (info[1] if info else None)
    if exc is not None:
        event["error"] = error_name(exc)
        event["traceback"] = safe_traceback(exc)
    return event


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted (tests replace it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


def configure(fmt: str = "json", level: str = "info") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        scrub,
        _exceptions,
    ]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        # The stderr of the moment, not the one at configure time (which a test's capture, or
        # a daemon's redirection, may have closed since).
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    handler = _Stderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.getLevelNamesMapping()[level.upper()])
