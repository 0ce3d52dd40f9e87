"""Staff accounts: argon2 password hashes, bearer tokens, lock-out, and role checks."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pars.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from pars.domain.roles import Role, Step, may
from pars.services.app import Pars, Principal
from pars.store.accounts import UserRecord
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "REFUSED",
    "account_locked",
    "add_user",
    "authenticate",
    "authenticate_at_once",
    "check_password",
    "hash_password",
    "issue_token",
    "login",
    "name_digest",
    "require",
    "require_role",
]

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_TOUCH_EVERY = timedelta(seconds=60)
# A verified token is trusted this long without reading its row again, as long as the
# database's revocation counter has not moved (see authenticate): most requests then read one
# row of one column. Its role, idle time and expiry are rechecked after this delay.
_CACHE_FOR = timedelta(seconds=5)
_log = structlog.get_logger("pars.auth")
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,60}$")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    pars: Pars, username: str, role: str, password: str, by: str = "cli", owner: str | None = None
) -> None:
    """Create a staff user. InvalidInput for an unknown role or a short password; Conflict if the
    name is taken."""
    errors: list[FieldError] = []
    if role not in Role.__members__.values():
        roles = ", ".join(r.value for r in Role)
        errors.append(FieldError("/role", f"unknown role {role!r}; one of: {roles}"))
    if not _USERNAME.match(username):
        errors.append(FieldError("/username", "1-60 letters, digits, '.', '_' or '-'"))
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(FieldError("/password", f"at least {MIN_PASSWORD_LENGTH} characters"))
    if owner is not None and owner not in pars.policy.owners:
        owners = ", ".join(pars.policy.owners)
        errors.append(FieldError("/owner", f"not an owner under the policy; one of {owners}"))
    if errors:
        raise InvalidInput(errors)
    hashed = _hasher.hash(password)  # slow by design: not while holding the write lock
    with pars.uow() as uow:
        if uow.users.by_name(username):
            raise Conflict(f"user {username!r} exists")
        uow.users.add(username, role, hashed, pars.clock.now(), owner)
        uow.audit(
            AuditEntry(
                by, "account:created", subject=username, details={"role": role, "owner": owner}
            )
        )
        uow.commit()


def _new_token(pars: Pars, user_id: int) -> str:
    token = "pars_" + secrets.token_urlsafe(32)
    now = pars.clock.now()
    with pars.uow() as uow:
        uow.users.add_token(
            _token_hash(token),
            user_id,
            now,
            now + timedelta(minutes=pars.settings.token_ttl_minutes),
        )
        uow.commit()
    return token


def issue_token(pars: Pars, username: str) -> str:
    """A bearer token for an operator (CLI); NotFound if the user does not exist."""
    with pars.uow() as uow:
        user = uow.users.by_name(username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        uow.audit(AuditEntry("cli", "token:issued", subject=username, role=user.role))
        uow.commit()
    return _new_token(pars, user.id)


def login(pars: Pars, username: str, password: str, source: str = "local") -> str:
    """Exchange a password for a token. After `lockout_threshold` failures in a row the account
    is locked for `lockout_minutes`; every attempt is audited. RateLimited when the logon
    throttles refuse (see services.logon_guard)."""
    user = check_password(pars, username, password, source)
    return _new_token(pars, user.id)


# One answer for every failed logon, whatever the cause: unknown name, wrong password, locked
# or disabled account. The reason is in the audit row, never in the answer.
REFUSED = "invalid username or password"
_NAME_KEY_LABEL = b"pars:audit:unknown-username"


def name_digest(pars: Pars, username: str) -> str:
    """A keyed hash (HMAC-SHA-256 under a key derived from the key ring's current key) of a
    typed username that names no account: what the audit row keeps instead of the text, which
    is often a password typed in the wrong box. `key-id:hex`; equal names give equal digests
    under one key, so repeated tries of one name can be told apart from a spray."""
    kid, key = pars.keys.derived_keys(_NAME_KEY_LABEL)[0]
    digest = hmac.new(key, username.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{kid}:{digest}"


def check_password(pars: Pars, username: str, password: str, source: str = "local") -> UserRecord:
    """The user, if the password is theirs and the account is neither locked nor disabled;
    otherwise Unauthenticated, with one message for every cause and one argon2 verification on
    every path (against a dummy hash when the name is unknown), so neither the answer nor its
    time tells an account from none. Counts failures towards the lock-out and audits every
    attempt (`account:login:failure` / `account:login:success`, `account:locked` when a lock
    starts); RateLimited, before any hash, when the throttles of `source` refuse. The API's
    logon and the screens' first factor both go through here."""
    guard = pars.logon_guard
    guard.admit(username, source, pars.clock.now())
    with guard.hashing():
        # Read, then hash outside any write transaction: argon2 is slow by design.
        with pars.reader() as reader:
            seen = reader.users.by_name(username)
        matches = _verify(seen.password_hash if seen is not None else _DUMMY_HASH, password)
    now = pars.clock.now()
    with pars.uow() as uow:
        user = uow.users.by_name(username)  # again: the counters as they are now
        if user is None:
            reason = "unknown user"
        elif user.locked_until and user.locked_until > now:
            reason = "locked"
        elif user.disabled:
            reason = "disabled"
        elif not matches or seen is None or seen.password_hash != user.password_hash:
            reason = "password"
        else:
            uow.users.update(user.id, failed_logins=0, locked_until=None)
            uow.audit(AuditEntry(username, "account:login:success", "success", user.role))
            uow.commit()
            return user
        if user is None:
            uow.audit(
                AuditEntry(
                    "unknown user",
                    "account:login:failure",
                    "failure",
                    details={"reason": reason, "name_hmac": name_digest(pars, username)},
                )
            )
        else:
            uow.audit(
                AuditEntry(
                    username,
                    "account:login:failure",
                    "failure",
                    user.role,
                    details={"reason": reason},
                )
            )
        if user is not None and reason != "locked":
            _count_failure(pars, uow, user, now)
        uow.commit()
    guard.failed(username, source, now)
    raise Unauthenticated(REFUSED)


def _count_failure(pars: Pars, uow: SqlUnitOfWork, user: UserRecord, now: datetime) -> None:
    s = pars.settings
    failures = user.failed_logins + 1
    locked = failures >= s.lockout_threshold
    uow.users.update(
        user.id,
        failed_logins=0 if locked else failures,
        locked_until=now + timedelta(minutes=s.lockout_minutes) if locked else None,
    )
    if locked:
        account_locked(uow, user, s.lockout_minutes, "password")


def account_locked(uow: SqlUnitOfWork, user: UserRecord, minutes: int, factor: str) -> None:
    """The audit entry (alert-worthy: `account:locked`) and a WARNING log line (no name, no
    address) for an account that a run of failures has just locked."""
    uow.audit(
        AuditEntry(
            user.username,
            "account:locked",
            "success",
            user.role,
            details={"minutes": minutes, "factor": factor},
        )
    )
    _log.warning("account locked", action="account:locked", minutes=minutes, factor=factor)


def hash_password(password: str) -> str:
    """An argon2 hash of the password (slow by design: call it outside a transaction)."""
    return _hasher.hash(password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate_at_once(pars: Pars, token: str) -> Principal | None:
    """`authenticate`'s answer when it is at hand without waiting on anything, for the server's
    event loop: the token read less than `_CACHE_FOR` ago, the revocation counter still where
    it was then (read on SQLite by `pars.revocation_probe`, which never waits), the token valid,
    and its last use recent enough to need no write. None in every other case, a refusal
    included: the caller then calls `authenticate` in a worker thread, which answers exactly.
    The same rule as `authenticate`'s cache, so a revocation in any process still refuses the
    token from the next request on."""
    probe = pars.revocation_probe
    if probe is None:
        return None
    now = pars.clock.now()
    cached = pars.token_cache.get(_token_hash(token))
    if cached is None or now - cached[0] >= _CACHE_FOR:
        return None
    if probe.read() != cached[1]:
        return None
    user, _, last_used, _ = cached[2]
    # A last use due to be written is a write, and the idle limit (at least a minute) is
    # past it, so the thread answers both.
    if _refusal(pars, cached[2], now) is not None or now - last_used >= _TOUCH_EVERY:
        return None
    return Principal(user.username, user.role, user.owner)


def _refusal(
    pars: Pars, found: tuple[UserRecord, datetime, datetime, bool], now: datetime
) -> str | None:
    """Why a token read (its user, expiry, last use, revoked flag) is refused now; None if
    it is not."""
    user, expires, last_used, revoked = found
    if revoked or user.disabled:
        return "unknown or revoked token"
    if expires <= now:
        return "token expired; log in again"
    if now - last_used > timedelta(minutes=pars.settings.session_idle_minutes):
        return "session locked after inactivity; log in again"
    return None


def authenticate(pars: Pars, token: str) -> Principal:
    """The principal behind a bearer token; Unauthenticated if unknown, revoked, expired, idle
    longer than `session_idle_minutes`, or its user is disabled. A revocation (in any process
    on the database) refuses the token from the next request on."""
    now = pars.clock.now()
    th = _token_hash(token)
    cached = pars.token_cache.get(th)
    # No common snapshot is needed: the counter is read before the token, so a revocation
    # committed in between shows in the token's row, or moves the counter past the cached one.
    with pars.reader().without_snapshot() as reader:
        # One primary-key read per request: a cached token is trusted only while no token was
        # revoked anywhere since it was read; otherwise it is read again.
        version = reader.users.revocation_version()
        if cached is not None and cached[1] == version and now - cached[0] < _CACHE_FOR:
            found = cached[2]
        else:
            found = reader.users.token(th)
            if found is not None:
                if len(pars.token_cache) > 10_000:
                    pars.token_cache.clear()  # bounded: stale entries would only be re-read
                pars.token_cache[th] = (now, version, found)
    if found is None:
        raise Unauthenticated("unknown or revoked token")
    refused = _refusal(pars, found, now)
    if refused is not None:
        raise Unauthenticated(refused)
    user, expires, last_used, revoked = found
    if now - last_used >= _TOUCH_EVERY:
        # Written at most once a minute per token, so reads rarely take the write lock.
        with pars.uow() as uow:
            uow.users.touch_token(th, now)
            uow.commit()
        pars.token_cache[th] = (now, version, (user, expires, now, revoked))
    return Principal(user.username, user.role, user.owner)


def require_role(
    pars: Pars, who: Principal, roles: frozenset[Role], what: str, subject: str | None = None
) -> None:
    """Forbidden (and an audit row) unless the principal has one of `roles`."""
    if who.role not in roles:
        pars.audit_now(
            AuditEntry(
                who.username, "access:denied", "denied", who.role, subject, details={"step": what}
            )
        )
        raise Forbidden(f"role '{who.role}' may not {what.replace('_', ' ')}")


def require(pars: Pars, who: Principal, step: Step, subject: str | None = None) -> None:
    """Forbidden (and an audit row) unless the principal's role may take this step."""
    try:
        role = Role(who.role)
    except ValueError:
        role = None
    if role is None or not may(role, step):
        pars.audit_now(
            AuditEntry(
                who.username,
                "access:denied",
                "denied",
                who.role,
                subject,
                details={"step": step.value},
            )
        )
        raise Forbidden(f"role '{who.role}' may not {step.value.replace('_', ' ')}")
