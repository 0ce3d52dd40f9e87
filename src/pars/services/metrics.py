"""What the operators' `/metrics` reports about the deployment, read at each scrape."""

from __future__ import annotations

from pars.services.app import Pars
from pars.store.metrics import OpsFigures, read_figures

__all__ = ["OpsFigures", "operational_figures"]


def operational_figures(pars: Pars) -> OpsFigures:
    """The relay's backlog, the delivery queues, the log and its checkpoint, the review queue
    and locked accounts, in one read-only transaction."""
    with pars.engine.connect() as conn, conn.begin():
        return read_figures(conn, pars.clock.now())
