"""The garbage collector in long-running processes (`pars serve`, `pars relay`, `pars demo`).

CPython's full collection walks every container object the process holds, and every thread
waits while it runs. In a server, most of those objects are made at startup and live for ever
(modules, the application and its routes, compiled statements, projectors, the catalogue):
measured in `pars serve` during the feed benchmark, each full pass took 50 to 115 ms, which is
what a partner's event waited when one fell between its commit and its send
(docs/performance.md, *Partner feed*). `settle` moves what is alive at startup out of the
collector's sight, so that later full passes walk only what the process made since.
"""

from __future__ import annotations

import gc

__all__ = ["settle"]


def settle() -> None:
    """Collect once, then freeze every surviving object into the permanent generation (they
    are still freed by reference counting; only the cyclic collector ignores them). Call it
    once, when the process has built what it keeps and before it serves."""
    gc.collect()
    gc.freeze()
