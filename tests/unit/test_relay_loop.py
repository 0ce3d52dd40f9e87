"""The relay loop's throttled step: the sweep of ended agreements runs at most once per
interval, and a sweep that failed is tried again at the next round, not an interval later."""

from __future__ import annotations

import pytest

from pars.services.delivery import loop


def test_a_throttled_step_runs_at_most_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(loop.time, "monotonic", lambda: now[0])
    calls: list[float] = []

    def sweep() -> int:
        calls.append(now[0])
        return 2

    every = loop._Every(0.25, sweep)
    assert every() == 2  # due at once
    now[0] += 0.125
    assert every() == 0 and calls == [100.0]  # not yet: nothing run, nothing moved
    now[0] += 0.125
    assert every() == 2 and calls == [100.0, 100.25]


def test_a_failed_step_is_due_again_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [5.0]
    monkeypatch.setattr(loop.time, "monotonic", lambda: now[0])
    outcomes = iter([RuntimeError("database down"), 1])

    def sweep() -> int:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    every = loop._Every(10.0, sweep)
    with pytest.raises(RuntimeError):
        every()
    assert every() == 1  # the same instant: the retry is not put off by the interval
    assert every() == 0  # and then it waits its interval
