"""Server-side sessions for the staff screens: sign-in with a password and a second factor,
enrolment of that factor, idle lock, sign-out and sign-out everywhere.

A session is a row; the browser holds only a random id, and the row only its SHA-256. A session
starts at stage `password` (second factor pending) or `enrol` (the user has none yet), and
becomes `full` only after the second factor (or at once when `require_mfa` is off). Each step
up issues a new id, so an id seen before sign-in is worthless after it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pars.domain.errors import Unauthenticated
from pars.services import second_factor as mfa
from pars.services.app import Pars, Principal
from pars.services.auth import account_locked, check_password
from pars.store.accounts import UserRecord
from pars.store.sessions import SessionRecord
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = [
    "ENROL",
    "FULL",
    "PASSWORD",
    "Enrolment",
    "StaffSession",
    "begin_enrolment",
    "confirm_enrolment",
    "current",
    "sign_in",
    "sign_out",
    "sign_out_everywhere",
    "verify_second_factor",
]

PASSWORD, ENROL, FULL = "password", "enrol", "full"
# A half-signed-in session (password done) must finish the second factor within this time.
_PARTIAL_FOR = timedelta(minutes=10)
_TOUCH_EVERY = timedelta(seconds=60)
_WRONG_CODE = "that code is not right, or was used already"


@dataclass(frozen=True)
class StaffSession:
    """A live session: who, how far signed in, its CSRF token, and (only right after a step
    that issued one) the new cookie value to send."""

    id_hash: str
    user_id: int
    principal: Principal
    stage: str
    csrf_token: str
    cookie: str | None = None


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _principal(user: UserRecord) -> Principal:
    return Principal(user.username, user.role, user.owner)


def _open(pars: Pars, uow: SqlUnitOfWork, user: UserRecord, stage: str) -> StaffSession:
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = pars.clock.now()
    ttl = timedelta(minutes=pars.settings.token_ttl_minutes) if stage == FULL else _PARTIAL_FOR
    uow.sessions.add(_hash(cookie), user.id, stage, csrf, now, now + ttl)
    return StaffSession(_hash(cookie), user.id, _principal(user), stage, csrf, cookie)


def sign_in(pars: Pars, username: str, password: str, source: str = "local") -> StaffSession:
    """The first factor: a new session (with its cookie) at stage `full` when two factors are
    not required, else `password` or `enrol`. Unauthenticated (or RateLimited) as the API's
    logon refuses, with the same message."""
    user = check_password(pars, username, password, source)
    stage = FULL if not pars.settings.require_mfa else PASSWORD if user.totp_secret else ENROL
    with pars.uow() as uow:
        session = _open(pars, uow, user, stage)
        if stage == FULL:
            uow.audit(AuditEntry(username, "session:started", "success", user.role))
        uow.commit()
    return session


def current(
    pars: Pars,
    cookie: str | None,
    stages: frozenset[str] = frozenset({FULL}),
    touch: bool = True,
) -> StaffSession:
    """The session behind a cookie; Unauthenticated when there is none, it is revoked, past its
    lifetime, idle longer than `session_idle_minutes` (then it is revoked: the idle lock), its
    user is disabled, or it is not at one of `stages`. With `touch` (the user's own request)
    the use moves the idle deadline; without (a request the page made by itself) it does
    not, so only the user's own actions keep a session open."""
    if not cookie:
        raise Unauthenticated("sign in to continue")
    now = pars.clock.now()
    id_hash = _hash(cookie)
    with pars.reader() as reader:
        row = reader.sessions.get(id_hash)
    if row is None or row.revoked or row.user.disabled or row.expires_at <= now:
        raise Unauthenticated("your session has ended; sign in again")
    if now - row.last_seen_at > timedelta(minutes=pars.settings.session_idle_minutes):
        with pars.uow() as uow:
            uow.sessions.revoke(id_hash)
            uow.audit(AuditEntry(row.user.username, "session:locked", "success", row.user.role))
            uow.commit()
        raise Unauthenticated("the session was locked after inactivity; sign in again")
    if row.stage not in stages:
        raise Unauthenticated("finish signing in first")
    if touch and now - row.last_seen_at >= _TOUCH_EVERY:
        with pars.uow() as uow:
            uow.sessions.update(id_hash, last_seen_at=now)
            uow.commit()
    return _live(row)


def _live(row: SessionRecord) -> StaffSession:
    return StaffSession(row.id_hash, row.user.id, _principal(row.user), row.stage, row.csrf_token)


def _refuse_code(pars: Pars, uow: SqlUnitOfWork, session: StaffSession, user: UserRecord) -> None:
    """Count a wrong code; at the lock-out threshold lock the account and end the session."""
    s = pars.settings
    failures = user.failed_second_factor + 1
    locked = failures >= s.lockout_threshold
    now = pars.clock.now()
    uow.users.update(
        user.id,
        failed_second_factor=0 if locked else failures,
        locked_until=now + timedelta(minutes=s.lockout_minutes) if locked else user.locked_until,
    )
    who = session.principal
    uow.audit(
        AuditEntry(
            who.username, "account:mfa:failure", "failure", who.role, details={"n": failures}
        )
    )
    if locked:
        uow.sessions.revoke(session.id_hash)
        account_locked(uow, user, s.lockout_minutes, "second factor")
    uow.commit()


def _promote(
    pars: Pars, uow: SqlUnitOfWork, session: StaffSession, user: UserRecord
) -> StaffSession:
    uow.sessions.revoke(session.id_hash)
    full = _open(pars, uow, user, FULL)
    uow.audit(AuditEntry(user.username, "session:started", "success", user.role))
    return full


def verify_second_factor(pars: Pars, session: StaffSession, code: str) -> StaffSession:
    """A TOTP code (single-use) or an unused recovery code completes the sign-in: a new `full`
    session with a new cookie. Unauthenticated for a wrong or reused code (counted towards
    the lock-out) or a locked account."""
    now = pars.clock.now()
    with pars.uow() as uow:
        found = uow.sessions.get(session.id_hash)
        if found is None or found.revoked or found.stage != PASSWORD:
            raise Unauthenticated("sign in again")
        user = found.user
        if user.locked_until and user.locked_until > now:
            # The same answer as a wrong code: the lock is in the audit table, not the page.
            raise Unauthenticated(_WRONG_CODE)
        assert user.totp_secret is not None  # stage PASSWORD means a factor is enrolled
        secret = mfa.decrypt_secret(pars.keys, user.totp_secret, str(user.id))
        step = mfa.accepted_step(secret, code, user.totp_last_step, now)
        method = "totp"
        if step is None and len(mfa.normalise_code(code)) == 12:
            method = "recovery code"
            if not uow.sessions.use_recovery_code(user.id, mfa.recovery_hash(code), now):
                method = ""
        elif step is None:
            method = ""
        if not method:
            _refuse_code(pars, uow, session, user)
            raise Unauthenticated(_WRONG_CODE)
        values: dict[str, object] = {"failed_second_factor": 0}
        if step is not None:
            values["totp_last_step"] = step
        uow.users.update(user.id, **values)
        uow.audit(
            AuditEntry(
                user.username,
                "account:mfa:success",
                "success",
                user.role,
                details={"method": method},
            )
        )
        full = _promote(pars, uow, session, user)
        uow.commit()
    return full


def begin_enrolment(pars: Pars, session: StaffSession) -> Enrolment:
    """The secret being enrolled on this session (made once, kept encrypted on the row until
    confirmed, so a reload shows the same QR code)."""
    with pars.uow() as uow:
        found = uow.sessions.get(session.id_hash)
        if found is None or found.revoked or found.stage != ENROL:
            raise Unauthenticated("sign in again")
        if found.pending_secret is not None:
            secret = mfa.decrypt_secret(pars.keys, found.pending_secret, session.id_hash)
        else:
            secret = mfa.new_secret()
            blob = mfa.encrypt_secret(pars.keys, secret, session.id_hash)
            uow.sessions.update(session.id_hash, pending_secret=blob)
            uow.commit()
    issuer = f"PARS {pars.settings.jurisdiction}"
    return Enrolment(secret, mfa.provisioning_uri(secret, session.principal.username, issuer))


def confirm_enrolment(
    pars: Pars, session: StaffSession, code: str
) -> tuple[StaffSession, list[str]]:
    """A right code from the new authenticator enrols it: the secret moves to the user, ten
    recovery codes replace any old ones, and a new `full` session starts. Returns it and the
    recovery codes (shown once; only their hashes are kept). Unauthenticated for a wrong code."""
    now = pars.clock.now()
    codes = mfa.new_recovery_codes()
    with pars.uow() as uow:
        found = uow.sessions.get(session.id_hash)
        if found is None or found.revoked or found.stage != ENROL or not found.pending_secret:
            raise Unauthenticated("sign in again")
        user = found.user
        secret = mfa.decrypt_secret(pars.keys, found.pending_secret, session.id_hash)
        step = mfa.accepted_step(secret, code, None, now)
        if step is None:
            _refuse_code(pars, uow, session, user)
            raise Unauthenticated("that code is not right; check the app's clock and try again")
        uow.users.update(
            user.id,
            totp_secret=mfa.encrypt_secret(pars.keys, secret, str(user.id)),
            totp_last_step=step,
            mfa_enrolled_at=now,
            failed_second_factor=0,
        )
        uow.sessions.replace_recovery_codes(user.id, [mfa.recovery_hash(c) for c in codes], now)
        uow.audit(AuditEntry(user.username, "account:mfa:enrolled", "success", user.role))
        full = _promote(pars, uow, session, user)
        uow.commit()
    return full, codes


def sign_out(pars: Pars, session: StaffSession) -> None:
    """End this session (the cookie is worthless from now on)."""
    who = session.principal
    with pars.uow() as uow:
        uow.sessions.revoke(session.id_hash)
        uow.audit(AuditEntry(who.username, "account:logout", "success", who.role))
        uow.commit()


def sign_out_everywhere(pars: Pars, session: StaffSession) -> int:
    """End every session of the user, on every device, and revoke their API tokens; how many
    sessions ended."""
    who = session.principal
    with pars.uow() as uow:
        n = uow.sessions.revoke_all(session.user_id)
        uow.users.revoke_tokens(session.user_id)
        uow.audit(
            AuditEntry(
                who.username,
                "account:logout:everywhere",
                "success",
                who.role,
                details={"sessions": n},
            )
        )
        uow.commit()
    pars.token_cache.clear()  # so revoked tokens stop at once, not after the cache delay
    return n
