"""The route class of every PARS router (`route_class=CheckedRoute`; a test walks the app).

A query parameter that takes one value and is given twice (`?otn=A&otn=B`) is refused with
422 naming it: FastAPI would answer for the last one silently, and a caller, or a proxy that
adds its own copy, would get an answer for a record it did not ask for. The check runs after
every dependency (so authorization still comes first: a wrong role gets 403 whatever it
sent) and after the other parameters were validated, just before the route's own code.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterable
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

__all__ = ["CheckedRoute", "single_valued_queries"]

_REQUEST = "pars_checked_route_request"
_SEQUENCES = (list, set, frozenset, tuple)


def _is_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_sequence(a) for a in get_args(annotation) if a is not type(None))
    return origin in _SEQUENCES or annotation in _SEQUENCES


def single_valued_queries(dependant: Dependant) -> list[str]:
    """The names of the query parameters that take one value, the dependencies' included."""
    names = [
        field.alias
        for field in dependant.query_params
        if not _is_sequence(field.field_info.annotation)
    ]
    for sub in dependant.dependencies:
        names += single_valued_queries(sub)
    return names


def _refuse_repeats(request: Request, names: Iterable[str]) -> None:
    for name in names:
        if len(request.query_params.getlist(name)) > 1:
            raise RequestValidationError(
                [{"loc": ("query", name), "msg": "give this parameter once", "type": "repeated"}]
            )


def _checked(endpoint: Callable[..., Any], names: list[str]) -> Callable[..., Any]:
    """`endpoint`, with its repeats refused first. It needs the request: the endpoint's own
    `Request` parameter, or one added (FastAPI fills only one per route). Sync stays sync
    (FastAPI runs it in a worker thread) and async stays async."""
    signature = inspect.signature(endpoint, eval_str=True)
    params = list(signature.parameters.values())
    own = next((p.name for p in params if p.annotation is Request), None)
    if own is None:
        at = next(
            (i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD),
            len(params),
        )
        params.insert(
            at, inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )

    def request_of(kwargs: dict[str, Any]) -> Request:
        found: Request = kwargs[own] if own is not None else kwargs.pop(_REQUEST)
        return found

    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(endpoint):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            _refuse_repeats(request_of(kwargs), names)
            return await endpoint(*args, **kwargs)

    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _refuse_repeats(request_of(kwargs), names)
            return endpoint(*args, **kwargs)

    functools.update_wrapper(wrapper, endpoint)
    setattr(wrapper, "__signature__", signature.replace(parameters=params))  # noqa: B010
    return wrapper


class CheckedRoute(APIRoute):
    """An APIRoute that refuses a repeated single-valued query parameter (422)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        names: list[str] = []  # known once FastAPI has read the signature
        super().__init__(path, _checked(endpoint, names), **kwargs)
        names += single_valued_queries(self.dependant)
