"""The feed's shared rounds and wake-ups, per event loop.

When the relay queues an event for ten partners, their ten SSE streams (and long-polls) wake at
once. Served one by one, each would take its own write transaction and append to the disclosure
log alone, and the tenth partner would wait for nine commits. Instead every ask made while a
round is being gathered or served joins the next round: one `serve_round` in the thread pool,
one commit, one log append. A round that fails is served again ask by ask, so that one
partner's failure is never another's."""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from starlette.concurrency import run_in_threadpool

from pars.services.app import Pars
from pars.services.delivery.feed import Ask, Served, serve_round

__all__ = ["queue_moved", "serve"]

# Let the asks of streams woken by the same queueing reach the round before it starts. The
# wake-ups arrive within a few loop iterations; a round missed is the next one, not a poll.
_GATHER = 0.001

_rounds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Rounds]] = (
    weakref.WeakKeyDictionary()
)


class _Rounds:
    def __init__(self, pars: Pars) -> None:
        self._pars = pars
        self._waiting: list[tuple[Ask, asyncio.Future[Served]]] = []
        self._task: asyncio.Task[None] | None = None

    async def serve(self, ask: Ask) -> Served:
        future: asyncio.Future[Served] = asyncio.get_running_loop().create_future()
        self._waiting.append((ask, future))
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(_GATHER)
                batch, self._waiting = self._waiting, []
                try:
                    served = await run_in_threadpool(serve_round, self._pars, [a for a, _ in batch])
                except Exception:
                    for ask, future in batch:  # each alone: its own result or its own error
                        try:
                            one = await run_in_threadpool(serve_round, self._pars, [ask])
                        except Exception as e:
                            _settle(future, error=e)
                        else:
                            _settle(future, one[0])
                    continue
                for (_, future), result in zip(batch, served, strict=True):
                    _settle(future, result)
        finally:
            self._task = None
            for _, future in self._waiting:  # cancelled while gathering: no ask left hanging
                future.cancel()
            self._waiting = []


def _settle(
    future: asyncio.Future[Served], result: Served | None = None, error: Exception | None = None
) -> None:
    if future.done():  # the asker went away (its request was cancelled)
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)


async def serve(pars: Pars, ask: Ask) -> Served:
    """`ask` served in this event loop's next round for `pars`."""
    loop = asyncio.get_running_loop()
    rounds = _rounds.setdefault(loop, {})
    if id(pars) not in rounds:
        rounds[id(pars)] = _Rounds(pars)
    return await rounds[id(pars)].serve(ask)


async def queue_moved(pars: Pars, generation: int, seconds: float) -> bool:
    """Return as soon as the relay queued something (this process's relay, or another
    process's through LISTEN/NOTIFY on PostgreSQL) since `generation`, or after `seconds`;
    whether it did (False: the time ran out)."""
    loop = asyncio.get_running_loop()
    moved = loop.create_future()

    def wake() -> None:  # called from the committing thread
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(_done, moved)

    forget = pars.watch_queue(wake)
    try:
        if pars.queue_generation == generation:  # else it moved before the watch began
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved, seconds)
    finally:
        forget()
    return pars.queue_generation != generation


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
