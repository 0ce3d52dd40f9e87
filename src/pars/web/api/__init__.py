"""The JSON API under /api/v1."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["BODY_MODELS", "body"]

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
