"""A signed-in request answered on the event loop (issue 11, item 6): `authenticate_at_once`
gives the principal only when `authenticate` would give the same one from its cache without
waiting on anything, and None in every other case, so that the worker thread's `authenticate`
answers. The refusals below each come back None; the thread then refuses exactly."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from pars.domain.clock import FakeClock
from pars.domain.errors import Unauthenticated
from pars.services import accounts_admin
from pars.services.app import Pars, Principal
from pars.services.auth import authenticate, authenticate_at_once, issue_token
from pars.store.accounts import RevocationProbe
from pars.store.engine import make_engine

ADMIN = Principal("admin1", "admin")


def _seen(pars: Pars, username: str) -> str:
    """A token that `authenticate` has just read, so that it is in the cache."""
    token = issue_token(pars, username)
    assert authenticate(pars, token).username == username
    return token


def test_a_token_just_seen_is_answered_with_one_read_of_the_counter(pars: Pars) -> None:
    token = _seen(pars, "officer1")
    assert pars.revocation_probe is not None
    reads = pars.revocation_probe.reads
    who = authenticate_at_once(pars, token)
    assert who == authenticate(pars, token)
    assert who is not None and (who.username, who.role) == ("officer1", "officer")
    assert pars.revocation_probe.reads == reads + 1  # the counter, and nothing else
    assert authenticate_at_once(pars, "not-a-token-anyone-was-given") is None


def test_a_revocation_in_another_process_is_seen_at_the_next_request(
    pars: Pars, other_process: Pars
) -> None:
    officer, clerk = _seen(pars, "officer1"), _seen(pars, "clerk1")
    assert authenticate_at_once(pars, officer) is not None
    # Disabled by the other process, on the same file:
    accounts_admin.set_disabled(other_process, ADMIN, "officer1", True)
    assert authenticate_at_once(pars, officer) is None
    with pytest.raises(Unauthenticated):
        authenticate(pars, officer)
    # The counter moved, so even an unrevoked token goes back to the thread once, is read
    # again there, and is then answered at once.
    assert authenticate_at_once(pars, clerk) is None
    assert authenticate(pars, clerk).username == "clerk1"
    assert authenticate_at_once(pars, clerk) is not None


def test_what_needs_a_read_or_a_write_goes_to_the_thread(pars: Pars, clock: FakeClock) -> None:
    token = _seen(pars, "officer1")
    clock.advance(timedelta(seconds=6))  # past the cache's 5 s: the token's row is read again
    assert authenticate_at_once(pars, token) is None
    assert authenticate(pars, token).username == "officer1"
    assert authenticate_at_once(pars, token) is not None
    # Fresh in the cache, but its last use is due to be written (once a minute): a write.
    th = next(iter(pars.token_cache))
    _, version, (user, expires, _, revoked) = pars.token_cache[th]
    stale = clock.now() - timedelta(seconds=61)
    pars.token_cache[th] = (clock.now(), version, (user, expires, stale, revoked))
    assert authenticate_at_once(pars, token) is None
    assert authenticate(pars, token).username == "officer1"  # writes the last use
    assert pars.token_cache[th][2][2] == clock.now()
    assert authenticate_at_once(pars, token) is not None


def test_an_expired_or_idle_token_is_left_to_the_thread_to_refuse(
    pars: Pars, clock: FakeClock
) -> None:
    token = _seen(pars, "officer1")
    th = next(iter(pars.token_cache))
    when, version, (user, expires, last_used, revoked) = pars.token_cache[th]
    pars.token_cache[th] = (when, version, (user, clock.now(), last_used, revoked))
    assert authenticate_at_once(pars, token) is None
    with pytest.raises(Unauthenticated, match="expired"):
        authenticate(pars, token)
    idle = last_used - timedelta(minutes=pars.settings.session_idle_minutes + 1)
    pars.token_cache[th] = (clock.now(), version, (user, expires, idle, revoked))
    assert authenticate_at_once(pars, token) is None
    with pytest.raises(Unauthenticated, match="inactivity"):
        authenticate(pars, token)


def test_a_busy_probe_answers_none_and_never_waits(pars: Pars) -> None:
    token = _seen(pars, "officer1")
    probe = pars.revocation_probe
    assert probe is not None
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with probe._lock:  # another thread in the middle of a read
            held.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        assert probe.read() is None
        assert authenticate_at_once(pars, token) is None
    finally:
        release.set()
        t.join()
    assert authenticate_at_once(pars, token) is not None


def test_a_database_locked_by_another_writer_does_not_stop_the_probe(pars: Pars) -> None:
    token = _seen(pars, "officer1")
    with pars.uow() as uow:  # BEGIN IMMEDIATE: the write lock held, uncommitted
        uow.users.touch_token("0" * 64, pars.clock.now())
        assert authenticate_at_once(pars, token) is not None  # WAL: a read takes no such lock


def test_a_probe_never_creates_a_database_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "pars.db"
    probe = RevocationProbe(missing)
    assert probe.read() is None
    assert not missing.exists() and not missing.parent.exists()
    assert RevocationProbe.of(make_engine("sqlite://")) is None  # in memory: another database


@pytest.mark.usefixtures("backend")
def test_on_postgresql_every_request_goes_to_the_thread(pars: Pars) -> None:
    token = _seen(pars, "officer1")
    if pars.engine.dialect.name == "sqlite":
        assert authenticate_at_once(pars, token) is not None
    else:
        assert pars.revocation_probe is None  # a read there is a round trip
        assert authenticate_at_once(pars, token) is None


def test_a_file_database_keeps_a_connection_per_worker_thread(tmp_path: Path) -> None:
    # SQLAlchemy's default for SQLite keeps 5 and closes the rest after each use: under load
    # every request then opened a connection and ran its four PRAGMAs again.
    engine = make_engine(f"sqlite:///{tmp_path / 'pars.db'}")
    held = [engine.connect() for _ in range(12)]
    for conn in held:
        conn.close()
    assert engine.pool.checkedin() == 12  # type: ignore[attr-defined]
    engine.dispose()
