"""Alembic environment: runs on the connection PARS hands it (see pars.store.engine.migrate)."""

from __future__ import annotations

from alembic import context

from pars.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - PARS always passes its own connection
    raise RuntimeError("run migrations through `pars init` (pars.store.engine.migrate)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
