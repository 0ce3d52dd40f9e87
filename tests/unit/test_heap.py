"""pars.heap.settle: what is alive when a server starts leaves the collector's full passes."""

from __future__ import annotations

import gc

from pars import heap


def test_settle_freezes_what_is_alive() -> None:
    kept = [[i] for i in range(1000)]  # containers the collector would otherwise walk
    try:
        heap.settle()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    assert gc.get_freeze_count() == 0
