"""An ASGI factory for running the PARS API under `uvicorn --factory --workers N`.

`pars serve` has no worker count; this builds the same application from the same `PARS_*`
environment, so a benchmark can start several worker processes:

    uvicorn bench._app:create --factory --workers 2
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create"]


def create() -> FastAPI:
    """What `pars serve` runs: settings checked, logging configured, keys loaded."""
    from pars import heap
    from pars.config import Settings, check_environment
    from pars.crypto import KeyRing
    from pars.logs import configure
    from pars.services.app import Pars
    from pars.web.app import create_app

    check_environment()
    settings = Settings()
    configure(settings.log_format, settings.log_level)
    keys = KeyRing.load(settings.encryption_keys, settings.data_dir)
    pars = Pars(settings, keys=keys)
    pars.listen()  # as `pars serve` does: on PostgreSQL a relay's NOTIFY wakes SSE and long-polls
    app = create_app(pars)
    heap.settle()  # as `pars serve` does before it serves (pars.heap)
    return app
