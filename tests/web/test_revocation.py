"""Revocation takes effect at once in every process (issue 14, item 8): two applications on one
database, each with its own token cache; what one revokes, the other refuses at its next
request, the clock not moved, while an unrevoked token keeps being served from the cache."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pars.services import accounts_admin
from pars.services.app import Pars, Principal
from pars.services.auth import issue_token
from pars.web.app import create_app

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL
ADMIN = Principal("admin1", "admin")


def _me(client: TestClient, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_revocation_in_one_process_is_refused_at_once_in_the_other(
    pars: Pars, other_process: Pars
) -> None:
    a = TestClient(create_app(pars), raise_server_exceptions=False)
    b = TestClient(create_app(other_process), raise_server_exceptions=False)
    officer = issue_token(pars, "officer1")
    clerk = issue_token(pars, "clerk1")
    prosecutor = issue_token(pars, "prosecutor1")
    for token in (officer, clerk, prosecutor):
        assert _me(b, token) == 200  # now in b's cache
    reads = 0
    real = other_process.reader

    def counting_reader():  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return real()

    other_process.reader = counting_reader  # type: ignore[method-assign]
    probe = other_process.revocation_probe  # SQLite: the counter read without a worker thread
    probed = probe.reads if probe is not None else 0
    assert _me(b, clerk) == 200
    reads += (probe.reads - probed) if probe is not None else 0
    assert reads == 1  # the cache still serves: one read (the counter), not the token's row
    assert (probe is not None) == (other_process.engine.dialect.name == "sqlite")

    # Disabled in process a: refused by b at once (no time passes on the clock).
    accounts_admin.set_disabled(pars, ADMIN, "officer1", True)
    assert _me(b, officer) == 401
    assert _me(a, officer) == 401
    # A role change in a: b sees the new role at once.
    accounts_admin.change_role(pars, ADMIN, "prosecutor1", "clerk")
    assert _me(b, prosecutor) == 401  # the role change ended the user's tokens
    fresh = issue_token(pars, "prosecutor1")
    assert b.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).json() == {
        "username": "prosecutor1",
        "role": "clerk",
    }
    # The other way round: revoked through b, refused by a, whose cache held the token.
    assert _me(a, clerk) == 200
    with other_process.uow() as uow:
        user = uow.users.by_name("clerk1")
        assert user is not None
        uow.users.revoke_tokens(user.id)
        uow.commit()
    assert _me(a, clerk) == 401
    # Unrevoked tokens are unaffected.
    assert _me(a, fresh) == 200 and _me(b, fresh) == 200
