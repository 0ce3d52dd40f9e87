"""Group commit (`pars.store.group_commit`): arrests entered at the same moment share one
transaction, each in its own savepoint. A command that fails takes back its own writes and
audit entries only, and answers only for itself; a failed COMMIT fails every command of the
batch and leaves nothing; many threads at once lose nothing and never hang."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from pars.domain.arrest import Arrest
from pars.domain.errors import InvalidInput
from pars.services import arrests as svc
from pars.services.app import Pars, Principal
from pars.services.audit_verify import verify
from pars.services.inputs import ArrestIn
from pars.store.uow import SqlUnitOfWork
from tests.conftest import rows
from tests.factories import arrest_body

OFFICER = Principal("officer1", "officer")
TABLES = ("arrests", "arrest_versions", "audit_log", "outbox", "identity_decisions")


class Boom(Exception):
    pass


def _counts(pars: Pars) -> dict[str, int]:
    return {t: len(rows(pars, t)) for t in TABLES}


def _otn_rows(pars: Pars) -> int:
    with pars.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM otn_sequence")).scalar_one())


def _body(last_name: str) -> ArrestIn:
    body = arrest_body()
    body["person"]["last_name"] = last_name
    return ArrestIn.model_validate(body)


def _wait_for(test: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not test():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class _Outcomes:
    """Commands run in threads; each one's result or exception by name."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.results: dict[str, Any] = {}

    def start(self, name: str, call: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                self.results[name] = call()
            except BaseException as e:  # the test looks at it
                self.results[name] = e

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> dict[str, Any]:
        for thread in self.threads:
            thread.join(timeout=30)
            assert not thread.is_alive(), f"{thread.name} never answered"
        return self.results


@contextmanager
def _one_batch(pars: Pars, outcomes: _Outcomes, names: list[str]) -> Iterator[None]:
    """Hold the group's lead with a command that waits, let `names` (started in the block)
    queue behind it, then let go: they run as one batch."""
    group = pars.intake_group
    held, running = threading.Event(), threading.Event()

    def hold(_uow: SqlUnitOfWork) -> None:
        running.set()
        held.wait(20)

    outcomes.start("holder", lambda: group.run(hold))
    _wait_for(running.is_set, "the holder to lead")
    batches = group.batches
    yield
    _wait_for(lambda: group.waiting == len(names), f"{len(names)} commands to queue")
    held.set()
    outcomes.join()
    assert group.batches == batches + 2, "the queued commands did not run as one batch"


def test_a_failing_command_takes_back_only_its_own_writes(
    pars: Pars, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = _counts(pars)
    svc.create_arrest(pars, OFFICER, _body("Before"), submit=True)
    before, otn_before = _counts(pars), _otn_rows(pars)
    one = {t: before[t] - start[t] for t in TABLES}  # the rows of one arrest, alone
    entered = svc.on_arrest_entered

    def failing_late(pars: Pars, uow: SqlUnitOfWork, arrest: Arrest, who: Principal) -> None:
        entered(pars, uow, arrest, who)  # the arrest, its OTN and its match are written
        last = arrest.document["person"]["last_name"]
        if last == "Refused":
            raise InvalidInput.one("/person/last_name", "refused after its writes")
        if last == "Broken":  # a statement error: on PostgreSQL it aborts the transaction
            uow.conn.exec_driver_sql("SELECT no_such_column FROM arrests")
        if last == "Bug":
            uow.flush()  # its arrest row is written, inside its savepoint
            raise Boom("a bug after the flush")

    monkeypatch.setattr(svc, "on_arrest_entered", failing_late)
    names = ["Good1", "Refused", "Good2", "Broken", "Bug", "Good3"]
    outcomes = _Outcomes()
    retried = pars.intake_group.retried
    with _one_batch(pars, outcomes, names):
        for name in names:
            outcomes.start(name, lambda n=name: svc.create_arrest(pars, OFFICER, _body(n), True))
    results = outcomes.results
    assert pars.intake_group.retried == retried + 1  # all together failed; then one by one

    assert isinstance(results["Refused"], InvalidInput)
    assert isinstance(results["Broken"], sa.exc.DBAPIError)
    assert isinstance(results["Bug"], Boom)
    good = [results[n] for n in ("Good1", "Good2", "Good3")]
    assert all(isinstance(a, Arrest) for a in good), good

    after = _counts(pars)
    stored = {r["id"]: r for r in rows(pars, "arrests")}
    assert {a.id for a in good} <= set(stored)
    # Each good arrest wrote what one arrest alone writes; the refusal, in its own transaction,
    # one audit row ("failure"); the other two failures raised no domain error and wrote none.
    assert one["arrests"] == 1
    assert {t: after[t] - before[t] for t in TABLES} == {
        t: 3 * one[t] + (1 if t == "audit_log" else 0) for t in TABLES
    }
    failures = [r for r in rows(pars, "audit_log") if r["outcome"] == "failure"]
    assert [(r["action"], r["subject"]) for r in failures] == [("arrest:created", None)]
    # The failed commands' OTN rows went with them (a PostgreSQL sequence still moves on, as
    # for any rolled-back transaction).
    assert _otn_rows(pars) == otn_before + 3
    assert [stored[a.id]["otn"] for a in good] == [a.otn for a in good]
    assert len({a.otn for a in good}) == 3
    assert verify(pars).ok


@contextmanager
def _statements(pars: Pars) -> Iterator[list[str]]:
    seen: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    sa.event.listen(pars.engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        sa.event.remove(pars.engine, "before_cursor_execute", on_execute)


def test_a_batch_in_which_nothing_fails_writes_each_table_once(pars: Pars, backend: str) -> None:
    svc.create_arrest(pars, OFFICER, _body("Before"), submit=True)
    before = _counts(pars)
    names = [f"Clean{n}" for n in range(5)]
    outcomes = _Outcomes()
    retried = pars.intake_group.retried
    with _statements(pars) as seen, _one_batch(pars, outcomes, names):
        for name in names:
            outcomes.start(name, lambda n=name: svc.create_arrest(pars, OFFICER, _body(n), True))
    assert all(isinstance(outcomes.results[n], Arrest) for n in names), outcomes.results
    assert pars.intake_group.retried == retried
    assert not [s for s in seen if "SAVEPOINT" in s]

    def count(what: str) -> int:
        return len([s for s in seen if what in s])

    assert count("INSERT INTO ARRESTS ") == 1  # the five arrests in one statement
    assert count("INSERT INTO ARREST_VERSIONS ") == 1
    assert count("INSERT INTO OUTBOX ") == 1
    assert count("INSERT INTO OTN_SEQUENCE ") == 1  # the five numbers taken at once
    numbers = sorted(int(r["n"]) for r in rows(pars, "otn_sequence"))
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no gap
    assert len({outcomes.results[n].otn for n in names}) == 5
    assert _counts(pars)["arrests"] == before["arrests"] + 5
    assert verify(pars).ok


def test_a_command_run_again_starts_from_its_input(
    pars: Pars, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An arrest linked automatically in the batch's first run (its document then carries the
    person) is matched and linked again in the second, not taken as already identified."""
    from tests.integration.test_identity import _arrest, _identified, auto_linking

    _, person = _identified(pars, "S1")
    auto = auto_linking(pars)
    entered = svc.on_arrest_entered

    def refuse_one(pars: Pars, uow: SqlUnitOfWork, arrest: Arrest, who: Principal) -> None:
        entered(pars, uow, arrest, who)
        if arrest.document["person"]["last_name"] == "Refused":
            raise InvalidInput.one("/person/last_name", "refused after its writes")

    monkeypatch.setattr(svc, "on_arrest_entered", refuse_one)
    outcomes = _Outcomes()
    with _one_batch(auto, outcomes, ["linked", "refused"]):
        outcomes.start("linked", lambda: _arrest(auto, aliases=[]))
        _wait_for(lambda: auto.intake_group.waiting == 1, "the first to queue")
        outcomes.start("refused", lambda: _arrest(auto, last_name="Refused", aliases=[]))
    assert auto.intake_group.retried == 1
    assert isinstance(outcomes.results["refused"], InvalidInput)
    linked = outcomes.results["linked"]
    decisions = [d for d in rows(pars, "identity_decisions") if d["arrest_id"] == linked]
    assert [(d["outcome"], d["person_id"]) for d in decisions] == [("auto_linked", person)]
    row = next(a for a in rows(pars, "arrests") if a["id"] == linked)
    assert (row["state"], row["person_id"]) == ("identified", person)
    assert verify(pars).ok


def test_a_failed_commit_fails_every_command_of_the_batch(
    pars: Pars, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc.create_arrest(pars, OFFICER, _body("Before"), submit=True)
    before = _counts(pars)
    outcomes = _Outcomes()
    names = ["A", "B", "C"]
    with _one_batch(pars, outcomes, names):
        original = pars.uow

        def failing_uow() -> SqlUnitOfWork:
            uow = original()
            uow.before_commit.append(lambda _conn: (_ for _ in ()).throw(Boom("at COMMIT")))
            return uow

        monkeypatch.setattr(pars, "uow", failing_uow)  # the holder's batch is already open
        for name in names:
            outcomes.start(name, lambda n=name: svc.create_arrest(pars, OFFICER, _body(n), True))
    assert all(isinstance(outcomes.results[n], Boom) for n in names), outcomes.results
    assert _counts(pars) == before
    monkeypatch.setattr(pars, "uow", original)
    svc.create_arrest(pars, OFFICER, _body("After"), submit=True)  # the group still works
    assert _counts(pars)["arrests"] == before["arrests"] + 1
    assert verify(pars).ok


def test_many_threads_at_once_lose_nothing(pars: Pars, backend: str) -> None:
    group = pars.intake_group
    batches, commands = group.batches, group.commands
    outcomes = _Outcomes()
    per_thread, threads = 6, 8

    def enter_several(t: int) -> list[str]:
        return [
            svc.create_arrest(pars, OFFICER, _body(f"T{t}N{n}"), submit=n % 2 == 0).otn
            for n in range(per_thread)
        ]

    for t in range(threads):
        outcomes.start(f"t{t}", lambda t=t: enter_several(t))
    results = outcomes.join()
    otns = [otn for t in range(threads) for otn in results[f"t{t}"]]
    assert len(set(otns)) == per_thread * threads
    assert {r["otn"] for r in rows(pars, "arrests")} == set(otns)
    assert group.commands - commands == per_thread * threads
    assert group.batches - batches <= per_thread * threads
    assert verify(pars).ok
