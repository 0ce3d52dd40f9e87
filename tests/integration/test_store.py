"""Atomicity, encryption at rest, key rotation and the migrations, on both stores."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pars.crypto import DecryptionError, KeyRing, new_key_line
from pars.domain.errors import IllegalTransition
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.inputs import ArrestIn, ChargingDecisionIn, CorrectionIn, CourtOrderIn
from pars.services.keys import rotate
from pars.store.tables import metadata
from tests.conftest import KEYS, raw_rows, rows
from tests.factories import arrest_body

OFFICER = Principal("officer1", "officer")
PROSECUTOR = Principal("prosecutor1", "prosecutor")
SECRETS = ("123-45-6789", "Kingston", "Jane Roe", "14 Elm St", "Sam Poe", "JM")
TABLES = ("arrests", "arrest_versions", "audit_log", "outbox", "otn_sequence")


def _counts(pars: Pars) -> dict[str, int]:
    return {t: len(rows(pars, t)) for t in TABLES}


def _create(pars: Pars, submit: bool = True) -> str:
    return svc.create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit).id


class Boom(Exception):
    pass


def _explode(_conn: sa.Connection) -> None:
    raise Boom("injected after the state change, before COMMIT")


def test_failure_before_commit_leaves_nothing(
    pars: Pars, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = _create(pars)
    before = _counts(pars)
    version = rows(pars, "arrests")[0]["version"]
    original = pars.uow

    def failing_uow() -> Any:
        uow = original()
        uow.before_commit.append(_explode)
        return uow

    monkeypatch.setattr(pars, "uow", failing_uow)
    decision = ChargingDecisionIn.model_validate(
        {"charges": [{"charge_id": 1, "action": "approve"}, {"charge_id": 2, "action": "approve"}]}
    )
    with pytest.raises(Boom):
        svc.decide_charges(pars, PROSECUTOR, aid, decision)
    with pytest.raises(Boom):
        _create(pars)
    after = _counts(pars)
    assert after == before
    row = rows(pars, "arrests")[0]
    assert (row["state"], row["version"]) == ("submitted", version)


def test_refused_command_writes_only_its_audit_row(pars: Pars, backend: str) -> None:
    aid = _create(pars)
    before = _counts(pars)
    with pytest.raises(IllegalTransition):
        svc.submit(pars, OFFICER, aid)
    after = _counts(pars)
    assert after["audit_log"] == before["audit_log"] + 1
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
    last = rows(pars, "audit_log")[-1]
    assert (last["action"], last["outcome"], last["subject"]) == (
        "arrest:submitted",
        "failure",
        aid,
    )


def test_protected_fields_are_ciphertext_at_rest(pars: Pars, backend: str) -> None:
    aid = _create(pars)
    svc.correct(
        pars,
        OFFICER,
        aid,
        CorrectionIn.model_validate(
            {"reason": "ssn typo", "changes": {"person": {"ssn": "123-45-6780"}}}
        ),
    )
    for table in ("arrests", "arrest_versions", "outbox", "audit_log"):
        for row in raw_rows(pars, table):
            text = json.dumps({k: v for k, v in row.items() if k != "protected"}, default=str)
            for secret in (*SECRETS, "123-45-6780"):
                assert secret not in text, (table, secret)
            blob = row.get("protected")
            if blob is not None:
                blob = bytes(blob)
                assert blob.startswith(b"v1:test1:")
                # Long secrets only: random ciphertext holds a given 2-byte string now and then.
                for secret in (s for s in SECRETS if len(s) >= 8):
                    assert secret.encode() not in blob
    # And the application reads them back.
    with pars.uow() as uow:
        arrest = uow.arrests.get(aid, lock=False)
    assert arrest.protected["person"]["ssn"] == "123-45-6780"
    assert arrest.protected["victims"][0]["name"] == "Jane Roe"


def test_ciphertext_is_bound_to_its_record(pars: Pars) -> None:
    a, b = _create(pars), _create(pars)
    with pars.engine.begin() as conn:
        blob = conn.execute(sa.text("SELECT protected FROM arrests WHERE id=:i"), {"i": a}).scalar()
        conn.execute(sa.text("UPDATE arrests SET protected=:p WHERE id=:i"), {"p": blob, "i": b})
    with pytest.raises(DecryptionError), pars.uow() as uow:
        uow.arrests.get(b, lock=False)


def test_key_rotation(pars: Pars, backend: str) -> None:
    aid = _create(pars)
    new = new_key_line()
    pars.keys = KeyRing(f"{new},{KEYS}")
    assert rotate(pars) == 2  # the arrest row and its version row
    new_id = new.split(":")[0]
    for table in ("arrests", "arrest_versions"):
        for row in raw_rows(pars, table):
            assert bytes(row["protected"]).startswith(f"v1:{new_id}:".encode())
    assert rotate(pars) == 0
    pars.keys = KeyRing(new)  # the old key can now be dropped
    with pars.uow() as uow:
        assert uow.arrests.get(aid, lock=False).protected["person"]["ssn"] == "123-45-6789"


def test_keyring_rejects_bad_keys() -> None:
    with pytest.raises(ValueError, match="16 or 32 bytes"):
        KeyRing("k1:" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="key-id:base64"):
        KeyRing("nocolon")
    with pytest.raises(ValueError, match="no encryption key"):
        KeyRing(" , ")


def test_migrations_match_the_tables(pars: Pars, backend: str) -> None:
    with pars.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_expunge_destroys_versions(pars: Pars, backend: str) -> None:
    aid = _create(pars)
    svc.expunge(pars, Principal("clerk1", "clerk"), aid, CourtOrderIn(order="CP-51-MD-1-2026"))
    for row in rows(pars, "arrest_versions"):
        if row["version"] < 2:
            assert row["snapshot"] is None and row["protected"] is None
    arrest_row = rows(pars, "arrests")[0]
    assert arrest_row["protected"] is None
    assert arrest_row["last_name_key"] is None
    text = json.dumps(arrest_row["document"])
    for secret in ("Doe", "John", "1500 Market", "strike"):
        assert secret not in text


def test_a_reader_without_snapshot_runs_each_statement_alone(pars: Pars, backend: str) -> None:
    """`without_snapshot()` (the per-request token check): no transaction is opened (on
    PostgreSQL autocommit, on SQLite no BEGIN), and the pooled connection goes back to
    transactions afterwards."""
    idle, in_tx = psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS
    with pars.reader().without_snapshot() as reader:
        assert reader.users.revocation_version() >= 0
        raw = reader.conn.connection.driver_connection
        if backend == "postgres":
            assert raw.autocommit
            assert raw.info.transaction_status == idle
        else:
            assert not raw.in_transaction
    with pars.reader() as reader:
        reader.users.revocation_version()
        raw = reader.conn.connection.driver_connection
        if backend == "postgres":
            assert not raw.autocommit
            assert raw.info.transaction_status == in_tx
        else:
            assert raw.in_transaction
    if backend == "sqlite":
        with pars.uow() as uow:  # a writer's BEGIN IMMEDIATE
            assert uow.conn.connection.driver_connection.in_transaction
    with pytest.raises(RuntimeError):
        pars.uow().without_snapshot()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_statement_inside_an_open_copy_raises_and_nothing_is_written(
    pars: Pars, backend: str
) -> None:
    """The driver would wait for the COPY's end forever; copy_stream refuses instead, the COPY
    is abandoned, and the connection serves again once its transaction is rolled back."""
    from pars.store.bulk import CopyInProgress, copy_stream

    def tried_inside(conn: sa.Connection) -> None:
        with copy_stream(conn, "copied", ["n"]) as write:
            write((1,))
            conn.exec_driver_sql("SELECT 1")

    with pars.engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE copied (n integer)")
        with pytest.raises(CopyInProgress):
            tried_inside(conn)
        conn.rollback()
        conn.exec_driver_sql("CREATE TEMPORARY TABLE copied (n integer)")
        with copy_stream(conn, "copied", ["n"]) as write:
            write((2,))
            write((3,))
        assert conn.exec_driver_sql("SELECT n FROM copied ORDER BY n").scalars().all() == [2, 3]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_an_abandoned_copy_tells_the_server_only_the_exceptions_class(
    pars: Pars, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver sends the server the reason a COPY failed, and the server logs it: a block
    that raised with record data in its message (a projection's error) sends only the class."""
    from psycopg.copy import LibpqWriter

    from pars.store.bulk import copy_stream

    told: list[str] = []
    finish = LibpqWriter.finish

    def spy(self: LibpqWriter, exc: BaseException | None = None) -> None:
        told.append(f"{type(exc).__name__}: {exc}" if exc else "")
        finish(self, exc)

    monkeypatch.setattr(LibpqWriter, "finish", spy)

    def projected(conn: sa.Connection) -> None:
        with copy_stream(conn, "copied", ["n"]) as write:
            write((1,))
            raise ValueError(f"cannot project {SECRETS[0]}")

    with pars.engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE copied (n integer)")
        with pytest.raises(ValueError, match="cannot project"):
            projected(conn)
        conn.rollback()
    assert told == ["CopyAbandoned: ValueError"]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_outbox_rows_notify_the_relay_at_commit_only(pars: Pars, backend: str) -> None:
    """Migration 0016: the `outbox` trigger sends `pars_outbox` for any writer of the table,
    once the transaction commits and never for one rolled back; its downgrade removes it."""
    from pars.store.tables import outbox

    def event() -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()), "type": "test", "source": "test", "subject": "s",
            "time": pars.clock.now(), "arrest_version": 1, "data": {},
        }  # fmt: skip

    def write(conn: sa.Connection) -> None:
        conn.execute(sa.insert(outbox), [event(), event()])

    _notifies_at_commit_only(pars, "pars_outbox", [write], "0015")


