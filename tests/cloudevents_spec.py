"""CloudEvents 1.0 as its specification words it (spec.md, "Type System", "Context Attributes",
"Extension Context Attributes"; formats/json-format.md), written here from the text and not from
PARS's code, to check what PARS emits. `problems(event)` lists every way a JSON-format event
breaks the spec; an empty list means none was found."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

__all__ = ["INT32", "NAME_RULE", "RECOMMENDED_NAME_LENGTH", "name_problems", "problems"]

# "CloudEvents attribute names MUST consist of lower-case letters ('a' to 'z') or digits ('0' to
# '9') from the ASCII character set." and "SHOULD NOT exceed 20 characters in length".
NAME_RULE = re.compile(r"[a-z0-9]+")
RECOMMENDED_NAME_LENGTH = 20
# "Integer - A whole number in the range -2,147,483,648 to +2,147,483,647 inclusive."
INT32 = (-(2**31), 2**31 - 1)
# "Timestamp - Date and time expression using the Gregorian Calendar", as RFC 3339 writes it.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
)
# RFC 2046 / RFC 6838: type "/" subtype, then parameters.
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=(\"[^\"]*\"|[^\s;]+))*")
# The JSON format's members that are not attributes.
_DATA_MEMBERS = ("data", "data_base64")
_REQUIRED = ("id", "source", "specversion", "type")


def name_problems(name: str) -> list[str]:
    if not NAME_RULE.fullmatch(name):
        return [f"attribute name {name!r}: only lower-case letters a-z and digits 0-9 are allowed"]
    if len(name) > RECOMMENDED_NAME_LENGTH:
        return [f"attribute name {name!r}: longer than {RECOMMENDED_NAME_LENGTH} characters"]
    return []


def _string(name: str, value: Any) -> list[str]:
    if not isinstance(value, str):
        return [f"{name}: a String is a JSON string, not {type(value).__name__}"]
    if not value:
        return [f"{name}: must be a non-empty string"]
    return []


def _uri_reference(name: str, value: Any, absolute: bool) -> list[str]:
    found = _string(name, value)
    if found:
        return found
    if any(c.isspace() for c in value) or any(ord(c) > 0x7E for c in value):
        return [f"{name}: {value!r} is not a URI (RFC 3986: no spaces or non-ASCII characters)"]
    try:
        parts = urlsplit(value)
    except ValueError:
        return [f"{name}: {value!r} is not a URI reference"]
    if absolute and not parts.scheme:
        return [f"{name}: {value!r} is not an absolute URI"]
    return []


def _timestamp(name: str, value: Any) -> list[str]:
    found = _string(name, value)
    if found:
        return found
    if not _RFC3339.fullmatch(value):
        return [f"{name}: {value!r} is not an RFC 3339 timestamp with its offset"]
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return [f"{name}: {value!r} is not a real date and time"]
    return []


def _extension_value(name: str, value: Any) -> list[str]:
    """In the JSON format an extension's value is a JSON string (String, Binary, URI,
    URI-reference, Timestamp), a JSON number that is an Integer, or a JSON boolean."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        if not INT32[0] <= value <= INT32[1]:
            return [f"{name}: {value} is outside the CloudEvents Integer range (32-bit signed)"]
        return []
    if isinstance(value, str):
        return []
    return [f"{name}: {type(value).__name__} is not a CloudEvents type"]


def problems(event: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for name in _REQUIRED:
        if name not in event:
            found.append(f"{name}: REQUIRED and missing")
    if event.get("specversion") != "1.0":
        found.append(f"specversion: {event.get('specversion')!r}, not '1.0'")
    if "data" in event and "data_base64" in event:
        found.append("data and data_base64 are mutually exclusive")
    for name, value in event.items():
        if name in _DATA_MEMBERS:
            continue
        found += name_problems(name)
        if value is None:
            found.append(f"{name}: null (leave the attribute out instead)")
            continue
        if name in ("id", "type", "subject", "specversion"):
            found += _string(name, value)
        elif name == "source":
            found += _uri_reference(name, value, absolute=False)
        elif name == "dataschema":
            found += _uri_reference(name, value, absolute=True)
        elif name == "time":
            found += _timestamp(name, value)
        elif name == "datacontenttype":
            found += _string(name, value)
            if isinstance(value, str) and not _MEDIA_TYPE.fullmatch(value):
                found.append(f"datacontenttype: {value!r} is not an RFC 2046 media type")
        else:
            found += _extension_value(name, value)
    return found
