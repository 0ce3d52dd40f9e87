"""After a self-refreshing screen (the docket, the custody board) read what it shows: remember
it (the user's page view, already audited by the read) or audit what is new in it (an
automatic refresh, read without auditing). See `services.screen_reads`."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from pars.services import screen_reads
from pars.services.app import Pars, Principal
from pars.web.screens.security import is_automatic

__all__ = ["shown"]


async def shown(
    request: Request, pars: Pars, who: Principal, screen: str, keys: Iterable[str]
) -> None:
    """`keys` (`screen_reads.shown_keys`) are what `screen` shows in answer to `request`."""
    session = getattr(request.state, "staff_session", None)
    assert session is not None, "a screen route always has its session"  # role() checked it
    if is_automatic(request):
        await run_in_threadpool(
            screen_reads.refreshed, pars, who, session.id_hash, screen, list(keys)
        )
    else:
        await run_in_threadpool(screen_reads.viewed, pars, session.id_hash, screen, list(keys))
