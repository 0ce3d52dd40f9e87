"""The garbage collector in long-running processes (`pars serve`, `pars relay`, `pars demo`).

CPython's full collection walks every container object the process holds, and every thread
waits while it runs. In a server, most of those objects are made at startup and live for ever
(modules, the application and its routes, compiled statements, projectors, the catalogue):
measured in `pars serve` during the feed benchmark, each full pass took 50 to 115 ms, which is
what a partner's event waited when one fell between its commit and its send
(docs/performance.md, *Partner feed*). `settle` moves what is alive at startup out of the
collector's sight, so that later full passes walk only what the process made since.

A relay batch is the other case: it builds tens of thousands of objects (arrests, records,
projections, delivery rows) that all live until the batch commits, so every young collection
during it walks them again and promotes them, and full passes follow. None of them is garbage
before the batch ends, and almost all are freed by reference counting when it does. `paused`
holds the cyclic collector off for such a bounded piece of work; what cycles it leaves are
collected at the first collection after it.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["paused", "settle"]


def settle() -> None:
    """Collect once, then freeze every surviving object into the permanent generation (they
    are still freed by reference counting; only the cyclic collector ignores them). Call it
    once, when the process has built what it keeps and before it serves."""
    gc.collect()
    gc.freeze()


_lock = threading.Lock()
_holders = 0  # threads inside `paused` now
_resume = False  # whether the collector was on when the first of them came in


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector off for the block (reference counting frees as always), and back
    as it was when the last thread inside a `paused` block leaves: threads of one process
    share one collector, so one thread's block never turns it on under another's. Only for
    work of bounded size: nothing made inside is collected as a cycle until the block ends."""
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()
