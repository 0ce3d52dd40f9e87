"""The JSON API under /api/v1."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pars.services.app import Pars, Principal

__all__ = ["BODY_MODELS", "body", "command_route"]

# Every model read by `read_json`, so the OpenAPI document can publish their schemas.
BODY_MODELS: list[type[BaseModel]] = []


def body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring `model` as the JSON request body."""
    if model not in BODY_MODELS:
        BODY_MODELS.append(model)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def command_route(
    router: APIRouter,
    param: str,
    path: str,
    model: type[BaseModel] | None,
    handler: Callable[..., Any],
    summary: str,
    respond: Callable[[Any, Principal], dict[str, Any]],
    guard: Any,
) -> None:
    """Register `POST /{<param>}/<path>`: authorize the caller with `guard` (a `Depends` from
    `pars.web.deps.may` or `allowed`, resolved before anything is read), read the body as
    `model` (if any), run `handler(pars, who, <param>[, body])` in a worker thread, answer
    `respond(result, who)`."""
    from pars.web.deps import get_pars, read_json

    async def endpoint(request: Request, who: Principal, pars: Pars, **path_params: str) -> Any:
        item = path_params[param]
        if model is None:
            result = await run_in_threadpool(handler, pars, who, item)
        else:
            data = await read_json(request, model, pars.settings.max_body_bytes)
            result = await run_in_threadpool(handler, pars, who, item, data)
        return respond(result, who)

    # FastAPI reads parameters from the signature: name the path parameter as the route does.
    kind = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", kind, annotation=Request),
            inspect.Parameter("who", kind, annotation=Annotated[Principal, guard]),
            inspect.Parameter("pars", kind, annotation=Annotated[Pars, Depends(get_pars)]),
            inspect.Parameter(param, kind, annotation=str),
        ],
        return_annotation=dict[str, Any],
    )
    endpoint.__name__ = f"{param.removesuffix('_id')}_{path.replace('-', '_')}"
    router.add_api_route(
        f"/{{{param}}}/{path}",
        endpoint,
        methods=["POST"],
        summary=summary,
        openapi_extra=body(model) if model else None,
    )
