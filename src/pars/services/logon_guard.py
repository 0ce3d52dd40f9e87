"""Throttling of logons, in the process: token buckets per source address and per typed
username at a source address, and a bound on concurrent argon2 checks.

The buckets are refused before any password is checked, so a throttled try costs no hash and
counts towards no lock-out. The keys are chosen so that one address cannot lock a real user
out: a (username, address) pair may fail fewer times than the lock-out threshold before it
waits, so reaching the CJIS lock-out takes failures from more than one address. See
docs/security.md for the trade-off.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from pars.config import Settings
from pars.domain.errors import RateLimited

__all__ = ["LogonGuard", "TokenBucket"]

_MAX_KEYS = 100_000  # memory bound: the least recently touched keys are forgotten first


class TokenBucket:
    """`capacity` tokens per key, refilled evenly over `per`; thread-safe."""

    def __init__(self, capacity: int, per: timedelta, max_keys: int = _MAX_KEYS) -> None:
        self.capacity = capacity
        self._rate = capacity / per.total_seconds()  # tokens a second
        self._max_keys = max_keys
        self._state: OrderedDict[Hashable, tuple[float, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, key: Hashable, now: datetime) -> float:
        found = self._state.get(key)
        if found is None:
            return float(self.capacity)
        tokens, at = found
        elapsed = max(0.0, (now - at).total_seconds())
        return min(float(self.capacity), tokens + elapsed * self._rate)

    def wait(self, key: Hashable, now: datetime) -> int:
        """Whole seconds until `key` has a token (0: it has one now); takes nothing."""
        with self._lock:
            level = self._level(key, now)
        return 0 if level >= 1 else max(1, math.ceil((1 - level) / self._rate))

    def take(self, key: Hashable, now: datetime) -> int:
        """Take a token for `key`; 0 when taken, else the seconds to wait (nothing taken)."""
        with self._lock:
            level = self._level(key, now)
            if level < 1:
                return max(1, math.ceil((1 - level) / self._rate))
            self._state[key] = (level - 1, now)
            self._state.move_to_end(key)
            while len(self._state) > self._max_keys:
                self._state.popitem(last=False)
            return 0

    def spend(self, key: Hashable, now: datetime) -> None:
        """Take a token for `key`, stopping at zero: a failure counted after the check that
        admitted it, which a concurrent failure may have emptied meanwhile."""
        with self._lock:
            level = self._level(key, now)
            self._state[key] = (max(0.0, level - 1), now)
            self._state.move_to_end(key)
            while len(self._state) > self._max_keys:
                self._state.popitem(last=False)

    def forget(self, match: Hashable | None = None) -> None:
        """Refill every key (None), or every tuple key whose first item is `match`."""
        with self._lock:
            if match is None:
                self._state.clear()
                return
            for key in [k for k in self._state if isinstance(k, tuple) and k[:1] == (match,)]:
                del self._state[key]


class LogonGuard:
    """What every password check passes first (services.auth.check_password)."""

    def __init__(self, settings: Settings) -> None:
        window = timedelta(minutes=settings.logon_throttle_minutes)
        self.by_address = TokenBucket(settings.logon_attempts_per_address, window)
        self.by_name = TokenBucket(settings.logon_failures_per_name, window)
        self._hashing = threading.BoundedSemaphore(settings.logon_concurrency)

    @staticmethod
    def _name_key(username: str, source: str) -> tuple[str, str]:
        # Case-folded: `Clerk1` and `clerk1` share one bucket, whatever the store does.
        return (username.casefold(), source)

    def admit(self, username: str, source: str, now: datetime) -> None:
        """RateLimited when this (username, address) pair has failed too often lately, or the
        address has tried too often (every try counts for the address)."""
        wait = self.by_name.wait(self._name_key(username, source), now)
        if wait:
            raise RateLimited("too many failed sign-ins; try again later", wait)
        wait = self.by_address.take(source, now)
        if wait:
            raise RateLimited("too many sign-ins from this address; try again later", wait)

    def failed(self, username: str, source: str, now: datetime) -> None:
        """Count a failure against the (username, address) pair."""
        self.by_name.spend(self._name_key(username, source), now)

    def forget(self, username: str) -> None:
        """Refill the username's buckets at every address (an administrator's unlock)."""
        self.by_name.forget(username.casefold())

    @contextmanager
    def hashing(self) -> Iterator[None]:
        """Hold one of the `logon_concurrency` argon2 slots; RateLimited (Retry-After 1) when
        all are taken, rather than queueing without bound."""
        if not self._hashing.acquire(blocking=False):
            raise RateLimited("too many sign-ins at once; try again in a moment", 1)
        try:
            yield
        finally:
            self._hashing.release()
