"""Errors the domain raises. Nothing here knows about HTTP; `pars.web` maps them to responses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "IllegalTransition",
    "InvalidInput",
    "InvalidParameter",
    "NotFound",
    "RateLimited",
    "Unauthenticated",
]


class DomainError(Exception):
    """Base of every error a command can refuse with. `title` is a short, stable summary."""

    title = "Request refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    title = "Conflict"


class Forbidden(DomainError):
    title = "Forbidden"


class Unauthenticated(DomainError):
    title = "Authentication required"


class RateLimited(DomainError):
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class IllegalTransition(Conflict):
    """An action that the record's current state does not allow."""

    title = "Illegal transition"

    def __init__(self, action: str, current: str, allowed: Iterable[str]) -> None:
        self.action = action
        self.current = current
        self.allowed = sorted(allowed)
        listed = ", ".join(self.allowed) if self.allowed else "none"
        super().__init__(
            f"cannot {action.replace('_', ' ')} an arrest in state '{current}'; "
            f"actions allowed in '{current}': {listed}"
        )


@dataclass(frozen=True)
class FieldError:
    """One bad input field: `pointer` is an RFC 6901 JSON pointer into the request body."""

    pointer: str
    detail: str


class InvalidInput(DomainError):
    """One or more fields are invalid; every one is listed."""

    title = "Invalid input"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.pointer or '/'}: {e.detail}" for e in self.errors))

    @classmethod
    def one(cls, pointer: str, detail: str) -> InvalidInput:
        return cls([FieldError(pointer, detail)])


class InvalidParameter(DomainError):
    """A query parameter that is well-formed but not acceptable (e.g. past the end of the log);
    reported like a malformed one."""

    title = "Invalid parameter"

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.reason = detail
