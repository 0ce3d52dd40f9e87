"""`FastJSONResponse` writes what Starlette's `JSONResponse` writes, for what PARS sends."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.responses import JSONResponse

from pars.web.json_response import FastJSONResponse, json_bytes

CONTENT: list[Any] = [
    {"id": "0f9c", "otn": "N123456-1", "version": 3, "juvenile": False, "bail": None},
    {"name": "Zoë Ñúñez 李", "note": 'quote " backslash \\ tab \t newline \n bell \x07'},
    {"items": [{"a": [1, 2, {"b": []}]}, {}], "next_cursor": 12, "amount": 1500.5},
    ["\u2028", "\u2029", "\x7f", "\ud7ff", "\U0001f600"],
    -(2**63),
    2**64 - 1,
    "",
]


@pytest.mark.parametrize("content", CONTENT)
def test_the_same_bytes_as_starlette(content: Any) -> None:
    assert FastJSONResponse(content).body == JSONResponse(content).body


@pytest.mark.parametrize("content", [{"big": 2**70}, {1: "integer key"}, {"x": [-(2**64)]}])
def test_what_orjson_refuses_goes_to_starlette(content: Any) -> None:
    assert FastJSONResponse(content).body == JSONResponse(content).body


def test_a_lone_surrogate_fails_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        JSONResponse({"x": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        FastJSONResponse({"x": "\ud800"})


@pytest.mark.parametrize(
    "content", [*CONTENT, {"big": 2**70}, {1: "integer key"}, {"x": [-(2**64)]}]
)
def test_json_bytes_are_the_responses_bytes(content: Any) -> None:
    """An SSE event's data is written as the feed's pages are, fallback included."""
    assert json_bytes(content) == JSONResponse(content).body
