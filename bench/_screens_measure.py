"""What bench/screens.py measures: each screen's GET for each role that opens it (with the
detail pages its links lead to), each HTMX interaction, and the HTMX attributes found in the
templates, so that none is missed unnoticed."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench._screens_app import Browser, percentile

__all__ = [
    "Measured",
    "discover",
    "get_routes",
    "inline_threads",
    "measure",
    "template_interactions",
]

TEMPLATES = Path(__file__).resolve().parent.parent / "src" / "pars" / "web" / "templates"
SLOW_MS, SLOW_REPS = 1000.0, 5
_HREF = re.compile(r'href="(/[^"#]*)"')
_HX = re.compile(r'hx-(get|post|put|patch|delete)="([^"]*)"')


@dataclass
class Measured:
    kind: str  # "page" or "htmx"
    name: str
    role: str
    method: str
    path: str
    ms: list[float] = field(default_factory=list)
    log_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    size: int = 0
    note: str = ""
    step: Any = field(default=None, repr=False)  # the request, to repeat it under a profiler

    @property
    def p50(self) -> float:
        return percentile(self.ms, 0.5)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 0.95)

    def figures(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 2)

        logged = [x for x in self.log_ms if not math.isnan(x)]
        return {
            "kind": self.kind, "name": self.name, "role": self.role, "method": self.method,
            "path": self.path, "n": len(self.ms), "p50_ms": r(self.p50), "p95_ms": r(self.p95),
            "max_ms": r(max(self.ms, default=math.nan)),
            "log_p95_ms": r(percentile(logged, 0.95)), "statuses": self.statuses,
            "bytes": self.size, "note": self.note,
        }  # fmt: skip


Step = Callable[[int], Any]  # one request, the rep's number given (to vary what is sent)


def measure(m: Measured, b: Browser, step: Step, reps: int, warmup: int) -> Measured:
    """`warmup` requests, then `reps` timed ones (5 when a warm-up request took over a
    second); every status counted (a non-2xx is shown)."""
    m.step = step
    for k in range(warmup):
        step(-1 - k)
        if b.hits[-1].ms > SLOW_MS and reps > SLOW_REPS:
            reps, m.note = SLOW_REPS, f"{SLOW_REPS} reps: over {SLOW_MS / 1000:g} s a request"
            break
    for k in range(reps):
        r = step(k)
        hit = b.hits[-1]
        m.ms.append(hit.ms)
        m.log_ms.append(hit.log_ms)
        m.statuses[r.status_code] = m.statuses.get(r.status_code, 0) + 1
        m.size = hit.size
    return m


# -- the application's routes and the links between pages ---------------------------------------


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every route with its full path (FastAPI 0.165 keeps an included router as one
    `_IncludedRouter` in `app.routes`: its own routes are under `original_router`)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(inner.routes, prefix + getattr(context, "prefix", ""))
        elif getattr(route, "path", None):
            yield prefix + route.path, route


def get_routes(app: Any) -> list[tuple[str, re.Pattern[str]]]:
    """Every GET route's template and a pattern matching its paths."""
    out = []
    for path, route in _walk(app.routes):
        if "GET" in (getattr(route, "methods", None) or ()):
            pattern = re.escape(path)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            out.append((path, re.compile(f"^{pattern}$")))
    return out


def template_of(routes: list[tuple[str, re.Pattern[str]]], path: str) -> str | None:
    exact = [t for t, p in routes if t == path]
    if exact:
        return exact[0]
    return next((t for t, p in routes if p.match(path)), None)


def discover(
    html: str, prefix: str, routes: list[tuple[str, re.Pattern[str]]], seen: set[str]
) -> list[tuple[str, str]]:
    """Links on a page under `prefix` (`/charging/...`, `/custody?status=...`) to a GET route
    not measured yet: one (name, href) per route template (per query-key set for the same
    path). `seen` is updated."""
    found: list[tuple[str, str]] = []
    for href in _HREF.findall(html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        if not (parts.path == prefix or parts.path.startswith(prefix.rstrip("/") + "/")):
            continue
        template = template_of(routes, parts.path)
        if template is None:
            continue
        keys = sorted(q.split("=", 1)[0] for q in parts.query.split("&") if q)
        group = template + ("?" + "&".join(keys) if keys else "")  # per route and query keys
        name = template + ("?" + "&".join(f"{k}=…" for k in keys) if keys else "")
        if len(keys) == 1 and parts.path == prefix and len(parts.query) <= 24:
            name = f"{parts.path}?{parts.query}"  # a tab, such as ?status=committed
        if group in seen:
            continue
        seen.add(group)
        found.append((name, href))
    return found


def template_interactions() -> list[tuple[str, str, str]]:
    """Every hx-get/hx-post... in the templates: (template, method, path as written)."""
    out = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for method, target in _HX.findall(path.read_text()):
            out.append((str(path.relative_to(TEMPLATES)), method.upper(), target))
    return out


# -- profiling the server in-process ---------------------------------------------------------------


@contextlib.contextmanager
def inline_threads() -> Iterator[None]:
    """`run_in_threadpool` runs the function on the event loop's thread instead, so that one
    cProfile (enabled in that thread by `profiled`) sees the whole request."""
    import anyio.to_thread

    original = anyio.to_thread.run_sync

    async def inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    try:
        yield
    finally:
        anyio.to_thread.run_sync = original