def _notifies_at_commit_only(
    pars: Pars, channel: str, writes: list[Callable[[sa.Connection], None]], before: str
) -> None:
    """Each of `writes` notifies `channel` once its transaction commits: not before, and never
    for one rolled back. Downgraded to the revision `before` (the trigger's migration undone),
    a write notifies nothing; migrated again, it does."""
    from alembic import command

    from pars.store.engine import alembic_config, migrate

    def heard(listener: psycopg.Connection[Any]) -> int:
        return len(list(listener.notifies(timeout=0.5, stop_after=1)))

    conninfo = pars.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {channel}")
        for write in writes:
            with pars.engine.connect() as conn:
                write(conn)
                conn.rollback()
            assert heard(listener) == 0
            with pars.engine.begin() as conn:
                write(conn)
                assert heard(listener) == 0  # not before COMMIT
            assert heard(listener) == 1
        with pars.engine.begin() as conn:
            cfg = alembic_config(conninfo)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, before)
        with pars.engine.begin() as conn:
            writes[0](conn)
        assert heard(listener) == 0
        migrate(pars.engine)
        with pars.engine.begin() as conn:
            writes[-1](conn)
        assert heard(listener) == 1


def test_one_of_matches_in_on_both_backends_and_keeps_one_statement_text(
    pars: Pars, backend: str
) -> None:
    from pars.store.bulk import one_of
    from pars.store.tables import arrest_versions, arrests

    made = [
        svc.create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit=True)
        for _ in range(3)
    ]
    ids = [a.id for a in made]
    texts = set()
    with pars.engine.connect() as conn:
        for wanted in ([], ids[:1], ids, [*ids, str(uuid.uuid4())]):
            q = sa.select(arrests.c.id).where(one_of(conn, arrests.c.id, wanted))
            assert {r[0] for r in conn.execute(q)} == set(wanted) & set(ids)
            texts.add(str(q.compile(conn, compile_kwargs={"render_postcompile": True})))
        q = sa.select(arrest_versions.c.arrest_id).where(
            one_of(conn, arrest_versions.c.version, sorted({a.version for a in made})),
            one_of(conn, arrest_versions.c.arrest_id, ids),
        )
        assert sorted(r[0] for r in conn.execute(q)) == sorted(ids)
    if backend == "postgres":
        assert len(texts) == 1, texts  # the same statement whatever the number of ids


