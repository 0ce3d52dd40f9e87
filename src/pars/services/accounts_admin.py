"""Account administration (role admin): list users, add one with a one-time password, disable
and enable, unlock, reset the second factor, change the role. Every change is audited; every change
that lowers trust (disable, reset, role) also ends the user's sessions and API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from pars.domain.errors import FieldError, InvalidInput, NotFound
from pars.domain.roles import Role
from pars.services.app import Pars, Principal
from pars.services.auth import add_user, require_role
from pars.store.accounts import UserRecord
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = [
    "UserSummary",
    "add_with_initial_password",
    "change_role",
    "list_users",
    "reset_second_factor",
    "set_disabled",
    "unlock",
]

_ADMIN = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class UserSummary:
    username: str
    role: str
    owner: str | None
    disabled: bool
    locked_until: datetime | None
    second_factor: bool


def _summary(u: UserRecord) -> UserSummary:
    return UserSummary(
        u.username, u.role, u.owner, u.disabled, u.locked_until, u.totp_secret is not None
    )


def list_users(pars: Pars, who: Principal) -> list[UserSummary]:
    """Every staff user, by name. Forbidden (audited) unless `who` is an admin."""
    require_role(pars, who, _ADMIN, "manage_accounts")
    with pars.reader() as reader:
        return [_summary(u) for u in reader.users.all()]


def add_with_initial_password(
    pars: Pars, who: Principal, username: str, role: str, owner: str | None = None
) -> str:
    """Create a user with a random initial password and return it (to show once). The user
    enrols a second factor at first sign-in."""
    require_role(pars, who, _ADMIN, "manage_accounts")
    password = secrets.token_urlsafe(12)
    add_user(pars, username, role, password, by=who.username, owner=owner or None)
    return password


def _user(uow: SqlUnitOfWork, username: str) -> UserRecord:
    user = uow.users.by_name(username)
    if user is None:
        raise NotFound("no such user")
    return user


def _end_everything(uow: SqlUnitOfWork, pars: Pars, user: UserRecord) -> None:
    uow.sessions.revoke_all(user.id)
    uow.users.revoke_tokens(user.id)
    pars.token_cache.clear()


def set_disabled(pars: Pars, who: Principal, username: str, disabled: bool) -> None:
    """Disable (ending every session and token) or enable a user. An admin cannot disable
    their own account, so there is always one who can undo it."""
    require_role(pars, who, _ADMIN, "manage_accounts")
    if disabled and username == who.username:
        raise InvalidInput([FieldError("/username", "you cannot disable your own account")])
    with pars.uow() as uow:
        user = _user(uow, username)
        uow.users.update(user.id, disabled=disabled, failed_logins=0, locked_until=None)
        if disabled:
            _end_everything(uow, pars, user)
        action = "account:disabled" if disabled else "account:enabled"
        uow.audit(AuditEntry(who.username, action, "success", who.role, username))
        uow.commit()


def unlock(pars: Pars, who: Principal, username: str) -> bool:
    """End a lock-out now (audited `account:unlocked`, with whether a lock was in force) and
    clear the failure counts and the username's logon throttles in this process. Whether the
    account was locked."""
    require_role(pars, who, _ADMIN, "manage_accounts")
    now = pars.clock.now()
    with pars.uow() as uow:
        user = _user(uow, username)
        was_locked = bool(user.locked_until and user.locked_until > now)
        uow.users.update(user.id, failed_logins=0, failed_second_factor=0, locked_until=None)
        uow.audit(
            AuditEntry(
                who.username,
                "account:unlocked",
                "success",
                who.role,
                username,
                details={"was_locked": was_locked},
            )
        )
        uow.commit()
    pars.logon_guard.forget(username)
    return was_locked


def reset_second_factor(pars: Pars, who: Principal, username: str) -> None:
    """Forget the user's authenticator and recovery codes (lost phone): they enrol again at
    their next sign-in. Ends their sessions."""
    require_role(pars, who, _ADMIN, "manage_accounts")
    with pars.uow() as uow:
        user = _user(uow, username)
        uow.users.update(
            user.id,
            totp_secret=None,
            totp_last_step=None,
            mfa_enrolled_at=None,
            failed_second_factor=0,
        )
        uow.sessions.replace_recovery_codes(user.id, [], pars.clock.now())
        _end_everything(uow, pars, user)
        uow.audit(AuditEntry(who.username, "account:mfa:reset", "success", who.role, username))
        uow.commit()


def change_role(pars: Pars, who: Principal, username: str, role: str) -> None:
    """Give the user another role; their sessions end so the new role applies at once."""
    require_role(pars, who, _ADMIN, "manage_accounts")
    if role not in Role.__members__.values():
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput([FieldError("/role", f"unknown role {role!r}; one of: {roles}")])
    if username == who.username and role != Role.ADMIN:
        raise InvalidInput([FieldError("/role", "you cannot take the admin role from yourself")])
    with pars.uow() as uow:
        user = _user(uow, username)
        uow.users.update(user.id, role=role)
        _end_everything(uow, pars, user)
        uow.audit(
            AuditEntry(
                who.username,
                "account:role:changed",
                "success",
                who.role,
                username,
                details={"from": user.role, "to": role},
            )
        )
        uow.commit()
