"""The feed's shared rounds and wake-ups, per event loop.

When the relay queues an event for ten partners, their ten SSE streams (and long-polls) wake at
once. Served one by one, each would take its own write transaction and append to the disclosure
log alone, and the tenth partner would wait for nine commits. Instead every ask made while a
round is being gathered or served joins the next round: one `serve_round` in the thread pool,
one commit, one log append. A round that fails is served again ask by ask, so that one
partner's failure is never another's.

The same for their keys: the ten long-polls that re-ask after an event are authenticated in
one statement (`authenticate_partners`), each still against the database as it is then."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from pars.services.app import Pars
from pars.services.delivery.feed import Ask, Partner, Served, authenticate_partners, serve_round

__all__ = ["partner", "queue_moved", "serve"]

# Let the asks of streams woken by the same queueing reach the round before it starts. The
# wake-ups arrive within a few loop iterations; a round missed is the next one, not a poll.
_GATHER = 0.001

_A = TypeVar("_A")
_R = TypeVar("_R")


class _Gathered(Generic[_A, _R]):
    """Calls of `call(pars, items)` in the thread pool, each for every item asked while the
    previous one ran or while gathering (`gather` seconds, 0: what is ready in this loop now)."""

    def __init__(
        self, pars: Pars, call: Callable[[Pars, Sequence[_A]], list[_R]], gather: float
    ) -> None:
        self._pars = pars
        self._call = call
        self._gather = gather
        self._waiting: list[tuple[_A, asyncio.Future[_R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def ask(self, item: _A) -> _R:
        future: asyncio.Future[_R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(self._gather)
                batch, self._waiting = self._waiting, []
                try:
                    results = await run_in_threadpool(
                        self._call, self._pars, [item for item, _ in batch]
                    )
                except Exception:
                    for item, future in batch:  # each alone: its own result or its own error
                        try:
                            one = await run_in_threadpool(self._call, self._pars, [item])
                        except Exception as e:
                            _fail(future, e)
                        else:
                            _settle(future, one[0])
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    _settle(future, result)
        finally:
            self._task = None
            for _, future in self._waiting:  # cancelled while gathering: no ask left hanging
                future.cancel()
            self._waiting = []


def _settle(future: asyncio.Future[_R], result: _R) -> None:
    if not future.done():  # else the asker went away (its request was cancelled)
        future.set_result(result)


def _fail(future: asyncio.Future[_R], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


_PerLoop = weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Gathered[_A, _R]]]
_rounds: _PerLoop[Ask, Served] = weakref.WeakKeyDictionary()
_keys: _PerLoop[str, Partner | None] = weakref.WeakKeyDictionary()


def _of(
    per_loop: _PerLoop[_A, _R],
    pars: Pars,
    call: Callable[[Pars, Sequence[_A]], list[_R]],
    gather: float,
) -> _Gathered[_A, _R]:
    """This event loop's one `_Gathered` of `per_loop` for `pars`."""
    mine = per_loop.setdefault(asyncio.get_running_loop(), {})
    found = mine.get(id(pars))
    if found is None:
        found = mine[id(pars)] = _Gathered(pars, call, gather)
    return found


# The module's functions looked up at each call (tests replace them).
def _serve_round(pars: Pars, asks: Sequence[Ask]) -> list[Served]:
    return serve_round(pars, asks)


def _authenticate(pars: Pars, keys: Sequence[str]) -> list[Partner | None]:
    return authenticate_partners(pars, keys)


async def serve(pars: Pars, ask: Ask) -> Served:
    """`ask` served in this event loop's next round for `pars`."""
    return await _of(_rounds, pars, _serve_round, _GATHER).ask(ask)


async def partner(pars: Pars, key: str) -> Partner | None:
    """The partner holding `key` (None if unknown or revoked), read with the keys of the
    requests that arrive with this one."""
    # No gathering wait: the keys of the requests already read join; later ones, the next call.
    return await _of(_keys, pars, _authenticate, 0).ask(key)


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