def test_at_versions_reads_exactly_the_pairs_asked(pars: Pars, backend: str) -> None:
    """Each (arrest, version) asked and no other: not the other versions of the same arrests,
    not the same versions of other arrests, nothing for a version that does not exist or
    was destroyed."""
    first, second, third = (_create(pars) for _ in range(3))  # submitted: v1
    assert svc.open_charging_review(pars, PROSECUTOR, second).version == 2
    svc.expunge(pars, Principal("clerk1", "clerk"), third, CourtOrderIn(order="CP-51-MD-1-2026"))
    wanted = [(first, 1), (second, 2), (second, 2), (first, 9), (third, 1), (str(uuid.uuid4()), 1)]
    with pars.reader() as uow:
        found = uow.arrests.at_versions(wanted)
        many = uow.arrests.at_versions([(first, 1)] * 3 + [(second, v) for v in (1, 2)] * 400)
        assert set(found) == {(first, 1), (second, 2)}
        assert found[first, 1].version == 1 and found[first, 1].id == first
        assert found[second, 2].version == 2
        assert found[second, 2].document == uow.arrests.get(second, lock=False).document
        assert set(many) == {(first, 1), (second, 1), (second, 2)}  # 803 asked, two chunks


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_copy_into_pars_tables_goes_binary_and_reads_back_the_same(
    pars: Pars, backend: str
) -> None:
    """The tables PARS copies into (the relay's deliveries, the disclosure log and its tree)
    go in COPY's binary format; what is read back is what was written, JSON text into both
    `json` and `jsonb`, instants, integers of every width and bytes included."""
    from datetime import UTC, datetime

    from pars.store.audit import _LOG_COLUMNS, _NODE_COLUMNS
    from pars.store.bulk import _binary_types, copy_rows, dumps_json
    from pars.store.tables import audit_log, audit_nodes, deliveries, partners

    delivery_columns = tuple(c.name for c in deliveries.c if c.name != "id")
    for table, columns in (
        ("deliveries", delivery_columns),
        ("audit_log", _LOG_COLUMNS),
        ("audit_nodes", _NODE_COLUMNS),
    ):
        assert _binary_types(table, columns) is not None, table
    assert _binary_types("not_a_pars_table", ("n",)) is None

    at = datetime(2026, 12, 7, 3, 4, 5, 678901, tzinfo=UTC)
    payload = {"tab": "a\tb", "newline": "a\nb", "slash": "a\\b", "quote": 'a"b', "é": "ü\u2603"}
    with pars.engine.begin() as conn:
        partner = conn.execute(sa.select(partners.c.id).limit(1)).scalar()
        if partner is None:
            partner = str(uuid.uuid4())
            conn.execute(
                sa.insert(partners).values(
                    id=partner, name="copy test", partner_class="court", created_at=at,
                    created_by="test",
                )
            )  # fmt: skip
        copy_rows(
            conn,
            "deliveries",
            ("partner_id", "agreement_id", "agreement_version", "event_id", "outbox_seq",
             "event_type", "subject", "status", "payload", "created_at", "transport",
             "next_attempt_at", "attempts"),
            [(partner, "ag-1", 3, "ev-1", 2**31 - 1, "pars.arrest.submitted", "s-1", "queued",
              dumps_json(payload), at, "webhook", None, 0)],
        )  # fmt: skip
        copy_rows(conn, "audit_nodes", ("level", "idx", "hash"), [(7, 2**40, b"\x00\x01\xff")])
        copy_rows(
            conn,
            "audit_log",
            _LOG_COLUMNS,
            [(at, "copy-test", None, "test:copy", None, "success", dumps_json(payload), None,
              None, None, None, None, None, None, None)],
        )  # fmt: skip
        row = conn.execute(sa.select(deliveries).where(deliveries.c.event_id == "ev-1")).one()
        assert (row.payload, row.created_at, row.outbox_seq) == (payload, at, 2**31 - 1)
        assert row.next_attempt_at is None and row.agreement_version == 3
        node = conn.execute(sa.select(audit_nodes).where(audit_nodes.c.level == 7)).one()
        assert (node.idx, node.hash) == (2**40, b"\x00\x01\xff")
        entry = conn.execute(sa.select(audit_log).where(audit_log.c.actor == "copy-test")).one()
        assert (entry.details, entry.at, entry.role) == (payload, at, None)
    with pars.engine.connect() as conn:  # a document not yet made text is refused, not mangled
        with pytest.raises(TypeError, match="its text, not dict"):
            copy_rows(
                conn,
                "audit_log",
                _LOG_COLUMNS,
                [
                    (
                        at,
                        "copy-test",
                        None,
                        "test:copy",
                        None,
                        "success",
                        payload,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                    )
                ],
            )
        conn.rollback()


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL's plan follows its statistics
def test_at_versions_looks_each_pair_up_by_key_on_sqlite(pars: Pars, backend: str) -> None:
    """SQLite's plan for the versions' query searches arrest_versions by its primary key, pair
    by pair: matched as row values (`IN (VALUES ...)`), it scanned the whole table."""
    from pars.store.arrests import _versions_query

    ids = [_create(pars) for _ in range(3)]
    for corrected in (False, True):  # with the latest correction's look-up too
        with pars.reader() as uow:
            compiled = _versions_query([(i, 1) for i in ids], corrected).compile(
                uow.conn, compile_kwargs={"render_postcompile": True}
            )
            plan = [
                row[3]
                for row in uow.conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params.values())
                )
            ]
        assert any(p.startswith("SEARCH arrest_versions USING") for p in plan), plan
        assert not any(p.startswith(("SCAN arrest_versions", "SCAN fixes")) for p in plan), plan
        assert not corrected or any(p.startswith("SEARCH fixes USING") for p in plan), plan


