"""How a screen runs a command: the body validated by the API's input model, the same service
handler in the thread pool, and what refused it as the API would say it: field errors by JSON
pointer (422) or, for a state that no longer allows it, a message (409)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import Conflict, IllegalTransition, InvalidInput
from pars.web.problems import input_errors, validation_errors

__all__ = ["Refused", "run_command"]

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


@dataclass(frozen=True)
class Refused:
    """Why a command changed nothing: `errors` ({"pointer", "detail"}) or `message`."""

    errors: list[dict[str, str]] = field(default_factory=list)
    message: str | None = None

    @property
    def status(self) -> int:
        return 409 if self.message else 422


async def run_command(
    model: type[M],
    body: Mapping[str, Any],
    handler: Callable[[M], R],
    *,
    refusal: str | None = None,
) -> R | Refused:
    """`handler(model(body))`, or what refused it. A conflict (the record moved on meanwhile)
    becomes `refusal: <why>` when `refusal` is given, else it reaches the error handler."""
    try:
        data = model.model_validate(body)
        return await run_in_threadpool(handler, data)
    except ValidationError as e:
        return Refused(validation_errors(e))
    except InvalidInput as e:
        return Refused(input_errors(e))
    except (Conflict, IllegalTransition) as e:
        if refusal is None:
            raise
        return Refused(message=f"{refusal}: {e}")
