"""Key rotation: re-encrypt every protected value under the current (first) key."""

from __future__ import annotations

import sys

import sqlalchemy as sa

from pars.services.app import Pars
from pars.store.tables import arrest_versions, arrests
from pars.store.uow import AuditEntry

__all__ = ["rotate"]

_BATCH = 500


def rotate(pars: Pars, progress: bool = False) -> int:
    """Re-encrypt, in batches of committed transactions, every value not under the current key.
    Safe to interrupt and run again. Returns how many values were re-encrypted."""
    keys = pars.keys
    current = keys.current.encode()
    done = 0
    for table, pk in (
        (arrests, (arrests.c.id,)),
        (arrest_versions, (arrest_versions.c.arrest_id, arrest_versions.c.version)),
    ):
        aad_col = table.c.id if table is arrests else table.c.arrest_id
        while True:
            with pars.engine.begin() as conn:
                rows = conn.execute(
                    sa.select(*pk, aad_col.label("aad"), table.c.protected)
                    .where(table.c.protected.is_not(None))
                    .where(sa.func.substr(table.c.protected, 4, len(current) + 1) != current + b":")
                    .limit(_BATCH)
                ).all()
                for row in rows:
                    value = keys.decrypt(row.protected, row.aad)
                    cond = [c == row._mapping[c.name] for c in pk]
                    conn.execute(
                        sa.update(table).where(*cond).values(protected=keys.encrypt(value, row.aad))
                    )
            done += len(rows)
            if progress and rows:
                print(f"\r{table.name}: {done} re-encrypted", end="", file=sys.stderr)
            if len(rows) < _BATCH:
                break
    if progress:
        print(file=sys.stderr)
    pars.audit_now(AuditEntry("cli", "keys:rotated", details={"key": keys.current, "count": done}))
    return done
