"""The audit search's actor filter has its index on both stores, after the migrations, and the
database answers an actor's page from it: the query plan (EXPLAIN QUERY PLAN on SQLite,
EXPLAIN on PostgreSQL after ANALYZE) names the index (and on SQLite sorts nothing), on a log
of many actors written inside a transaction that is rolled back."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from pars.services.app import Pars
from pars.store.audit_search import LogQuery, search, search_query
from pars.store.tables import audit_log
from tests.conftest import START

INDEX = "ix_audit_log_actor_leaf_index"
ACTORS = 100
ROWS = 6000


def _fill(conn: sa.Connection) -> None:
    """ROWS entries from ACTORS actors, interleaved (leaf indexes far past the seeded log's)."""
    common = {"role": "clerk", "action": "arrest:read", "outcome": "success", "details": {}}
    conn.execute(
        sa.insert(audit_log),
        [
            common
            | {"at": START + timedelta(seconds=i), "actor": f"user{i % ACTORS}"}
            | {"leaf_index": 10**6 + i}
            for i in range(ROWS)
        ],
    )


def _plan(conn: sa.Connection, query: sa.Select[tuple[object, ...]]) -> str:
    compiled = query.compile(conn, compile_kwargs={"render_postcompile": True})
    if conn.dialect.name == "sqlite":
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
        found = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
        return "\n".join(str(r[-1]) for r in found)
    conn.exec_driver_sql("ANALYZE audit_log")
    found = conn.exec_driver_sql(f"EXPLAIN {compiled}", dict(compiled.params)).all()
    return "\n".join(str(r[0]) for r in found)


def test_the_actor_index_exists_after_migrating(pars: Pars, backend: str) -> None:
    indexes = sa.inspect(pars.engine).get_indexes("audit_log")
    assert {"name": INDEX, "columns": ["actor", "leaf_index"]} in [
        {"name": i["name"], "columns": i["column_names"]} for i in indexes
    ]


def test_an_actors_page_is_read_from_the_index(pars: Pars, backend: str) -> None:
    with pars.engine.connect() as conn, conn.begin() as tx:
        _fill(conn)
        for q in (LogQuery(actor="user7"), LogQuery(actor="user7", before=10**6 + 3000)):
            plan = _plan(conn, search_query(q, 51))
            assert INDEX in plan, plan
            if backend == "sqlite":  # in page order already: nothing to sort
                assert "TEMP B-TREE" not in plan, plan
            # (PostgreSQL may fetch an actor's few entries by bitmap and sort them: its choice.)
        # The page the index gives is the actor's newest entries, newest first.
        items, after = search(conn, LogQuery(actor="user7"), 50)
        leaves = [int(r["leaf_index"]) for r in items]
        assert leaves == [10**6 + i for i in range(ROWS - 1, -1, -1) if i % ACTORS == 7][:50]
        assert {r["actor"] for r in items} == {"user7"} and after == leaves[-1]
        tx.rollback()
