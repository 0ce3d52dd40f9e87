"""pars.heap: what is alive when a server starts leaves the collector's full passes (`settle`),
and a bounded piece of work runs with the cyclic collector held off (`paused`)."""

from __future__ import annotations

import gc
import threading

from pars import heap


def test_settle_freezes_what_is_alive() -> None:
    kept = [[i] for i in range(1000)]  # containers the collector would otherwise walk
    try:
        heap.settle()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    assert gc.get_freeze_count() == 0


def test_paused_holds_the_collector_off_until_the_last_thread_leaves() -> None:
    assert gc.isenabled()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with heap.paused():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    with heap.paused():
        assert not gc.isenabled()
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # this block ended, the other thread's has not
    leave.set()
    thread.join(10)
    assert gc.isenabled()


def test_paused_leaves_a_collector_that_was_off_off_and_survives_a_failure() -> None:
    try:
        with heap.paused():
            raise KeyError("inside")
    except KeyError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with heap.paused():
            pass
        assert not gc.isenabled()  # whoever turned it off turns it on
    finally:
        gc.enable()


def test_a_cycle_made_while_paused_is_collected_after() -> None:
    class Node:
        pass

    with heap.paused():
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        del a, b
        assert any(isinstance(o, Node) for o in gc.get_objects())
    gc.collect()
    assert not any(isinstance(o, Node) for o in gc.get_objects())
