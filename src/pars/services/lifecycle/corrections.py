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

import sqlalchemy as sa

from pars.domain.arrest import Arrest
from pars.store.bulk import one_of
from pars.store.tables import arrest_versions, arrests
from pars.store.uow import SqlUnitOfWork

__all__ = ["as_corrected", "latest_corrections"]

_CHUNK = 500


def as_corrected(
    uow: SqlUnitOfWork, wanted: list[tuple[str, int]]
) -> dict[tuple[str, int], Arrest]:
    """For each (arrest id, event version), the arrest to project for that event: at the
    event's version, or, if it was corrected after it, as of its latest correction. A version
    that no longer exists (expunged) is left out, as by `ArrestRepository.at_versions`."""
    ids = sorted({arrest_id for arrest_id, _ in wanted})
    _share_lock(uow.conn, ids)
    latest = latest_corrections(uow.conn, ids)
    source = {
        (arrest_id, version): (arrest_id, max(version, latest.get(arrest_id, 0)))
        for arrest_id, version in set(wanted)
    }
    found = uow.arrests.at_versions(sorted(set(source.values())))
    return {key: found[at] for key, at in source.items() if at in found}


def latest_corrections(conn: sa.Connection, ids: list[str]) -> dict[str, int]:
    """The version of each arrest's latest correction, for those of `ids` ever corrected."""
    out: dict[str, int] = {}
    v = arrest_versions.c
    for start in range(0, len(ids), _CHUNK):
        q = (
            sa.select(v.arrest_id, sa.func.max(v.version))
            .where(one_of(conn, v.arrest_id, ids[start : start + _CHUNK]), v.action == "correct")
            .group_by(v.arrest_id)
        )
        out.update({arrest_id: int(version) for arrest_id, version in conn.execute(q)})
    return out


def _share_lock(conn: sa.Connection, ids: list[str]) -> None:
    """FOR KEY SHARE on the arrests' rows, in id order (so two lockers never wait on each
    other in a cycle); it conflicts only with the FOR UPDATE that commands take."""
    if conn.dialect.name != "postgresql":
        return
    for start in range(0, len(ids), _CHUNK):
        q = (
            sa.select(arrests.c.id)
            .where(one_of(conn, arrests.c.id, ids[start : start + _CHUNK]))
            .order_by(arrests.c.id)
            .with_for_update(read=True, key_share=True)
        )
        conn.execute(q).all()
