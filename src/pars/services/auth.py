"""Staff accounts: argon2 password hashes, bearer tokens, lock-out, and role checks."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

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
from pars.store.uow import AuditEntry

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "add_user",
    "authenticate",
    "check_password",
    "hash_password",
    "issue_token",
    "login",
    "require",
    "require_role",
]

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_TOUCH_EVERY = timedelta(seconds=60)
# A verified token is trusted this long without reading it again: most requests then need no
# token transaction. A revocation or a disabled account takes effect within this delay.
_CACHE_FOR = timedelta(seconds=5)
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


def login(pars: Pars, username: str, password: str) -> str:
    """Exchange a password for a token. After `lockout_threshold` failures in a row the account
    is locked for `lockout_minutes`; every attempt is audited."""
    user = check_password(pars, username, password)
    return _new_token(pars, user.id)


def check_password(pars: Pars, username: str, password: str) -> UserRecord:
    """The user, if the password is theirs and the account is neither locked nor disabled;
    otherwise Unauthenticated. Counts failures towards the lock-out and audits every attempt
    (`account:login:failure` / `account:login:success`): the API's logon and the screens'
    first factor both go through here."""
    now = pars.clock.now()
    s = pars.settings
    with pars.uow() as uow:
        user = uow.users.by_name(username)
        if user is None:
            _verify(_DUMMY_HASH, password)
            uow.audit(
                AuditEntry(
                    username[:60],
                    "account:login:failure",
                    "failure",
                    details={"reason": "unknown user"},
                )
            )
            uow.commit()
            raise Unauthenticated("invalid username or password")
        if user.locked_until and user.locked_until > now:
            uow.audit(
                AuditEntry(
                    username,
                    "account:login:failure",
                    "failure",
                    user.role,
                    details={"reason": "locked"},
                )
            )
            uow.commit()
            raise Unauthenticated(
                f"account locked after {s.lockout_threshold} failed logons; try again after "
                f"{user.locked_until.isoformat(timespec='seconds')}"
            )
        if user.disabled or not _verify(user.password_hash, password):
            failures = user.failed_logins + 1
            locked = failures >= s.lockout_threshold
            uow.users.update(
                user.id,
                failed_logins=0 if locked else failures,
                locked_until=now + timedelta(minutes=s.lockout_minutes) if locked else None,
            )
            uow.audit(
                AuditEntry(
                    username,
                    "account:login:failure",
                    "failure",
                    user.role,
                    details={"reason": "disabled" if user.disabled else "password"},
                )
            )
            if locked:
                uow.audit(
                    AuditEntry(
                        username,
                        "account:locked",
                        "success",
                        user.role,
                        details={"minutes": s.lockout_minutes},
                    )
                )
            uow.commit()
            raise Unauthenticated("invalid username or password")
        uow.users.update(user.id, failed_logins=0, locked_until=None)
        uow.audit(AuditEntry(username, "account:login:success", "success", user.role))
        uow.commit()
    return user


def hash_password(password: str) -> str:
    """An argon2 hash of the password (slow by design: call it outside a transaction)."""
    return _hasher.hash(password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(pars: Pars, token: str) -> Principal:
    """The principal behind a bearer token; Unauthenticated if unknown, revoked, expired, idle
    longer than `session_idle_minutes`, or its user is disabled."""
    now = pars.clock.now()
    th = _token_hash(token)
    cached = pars.token_cache.get(th)
    if cached is not None and now - cached[0] < _CACHE_FOR:
        _, found = cached
    else:
        with pars.reader() as reader:
            found = reader.users.token(th)
        if found is not None:
            if len(pars.token_cache) > 10_000:
                pars.token_cache.clear()  # bounded: stale entries would only be re-read
            pars.token_cache[th] = (now, found)
    if found is None:
        raise Unauthenticated("unknown or revoked token")
    user, expires, last_used, revoked = found
    if revoked or user.disabled:
        raise Unauthenticated("unknown or revoked token")
    if expires <= now:
        raise Unauthenticated("token expired; log in again")
    if now - last_used > timedelta(minutes=pars.settings.session_idle_minutes):
        raise Unauthenticated("session locked after inactivity; log in again")
    if now - last_used >= _TOUCH_EVERY:
        # Written at most once a minute per token, so reads rarely take the write lock.
        with pars.uow() as uow:
            uow.users.touch_token(th, now)
            uow.commit()
        pars.token_cache[th] = (now, (user, expires, now, revoked))
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
