"""The application object: settings, clock, keys, catalogue and the database, wired once."""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
import structlog

from pars.audit.checkpoint import Signer
from pars.config import Settings
from pars.crypto import KeyRing
from pars.domain.catalogue import ChargeCatalogue
from pars.domain.clock import Clock, SystemClock
from pars.domain.limited_access import LimitedAccessRule
from pars.domain.release import ReleaseRule
from pars.logs import error_name
from pars.services.delivery.outbound import Resolve, system_resolve
from pars.services.logon_guard import LogonGuard
from pars.sharing.policy import JurisdictionPolicy
from pars.store.accounts import RevocationProbe
from pars.store.audit import frontier
from pars.store.engine import make_engine, sqlite_file, write_turn
from pars.store.group_commit import GroupCommit
from pars.store.notify import OUTBOX, QUEUE, Listener
from pars.store.uow import AuditEntry, SqlUnitOfWork, write_audit
from pars.store.wake import WakeDirectory

_log = structlog.get_logger("pars.app")

__all__ = ["Pars", "Principal", "load_limited_access_rule", "load_release_rule"]


@dataclass(frozen=True)
class Principal:
    """Who is acting: a staff user and their role."""

    username: str
    role: str
    owner: str | None = None  # the system owner this person speaks for, if any


def load_release_rule(spec: str) -> ReleaseRule:
    """Import 'package.module:function'; ValueError if it is not a callable."""
    module_name, sep, attr = spec.partition(":")
    if not sep:
        raise ValueError(f"release rule {spec!r} must be 'module:function'")
    obj = getattr(importlib.import_module(module_name), attr, None)
    if not callable(obj):
        raise ValueError(f"release rule {spec!r} is not a function")
    return cast(ReleaseRule, obj)