def test_at_versions_corrected_reads_the_latest_correction_under_the_pair_asked(
    pars: Pars, backend: str
) -> None:
    """With `corrected`, an arrest corrected after the version asked comes as of its latest
    correction, keyed by the pair asked; a version after every correction, or of an arrest
    never corrected, comes as it is; a destroyed one not at all. One statement per chunk."""
    fixed, plain, gone = (_create(pars) for _ in range(3))  # submitted: v1
    for n in (1, 2):
        svc.correct(
            pars, OFFICER, fixed,
            CorrectionIn.model_validate(
                {"reason": f"typo {n}", "changes": {"report_number": f"FIXED-{n}"}}
            ),
        )  # fmt: skip
    after = svc.open_charging_review(pars, PROSECUTOR, fixed).version  # v4: not a correction
    svc.expunge(pars, Principal("clerk1", "clerk"), gone, CourtOrderIn(order="CP-51-MD-1-2026"))
    wanted = [(fixed, 1), (fixed, 2), (fixed, after), (plain, 1), (gone, 1)]
    statements: list[str] = []
    sa.event.listen(
        pars.engine, "before_cursor_execute", lambda *a: statements.append(a[2]), named=False
    )
    with pars.reader() as uow:
        found = uow.arrests.at_versions(wanted, corrected=True)
        asked = uow.arrests.at_versions(wanted)
    assert len([s for s in statements if "arrest_versions" in s]) == 2
    assert set(found) == {(fixed, 1), (fixed, 2), (fixed, after), (plain, 1)}
    assert [found[fixed, v].version for v in (1, 2)] == [3, 3]  # the second correction
    assert found[fixed, 1].document["report_number"] == "FIXED-2"
    assert found[fixed, after].version == after and found[plain, 1].version == 1
    assert [asked[fixed, v].version for v in (1, 2)] == [1, 2]  # without: as asked


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_queued_deliveries_notify_the_feeds_at_commit_only(pars: Pars, backend: str) -> None:
    """Migration 0017: an insert into `deliveries` (the relay's COPY, or an executemany) sends
    `pars_queue` once its transaction commits, never for one rolled back; the downgrade
    removes the trigger."""
    from datetime import UTC, datetime

    from pars.store.relay import DeliveryRepository
    from pars.store.tables import partners

    at = datetime(2026, 12, 7, 3, 4, 5, tzinfo=UTC)
    partner = str(uuid.uuid4())
    with pars.engine.begin() as conn:
        conn.execute(
            sa.insert(partners).values(
                id=partner, name="notify test", partner_class="court", created_at=at,
                created_by="test",
            )
        )  # fmt: skip
    made = iter(range(10**6))

    def row() -> dict[str, Any]:
        return {
            "partner_id": partner, "agreement_id": "ag-1", "agreement_version": 1,
            "event_id": f"ev-{next(made)}", "outbox_seq": 1, "event_type": "test",
            "subject": "s", "created_at": at, "transport": "feed", "status": "queued",
            "payload": {"a": 1},
        }  # fmt: skip

    def streamed(conn: sa.Connection) -> None:  # one COPY, as the relay writes
        with DeliveryRepository(conn).stream() as sink:
            sink.add(row())
            sink.add(row())

    def enqueued(conn: sa.Connection) -> None:
        DeliveryRepository(conn).enqueue([row()])

    _notifies_at_commit_only(pars, "pars_queue", [streamed, enqueued], "0016")
