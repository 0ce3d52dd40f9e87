"""Automatic limited access on SQLite and PostgreSQL: `services.lifecycle`, `pars lifecycle run
[--dry-run]` and the relay's once-a-day run, with the injected clock."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pars.crypto import KeyRing
from pars.domain.clock import FakeClock
from pars.services.app import Pars
from pars.services.delivery.loop import relay_forever
from pars.services.lifecycle.limited_access import run, run_if_due
from pars.store.tables import metadata
from tests.conftest import AUDIT_SIGNING_KEY, KEYS, Api, rows
from tests.factories import approve_all, arrest_body
from tests.integration.cli import run_cli

ARRESTS = "/api/v1/arrests"
WAIT = timedelta(days=30)


def _submit(api: Api) -> str:
    r = api.as_("officer").post(f"{ARRESTS}?submit=true", json=arrest_body())
    assert r.status_code == 201, r.text
    aid: str = r.json()["id"]
    return aid


def _decline(api: Api) -> str:
    aid = _submit(api)
    r = api.as_("prosecutor").post(
        f"{ARRESTS}/{aid}/charging-decision", json={"outcome": "decline", "reason": "no case"}
    )
    assert r.json()["state"] == "declined", r.text
    return aid


def _charge(api: Api) -> str:
    aid = _submit(api)
    arrest = api.as_("prosecutor").get(f"{ARRESTS}/{aid}").json()
    r = api.as_("prosecutor").post(f"{ARRESTS}/{aid}/charging-decision", json=approve_all(arrest))
    assert r.json()["state"] == "charged", r.text
    return aid


def _dismiss(api: Api) -> str:
    aid = _charge(api)
    body = {"magistrate": "ACM Lee", "probable_cause_found": False}
    r = api.as_("magistrate").post(f"{ARRESTS}/{aid}/arraignment", json=body)
    assert r.json()["state"] == "dismissed", r.text
    return aid


def _divert(api: Api) -> str:
    aid = _submit(api)
    r = api.as_("prosecutor").post(
        f"{ARRESTS}/{aid}/charging-decision", json={"outcome": "divert", "reason": "program"}
    )
    assert r.json()["state"] == "diverted", r.text
    return aid


def _tables(pars: Pars) -> dict[str, list[dict[str, Any]]]:
    return {t.name: rows(pars, t.name) for t in metadata.sorted_tables}


def _states(pars: Pars) -> dict[str, str]:
    return {r["id"]: r["state"] for r in rows(pars, "arrests")}


def _runs(pars: Pars) -> list[dict[str, Any]]:
    return [r for r in rows(pars, "audit_log") if r["action"] == "lifecycle:run"]


def test_run_seals_on_the_day_of_eligibility_and_dry_run_changes_nothing(
    api: Api, backend: str, clock: FakeClock
) -> None:
    pars = api.pars
    declined = _decline(api)
    declined_at = clock.now()
    clock.advance(timedelta(hours=1))
    api.fresh_tokens()  # past the idle lock
    dismissed = _dismiss(api)
    dismissed_at = clock.now()
    charged = _charge(api)
    diverted = _divert(api)

    # The day before either is eligible: nothing.
    clock.set(declined_at + WAIT - timedelta(days=1))
    before = _tables(pars)
    report = run(pars, dry_run=True)
    assert (report.eligible, report.examined) == ([], 2)  # only declined and dismissed are read
    assert _tables(pars) == before

    # The day the declined case becomes eligible; the dismissed one an hour later.
    clock.set(declined_at + WAIT)
    assert [e.facts.arrest_id for e in run(pars, dry_run=True).eligible] == [declined]
    clock.set(dismissed_at + WAIT)
    before = _tables(pars)
    report = run(pars, dry_run=True)
    assert sorted(e.facts.arrest_id for e in report.eligible) == sorted([declined, dismissed])
    assert _tables(pars) == before  # a dry run writes nothing, not even an audit row

    report = run(pars)
    assert (report.sealed, report.failed) == (2, 0)
    states = _states(pars)
    assert (states[declined], states[dismissed]) == ("sealed", "sealed")
    assert (states[charged], states[diverted]) == ("charged", "diverted")
    log = rows(pars, "audit_log")
    seals = [r for r in log if r["action"] == "record:sealed"]
    assert {(r["actor"], r["subject"], r["outcome"]) for r in seals} == {
        ("lifecycle", declined, "success"),
        ("lifecycle", dismissed, "success"),
    }
    (entry,) = _runs(pars)
    assert entry["details"] | {} == {
        "rule": "pars.domain.limited_access:pennsylvania_clean_slate",
        "wait_days": 30,
        "examined": 2,
        "eligible": 2,
        "sealed": 2,
        "failed": 0,
    }
    sealed_events = [e for e in rows(pars, "outbox") if e["type"] == "pars.record.sealed"]
    assert sorted(e["subject"] for e in sealed_events) == sorted([declined, dismissed])
    api.fresh_tokens()
    for aid in (declined, dismissed):
        seal = api.as_("clerk").get(f"{ARRESTS}/{aid}").json()
        assert seal["state"] == "sealed"

    # Sealed records are no longer candidates: a second run finds nothing.
    again = run(pars)
    assert (again.examined, again.sealed) == (0, 0)


def test_a_replaced_rule_decides(api: Api, backend: str, clock: FakeClock) -> None:
    declined = _decline(api)
    diverted = _divert(api)
    spec = "tests.integration.lifecycle_rules:diverted_at_once"
    settings = api.pars.settings.model_copy(update={"limited_access_rule": spec})
    other = Pars(settings, clock=clock, keys=KeyRing(KEYS), engine=api.pars.engine)
    clock.advance(WAIT * 10)
    report = run(other)
    assert [e.facts.arrest_id for e in report.eligible] == [diverted]
    assert report.examined == 1  # the rule's candidate_states narrowed the query
    states = _states(api.pars)
    assert (states[diverted], states[declined]) == ("sealed", "declined")
    (entry,) = _runs(api.pars)
    assert entry["details"]["rule"] == spec


def test_run_if_due_runs_once_a_day(api: Api, backend: str, clock: FakeClock) -> None:
    pars = api.pars
    start = clock.now()
    assert run_if_due(pars) == start + timedelta(days=1)
    assert _runs(pars) == []  # nothing to seal: no entry
    first = _decline(api)
    clock.advance(timedelta(hours=12))
    api.fresh_tokens()
    second = _decline(api)  # eligible 12 hours after the first
    clock.set(start + WAIT)
    assert run_if_due(pars) == start + WAIT + timedelta(days=1)
    assert _states(pars)[first] == "sealed" and len(_runs(pars)) == 1
    clock.set(start + WAIT + timedelta(hours=12))  # the second is eligible, but a run sealed today
    assert run_if_due(pars) == start + WAIT + timedelta(days=1)
    assert _states(pars)[second] == "declined" and len(_runs(pars)) == 1
    clock.set(start + WAIT + timedelta(days=1))
    run_if_due(pars)  # due again: the entry is a day old
    assert _states(pars)[second] == "sealed" and len(_runs(pars)) == 2


def _rounds(n: int) -> Any:
    calls = [0]

    def stop() -> bool:
        calls[0] += 1
        return calls[0] > n

    return stop


def test_the_relay_applies_the_rule_once_a_day(api: Api, backend: str, clock: FakeClock) -> None:
    pars = api.pars
    start = clock.now()
    first = _decline(api)
    clock.advance(timedelta(hours=12))
    api.fresh_tokens()
    second = _decline(api)
    clock.set(start + WAIT)
    relay_forever(pars, interval=0.01, stop=_rounds(4))
    assert _states(pars)[first] == "sealed" and _states(pars)[second] == "declined"
    assert len(_runs(pars)) == 1
    # The second is eligible now, but a restarted relay reads in the log that a run sealed today.
    clock.set(start + WAIT + timedelta(hours=12))
    relay_forever(pars, interval=0.01, stop=_rounds(4))
    assert _states(pars)[second] == "declined" and len(_runs(pars)) == 1
    clock.set(start + WAIT + timedelta(days=1))
    relay_forever(pars, interval=0.01, stop=_rounds(4))
    assert _states(pars)[second] == "sealed" and len(_runs(pars)) == 2


def _cli_env(monkeypatch: pytest.MonkeyPatch, pars: Pars, tmp_path: Path) -> None:
    monkeypatch.setenv("PARS_DATABASE_URL", pars.settings.sqlalchemy_url)
    monkeypatch.setenv("PARS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PARS_ENCRYPTION_KEYS", KEYS)
    monkeypatch.setenv("PARS_AUDIT_SIGNING_KEY", AUDIT_SIGNING_KEY)
    # The command runs on the system clock; the fixtures' records are from 2026-11-20.
    monkeypatch.setenv("PARS_LIMITED_ACCESS_WAIT_DAYS", "0")


def test_cli_run_and_dry_run(
    api: Api,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pars = api.pars
    declined = _decline(api)
    charged = _charge(api)
    _cli_env(monkeypatch, pars, tmp_path)
    capsys.readouterr()
    before = _tables(pars)
    assert run_cli(monkeypatch, "lifecycle", "run", "--dry-run") == 0
    out = capsys.readouterr().out
    otn = next(r["otn"] for r in rows(pars, "arrests") if r["id"] == declined)
    assert declined in out and otn in out and "would seal 1 of 1 candidate records" in out
    assert charged not in out
    assert run_cli(monkeypatch, "lifecycle", "run", "--dry-run", "--json") == 0
    listed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert listed["dry_run"] is True and (listed["would_seal"], listed["sealed"]) == (1, 0)
    assert listed["examined"] == 1
    assert [e["arrest_id"] for e in listed["eligible"]] == [declined]
    assert _tables(pars) == before

    assert run_cli(monkeypatch, "lifecycle", "run", "--json") == 0
    done = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (done["dry_run"], done["sealed"], done["refused"]) == (False, 1, 0)
    assert _states(pars) == {declined: "sealed", charged: "charged"}
    assert len(_runs(pars)) == 1


def test_cli_refuses_an_invalid_rule_at_start(
    pars: Pars,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_env(monkeypatch, pars, tmp_path)
    monkeypatch.setenv("PARS_LIMITED_ACCESS_RULE", "pars.domain.nowhere:rule")
    before = _tables(pars)
    assert run_cli(monkeypatch, "lifecycle", "run") == 2
    err = capsys.readouterr().err
    assert "PARS_LIMITED_ACCESS_RULE='pars.domain.nowhere:rule'" in err and "cannot import" in err
    assert run_cli(monkeypatch, "relay") == 2  # every command that builds the app refuses it
    assert "PARS_LIMITED_ACCESS_RULE" in capsys.readouterr().err
    assert _tables(pars) == before