def load_limited_access_rule(spec: str) -> LimitedAccessRule:
    """Import 'package.module:function' for PARS_LIMITED_ACCESS_RULE; ValueError naming the
    setting if it cannot be imported or is not a function."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"PARS_LIMITED_ACCESS_RULE={spec!r} must be 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(
            f"PARS_LIMITED_ACCESS_RULE={spec!r}: cannot import {module_name}: {e}"
        ) from e
    obj = getattr(module, attr, None)
    if not callable(obj):
        raise ValueError(f"PARS_LIMITED_ACCESS_RULE={spec!r}: {module_name} has no function {attr}")
    return cast(LimitedAccessRule, obj)


class Pars:
    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        engine: sa.Engine | None = None,
        keys: KeyRing | None = None,
        resolve: Resolve | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        # DNS for outbound URLs (webhooks), injected so that tests can re-point a name.
        self.resolve: Resolve = resolve or system_resolve
        self.engine = engine or make_engine(settings.sqlalchemy_url)
        self.keys = keys or KeyRing.load(settings.encryption_keys, settings.data_dir)
        self.catalogue = (
            ChargeCatalogue.from_csv(settings.charge_catalogue)
            if settings.charge_catalogue
            else ChargeCatalogue.default()
        )
        self.release_rule = load_release_rule(settings.release_rule)
        self.limited_access_rule = load_limited_access_rule(settings.limited_access_rule)
        # token hash -> (when read, revocation version then, what was read); see
        # services.auth.authenticate
        self.token_cache: dict[str, tuple[datetime, int, Any]] = {}
        # SQLite: the revocation counter read without a worker thread (authenticate_at_once).
        self.revocation_probe = RevocationProbe.of(self.engine)
        self.logon_guard = LogonGuard(settings)
        self.policy = (
            JurisdictionPolicy.shipped(settings.policy)
            if settings.policy in ("default", "sanctuary")
            else JurisdictionPolicy.load(settings.policy)
        )
        self._signer: Signer | None = None
        # In-process wake-ups, so that an event reaches partners without waiting for a poll:
        # set when a commit wrote outbox events (the embedded relay waits on it), and a counter
        # the relay moves when it queued deliveries (open SSE streams watch it).
        self.outbox_signal = threading.Event()
        self.queue_generation = 0
        self._generation_lock = threading.Lock()
        self._queue_watchers: set[Callable[[], None]] = set()
        self._listener: Listener | None = None
        # SQLite: other processes on the same database file are woken by datagrams (store/wake.py).
        database = sqlite_file(self.engine)
        self._wake = WakeDirectory(database) if database is not None else None
        slug = re.sub(r"[^a-z0-9]+", "-", settings.jurisdiction.lower()).strip("-")
        self.source = f"urn:pars:{slug}"
        # New arrests entered at the same moment share a transaction (store/group_commit.py).
        self.intake_group = GroupCommit(
            lambda: self.uow(),
            settings.intake_group_limit,
            before_batch=lambda uow, n: uow.arrests.reserve_otn_numbers(n),
        )

    def wake_feeds(self) -> None:
        """The relay queued deliveries: open SSE streams and long-polls look again."""
        with self._generation_lock:
            self.queue_generation += 1
            watchers, self._queue_watchers = self._queue_watchers, set()
        for watcher in watchers:
            try:
                watcher()
            except Exception as e:  # a watcher's failure is its own: the commit is done
                _log.warning("queue watcher failed", error=error_name(e))

    def watch_queue(self, watcher: Callable[[], None]) -> Callable[[], None]:
        """Call `watcher` once, from whichever thread, at the next `wake_feeds`; returns the
        function that forgets it unrun. A watcher must be quick and must not raise (the feed's
        hands the wake-up to its event loop)."""
        with self._generation_lock:
            self._queue_watchers.add(watcher)

        def forget() -> None:
            with self._generation_lock:
                self._queue_watchers.discard(watcher)

        return forget

    def listen(self) -> None:
        """Wake this process's relay and feeds when another process committed events or queued
        deliveries: on PostgreSQL by LISTEN/NOTIFY (`pars.store.notify`), on SQLite by
        datagrams beside the database file (`pars.store.wake`). Idempotent; `stop_listening`
        ends it."""
        wakeups = {OUTBOX: self.outbox_signal.set, QUEUE: self.wake_feeds}
        if self._wake is not None:
            self._wake.listen(wakeups)
        elif self._listener is None and self.engine.dialect.name == "postgresql":
            self._listener = Listener(self.engine, wakeups).start()

    @property
    def listening(self) -> bool:
        """Whether other processes' commits wake this one (once `listen` has taken hold)."""
        if self._wake is not None:
            return self._wake.listening
        return self._listener is not None and self._listener.listening.is_set()

    def stop_listening(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._wake is not None:
            self._wake.close()

    def _committed_events(self) -> None:
        self.outbox_signal.set()
        if self._wake is not None:
            self._wake.send(OUTBOX)  # SQLite: the relays of other processes

    def _committed_queued(self) -> None:
        self.wake_feeds()
        if self._wake is not None:
            self._wake.send(QUEUE)  # SQLite: the feeds and streams of other processes

    @property
    def signer(self) -> Signer:
        """The disclosure log's checkpoint key; FileNotFoundError says how to make one."""
        if self._signer is None:
            self._signer = Signer.load(self.settings.audit_signing_key, self.settings.data_dir)
        return self._signer

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine,
            self.keys,
            self.clock,
            self.source,
            on_events=self._committed_events,
            on_queued=self._committed_queued,
        )

    def reader(self) -> SqlUnitOfWork:
        """A unit of work that only reads: on SQLite it does not take the write lock."""
        return SqlUnitOfWork(self.engine, self.keys, self.clock, self.source, read_only=True)

    def audit_now(self, entry: AuditEntry) -> None:
        """Write one audit row in its own transaction: for refusals, whose command rolled back."""
        pending = frontier(self.engine).pending()
        with write_turn(self.engine), self.engine.begin() as conn:
            write_audit(conn, [entry], self.clock, pending)
        pending.publish()
