"""The disclosure log's frontier (`pars.store.audit.Frontier`): the nodes an append needs are
kept in each process once committed, and the tree stays right when several processes append
to one database, when an append rolls back, and when the frontier is out of date."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from pars.domain.clock import FakeClock
from pars.services.app import Pars
from pars.services.audit_verify import verify
from pars.store.audit import AuditRow, frontier, log_size
from pars.store.tables import audit_nodes


def _append(pars: Pars, count: int) -> list[int]:
    with pars.uow() as uow:
        for n in range(count):
            uow.audit(AuditRow("test", "test:event", details={"n": n}))
        uow.commit()
        return uow.leaves


@contextmanager
def _node_reads(pars: Pars) -> Iterator[list[str]]:
    seen: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "audit_nodes" in statement:
            seen.append(statement)

    sa.event.listen(pars.engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        sa.event.remove(pars.engine, "before_cursor_execute", on_execute)


def _size(pars: Pars) -> int:
    with pars.engine.connect() as conn:
        return log_size(conn)


def _stored_nodes(pars: Pars) -> int:
    with pars.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(audit_nodes)).scalar_one())


def test_a_warm_append_reads_no_node_from_the_database(pars: Pars, backend: str) -> None:
    for count in (1, 3, 2, 5, 1, 1, 4):
        _append(pars, count)
    with _node_reads(pars) as reads:
        for count in (3, 1, 2, 7, 3):
            _append(pars, count)
    assert reads == []
    assert verify(pars).ok


def test_appends_from_processes_sharing_a_database_keep_the_tree_right(
    pars: Pars, backend: str, clock: FakeClock
) -> None:
    """Two Pars objects on one database stand for two processes: each has its own frontier,
    which the other's appends make stale. Every stored node must still follow the definition
    (`pars audit verify` recomputes each), and a stale frontier falls back to the database."""
    other = Pars(pars.settings, clock=clock, keys=pars.keys)
    try:
        assert frontier(other.engine) is not frontier(pars.engine)
        pattern = [(pars, 3), (other, 1), (other, 2), (pars, 1), (other, 5), (pars, 2)] * 6
        start = _size(pars)
        with _node_reads(pars) as reads:
            for who, count in pattern:
                _append(who, count)
        assert reads, "the other process's appends should have sent this one to the database"
        assert _size(pars) == start + sum(c for _, c in pattern)
        report = verify(pars)
        assert report.ok, report.problems
    finally:
        other.engine.dispose()


def test_a_rolled_back_append_leaves_the_frontier_as_it_was(pars: Pars, backend: str) -> None:
    _append(pars, 3)
    start = _size(pars)
    edge = frontier(pars.engine)
    before = edge.known_nodes()
    nodes_before = _stored_nodes(pars)

    def fail(conn: sa.Connection) -> None:
        raise RuntimeError("injected before COMMIT")

    with pars.uow() as uow:
        for n in range(5):
            uow.audit(AuditRow("test", "test:rolled-back", details={"n": n}))
        uow.before_commit.append(fail)
        with pytest.raises(RuntimeError):
            uow.commit()
    assert edge.known_nodes() == before
    assert _stored_nodes(pars) == nodes_before
    assert _size(pars) == start
    # The same leaf numbers are taken again, by other entries, with other hashes.
    for count in (2, 3, 1):
        _append(pars, count)
    assert _size(pars) == start + 6
    report = verify(pars)
    assert report.ok, report.problems
