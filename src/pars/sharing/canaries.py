"""Records with a distinct canary in every catalogued leaf, and the check that reads them back:
which leaves' canaries a byte string holds. The agreements screen projects such a record to show
exactly which leaves an agreement lets leave; the projection's unit tests and the end-to-end leak
tests use it too (through tests/canaries.py)."""

from __future__ import annotations

import re
from typing import Any

from pars.sharing.fields import ARREST_FIELDS

__all__ = ["canary", "canary_record", "leaves_seen"]

_CANARY = re.compile(r"CANARY<([^<>]+?)#\d+>")


def canary(path: str, n: int = 0) -> str:
    return f"CANARY<{path}#{n}>"


def canary_record(items: int = 2) -> dict[str, Any]:
    """Every catalogue leaf holds its own canary; every list holds `items` elements, each with
    canaries numbered by position. `juvenile` holds the real flag (False)."""
    record: dict[str, Any] = {}
    for path in ARREST_FIELDS:
        _put(record, path.split("."), path, items)
    record["juvenile"] = False
    return record


def _put(node: dict[str, Any], parts: list[str], path: str, items: int, n: int = 0) -> None:
    head, rest = parts[0], parts[1:]
    if head.endswith("[]"):
        key = head[:-2]
        if not rest:
            node[key] = [canary(path, i) for i in range(items)]
            return
        elements = node.setdefault(key, [{} for _ in range(items)])
        for i, element in enumerate(elements):
            _put(element, rest, path, items, i)
    elif not rest:
        node[head] = canary(path, n)
    else:
        _put(node.setdefault(head, {}), rest, path, items, n)


def leaves_seen(raw: str | bytes) -> set[str]:
    """The catalogue paths whose canaries appear in `raw`."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    return set(_CANARY.findall(text))
