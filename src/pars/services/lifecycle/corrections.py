"""A correction reaches the events still waiting in the outbox.

An event committed before a correction but relayed after it would be projected from the record
as it was at the event's version, with the value the correction replaced. The relay reads its
arrests through `as_corrected` instead: an arrest corrected after the event's version is
projected as of its latest correction, which is what `withhold.on_corrected` gives the copies
already queued when the correction commits (the corrected record, under the event's own type,
id and time). The whole corrected record rather than the corrected fields laid over the old
version: a correction's field names (`person`, `person.ssn`, `victims`, `charges`, ...) and the
values derived from them (whether the arrestee was a juvenile) need no mapping that could miss
one.

On PostgreSQL the relay's transaction and a correction's can overlap: the relay could read the
old version, the correction re-project the queued copies (not yet holding the relay's), and the
relay then queue the stale projection. `as_corrected` first takes a shared lock on the batch's
arrest rows, which every command holds exclusively (`ArrestRepository.get`) until it commits, so
one of the two always sees the other's rows. The same lock keeps a seal or expungement from
slipping between the relay's read and its insert. SQLite serialises writers already.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from pars.domain.arrest import Arrest, ArrestState
from pars.store.bulk import one_of, one_of_array
from pars.store.tables import arrests
from pars.store.uow import SqlUnitOfWork

__all__ = ["Corrected", "as_corrected"]

_CHUNK = 500
_CLOSED = (ArrestState.SEALED.value, ArrestState.EXPUNGED.value)


@dataclass(frozen=True)
class Corrected:
    """What the relay reads of a batch's arrests: each (arrest id, event version) as it is to
    be projected, and which of the arrests are sealed or expunged now."""

    arrests: dict[tuple[str, int], Arrest]
    closed: set[str]


def as_corrected(uow: SqlUnitOfWork, wanted: list[tuple[str, int]]) -> Corrected:
    """For each (arrest id, event version), the arrest to project for that event: at the
    event's version, or, if it was corrected after it, as of its latest correction. A version
    that no longer exists (expunged) is left out, as by `ArrestRepository.at_versions`. And
    which of them are sealed or expunged, read under the same lock. Two statements per 500
    arrests: the lock with the states, then the versions."""
    ids = sorted({arrest_id for arrest_id, _ in wanted})
    closed = {arrest_id for arrest_id, state in _share_lock(uow.conn, ids) if state in _CLOSED}
    return Corrected(uow.arrests.at_versions(wanted, corrected=True), closed)


def _share_lock(conn: sa.Connection, ids: list[str]) -> list[tuple[str, str]]:
    """The arrests' (id, state), under FOR KEY SHARE on PostgreSQL, in id order (so two
    lockers never wait on each other in a cycle); it conflicts only with the FOR UPDATE that
    commands take. A lock that waited for a command reads the state that command committed."""
    out: list[tuple[str, str]] = []
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        if postgres:
            found = conn.execute(_KEY_SHARE, {"ids": chunk})
        else:
            found = conn.execute(
                sa.select(arrests.c.id, arrests.c.state).where(one_of(conn, arrests.c.id, chunk))
            )
        out += [(r.id, r.state) for r in found]
    return out


_KEY_SHARE = (
    sa.select(arrests.c.id, arrests.c.state)
    .where(one_of_array(arrests.c.id, "ids"))
    .order_by(arrests.c.id)
    .with_for_update(read=True, key_share=True)
)  # built once: the ids go as one array
