"""Request plumbing: the application object, the caller, and reading JSON bodies strictly."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from pars.domain.errors import Unauthenticated
from pars.services.app import Pars, Principal
from pars.services.auth import authenticate
from pars.web.problems import BadRequest

__all__ = ["Caller", "get_pars", "read_json"]

M = TypeVar("M", bound=BaseModel)


def get_pars(request: Request) -> Pars:
    pars: Pars = request.app.state.pars
    return pars


def _caller(request: Request, pars: Annotated[Pars, Depends(get_pars)]) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send 'Authorization: Bearer <token>'; get one at /api/v1/auth/token")
    return authenticate(pars, token.strip())


Caller = Annotated[Principal, Depends(_caller)]


async def read_json(request: Request, model: type[M], max_bytes: int) -> M:
    """The body validated as `model`. 415 unless JSON, 413 when too large, 400 when not JSON,
    422 (pydantic ValidationError, rendered by the error handler) when a field is wrong."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise BadRequest(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BadRequest(413, "too-large", "Request too large", f"the limit is {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise BadRequest(
                413, "too-large", "Request too large", f"the limit is {max_bytes} bytes"
            )
    try:
        return model.model_validate_json(bytes(body))
    except ValidationError as e:
        whole_body = [err["type"] for err in e.errors() if not err["loc"]]
        if "json_invalid" in whole_body:
            raise BadRequest(
                400, "malformed-json", "Malformed JSON", "the body is not valid JSON"
            ) from None
        if "model_type" in whole_body:
            raise BadRequest(
                400, "malformed-json", "Malformed JSON", "the body must be a JSON object"
            ) from None
        raise
