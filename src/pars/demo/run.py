"""`pars demo`: a fresh database of synthetic arrests, then the API serving it.

It never touches real data: it rebuilds `<data_dir>/demo/pars.db` and its own key file, ignoring
`PARS_DATABASE_URL` and `PARS_ENCRYPTION_KEYS`. Each arrest (what it says: `pars.demo.data`) lives
through its commands on a `FakeClock`, all run in time order and none after the end of the history
(now, or `until`): recent arrests stay mid-process, and the latest three stop at submission, review
and decision so each work queue has work. A seed and an `until` give the same data.

Every command goes through its service handler, so validation, states, versions, audit rows and
outbox events are the API's. For speed (a third of the time: the default 90 days x 120 would take
five minutes), consecutive commands on different arrests share one transaction (at most
`_BATCH_COMMANDS`, within `_BATCH_SPAN`), written by the store's own flush, one statement per
table (`pars.demo.batched`, which only keeps the arrests in memory between batches). Each
command keeps its own version, audit row and events; only their commit instant (audit `at`,
outbox `time`, version `changed_at`) is the batch's, at most `_BATCH_SPAN` late. `batched=False`
commits every command on its own; the integration test compares the two.

Serving does not wait for the build (a minute or two on two cores): once the accounts and the
partners' agreements are in, the server starts and the history is built in a background thread,
the database's only writer of records meanwhile. Until it is done, every page says how far it has
come (`pars.demo.building`) and every change but signing in and out is refused with 503
(`pars.web.read_only`), so nothing a user does can race the build's arrests held in memory.
"""

from __future__ import annotations

import heapq
import random
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog

from pars.audit.checkpoint import Signer
from pars.config import Settings
from pars.crypto import KeyRing
from pars.demo.batched import BatchedPars
from pars.demo.building import BuildStatus
from pars.demo.data import DAY_FACTOR, Incident, Person, Synth
from pars.demo.sharing import TICK, DemoPartners
from pars.domain.arraignment import BailType
from pars.domain.arrest import Arrest, ArrestState, Custody, CustodyReason
from pars.domain.charging import CaseOutcome, top_grade
from pars.domain.clock import FakeClock
from pars.domain.roles import Role
from pars.logs import error_name
from pars.services import arrests as svc
from pars.services import inputs as i
from pars.services.app import Pars, Principal
from pars.services.audit import checkpoint
from pars.services.auth import add_user
from pars.store import tables
from pars.store.engine import migrate

__all__ = ["run_demo"]

_log = structlog.get_logger("pars.demo")
_BATCH_COMMANDS = 64
_BATCH_SPAN = timedelta(minutes=30)
_SESSION_HOURS = (0, 4, 8, 12, 16, 20)  # arraignment court sessions, court time, at half past
_NO_OUTSIDE_STORE = {"database_url": None, "encryption_keys": None, "audit_signing_key": None}
# The demo's printed logins work with a password alone; its sign-in page says two-factor is off.
_DEMO_ONLY = {"require_mfa": False}
S, R = ArrestState, CustodyReason


def run_demo(
    settings: Settings,
    days: int = 90,
    per_day: int = 120,
    serve: bool = True,
    host: str = "127.0.0.1",
    port: int = 8000,
    seed: int = 2026,
    *,
    until: datetime | None = None,
    batched: bool = True,
) -> int:
    """Build `<data_dir>/demo/pars.db` with `days` days of arrests (about `per_day` a day) ending
    at `until` (default: now) and print how to sign in. With `serve`, the API and the screens
    serve at once, while the history is built in a background thread: until it is done they
    answer every read, say on every page how far the build has come, and refuse changes."""
    if days < 1 or per_day < 1:
        raise ValueError("--days and --per-day must be at least 1")
    demo_dir = Path(settings.data_dir) / "demo"
    if settings.database_url or settings.encryption_keys:
        print("pars demo: ignoring PARS_DATABASE_URL, PARS_ENCRYPTION_KEYS", file=sys.stderr)
    demo_settings = settings.model_copy(
        update={"data_dir": demo_dir} | _NO_OUTSIDE_STORE | _DEMO_ONLY
    )
    demo_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (demo_dir / f"pars.db{suffix}").unlink(missing_ok=True)
    keys = KeyRing.load(None, demo_dir, create=True)
    (demo_dir / "audit-signing.key").unlink(missing_ok=True)
    Signer.load(None, demo_dir, create=True)
    end = (until or datetime.now(UTC)).astimezone(UTC)
    pars = BatchedPars(demo_settings, FakeClock(end - timedelta(days=days + 1)), keys)
    status = BuildStatus(days)
    try:
        migrate(pars.engine)
        passwords = {role.value: secrets.token_urlsafe(9) for role in Role}
        for name, password in passwords.items():
            add_user(pars, name, name, password, by="demo")
        sim = _Simulation(pars, random.Random(seed), end, days)  # noqa: S311 (not for secrets)
        sim.partners = DemoPartners(pars, sim.start, end)
        passwords |= sim.partners.owner_logins  # they approve, suspend and revoke agreements
    except BaseException:
        pars.engine.dispose()
        raise
    build = partial(_build, pars, sim, demo_dir, per_day, batched, status, not serve)
    if not serve:
        build()
        _sign_in_help(passwords, f"http://{host}:{port}", demo_dir, serve)
        return 0
    from pars.logs import configure
    from pars.web import server
    from pars.web.app import create_app

    _sign_in_help(passwords, f"http://{host}:{port}", demo_dir, serve)
    print(
        f"\nServing at http://{host}:{port} now. The {days} days of history are being built"
        " meanwhile: every page says how far the build has come, and changes are refused until"
        " it is done.",
        flush=True,
    )
    threading.Thread(target=build, name="pars-demo-build", daemon=True).start()
    configure(demo_settings.log_format, demo_settings.log_level)  # as `pars serve` does
    app = create_app(Pars(demo_settings, keys=keys), read_only=status.notice)
    server.run(app, demo_settings, host, port)
    return 0


def _build(
    pars: BatchedPars,
    sim: _Simulation,
    demo_dir: Path,
    per_day: int,
    batched: bool,
    status: BuildStatus,
    raise_errors: bool,
) -> None:
    """Draw the arrests, run the simulation, feed the partners, sign the log, and print the
    summary."""
    began = time.perf_counter()
    try:
        sim.plan(per_day)
        sim.run(batched, status, inline=raise_errors)
        sim.partners.deliver()  # type: ignore[union-attr]
        checkpoint(pars)  # sign the disclosure log as the demo left it
        _report(pars.engine, demo_dir, status.days, time.perf_counter() - began, sim)
        if not raise_errors:
            print("The demo is built: changes are taken from now on.", flush=True)
        status.finished()
    except BaseException as e:
        status.failed(error_name(e))
        if raise_errors:
            raise
        _log.exception("the demo's build stopped", error=error_name(e))
    finally:
        pars.engine.dispose()


# -- the simulation ----------------------------------------------------------------------------


@dataclass
class _Case:
    """One synthetic arrest: its report, where its story stops, the arrest as last seen."""

    n: int
    incident: Incident
    person: Person
    arrested_at: datetime
    body: dict[str, Any]
    report_at: datetime
    draft: bool = False
    stop: ArrestState | None = None  # left in this state to fill a work queue
    correcting: bool = False
    arrest: Arrest | None = None


Step = Callable[[_Case], None]


@dataclass(order=True)
class _Due:
    when: datetime
    seq: int
    case: _Case = field(compare=False)
    step: Step = field(compare=False)


class _Simulation:
    def __init__(self, pars: BatchedPars, rng: random.Random, end: datetime, days: int) -> None:
        self.pars, self.clock, self.rng = pars, pars.fake_clock, rng
        self.start, self.end, self.zone = end - timedelta(days=days), end, pars.settings.zone
        settings = pars.settings
        self.synth = Synth(rng, settings.collect_place_of_birth, settings.collect_citizenship)
        self.queue: list[_Due] = []
        self.cases: list[_Case] = []
        self.seq = self.commands = self.reported = 0
        self.seals_left = 0
        self.waits: list[float] = []  # hours from arrest to arraignment session
        self.partners: DemoPartners | None = None  # fed every TICK of simulated time

    def at(self, when: datetime, case: _Case, step: Step) -> None:
        """Run `step` on `case` at `when`, unless that is after the end of the history."""
        if when <= self.end:
            self.seq += 1
            heapq.heappush(self.queue, _Due(when, self.seq, case, step))

    def after(self, case: _Case, low_minutes: float, high_minutes: float, step: Step) -> None:
        minutes = self.rng.uniform(low_minutes, high_minutes)
        self.at(self.clock.now() + timedelta(minutes=minutes), case, step)

    def plan(self, per_day: int) -> None:
        """Draw every arrest of the period, pick drafts and queue-fillers, schedule reports."""
        rng, synth, zone = self.rng, self.synth, self.zone
        drawn: list[tuple[datetime, Incident]] = []
        day = self.start.astimezone(zone).date()
        while day <= self.end.astimezone(zone).date():
            for _ in range(max(0, round(per_day * DAY_FACTOR[day.weekday()] * rng.gauss(1, 0.08)))):
                incident = synth.incident()
                at = synth.arrest_time(day, zone, incident.night)
                if self.start <= at <= self.end:
                    drawn.append((at, incident))
            day += timedelta(days=1)
        for n, (at, incident) in enumerate(sorted(drawn, key=lambda d: d[0]), start=1):
            person = synth.person_for(incident, at.astimezone(zone).date())
            body = synth.report(incident, person, at.astimezone(zone), n)
            report_at = at + timedelta(minutes=rng.triangular(20, 180, 50))
            self.cases.append(_Case(n, incident, person, at, body, report_at))
        recent = [c for c in self.cases if c.arrested_at >= self.end - timedelta(days=1)]
        for case in rng.sample(recent, min(len(recent), max(2, len(self.cases) // 1500))):
            case.draft = True
        # The latest report stops at submission, the latest an hour old at the charging review
        # (opened within the hour), the latest six hours old at the decision (made by then).
        reported = sorted((c for c in self.cases if not c.draft), key=lambda c: c.report_at)[::-1]
        for stop, hours in ((S.SUBMITTED, 0), (S.CHARGING_REVIEW, 1), (S.CHARGED, 6)):
            cutoff = self.end - timedelta(hours=hours)
            found = next((c for c in reported if not c.stop and c.report_at <= cutoff), None)
            if found is not None:
                found.stop = stop
        self.seals_left = 3 if len(self.cases) >= 500 else 2
        for case in self.cases:
            self.at(case.report_at, case, self.report)

    def run(self, batched: bool, status: BuildStatus | None = None, inline: bool = True) -> None:
        """Run every due command in time order, in batches unless told not to."""
        touched: set[int] = set()  # the cases the open batch has changed
        first, progress = self.start, _Progress(self, status, inline)
        next_tick = self.start + TICK
        try:
            while self.queue:
                due = heapq.heappop(self.queue)
                if self.partners is not None and due.when >= next_tick:
                    self.pars.next_batch(open_next=False)  # partners see committed data only
                    self.clock.set(next_tick)
                    self.partners.deliver()
                    while next_tick <= due.when:
                        next_tick += TICK
                full = len(touched) >= _BATCH_COMMANDS or due.when - first > _BATCH_SPAN
                if batched and (full or due.case.n in touched or self.pars.batch is None):
                    self.pars.next_batch()
                    touched, first = set(), due.when
                self.clock.set(due.when)
                touched.add(due.case.n)
                due.step(due.case)
                self.commands += 1
                progress.tick()
        except BaseException:
            self.pars.next_batch(commit=False, open_next=False)
            raise
        self.pars.next_batch(open_next=False)
        progress.tick(last=True)

    # -- the commands, each scheduling what comes next --

    def _do(self, case: _Case, role: Role, handler: Callable[..., Arrest], *data: Any) -> Arrest:
        assert case.arrest is not None
        case.arrest = handler(self.pars, Principal(role.value, role.value), case.arrest.id, *data)
        return case.arrest

    def report(self, case: _Case) -> None:
        data = i.ArrestIn.model_validate(case.body)
        officer = Principal(Role.OFFICER.value, Role.OFFICER.value)
        case.arrest = svc.create_arrest(self.pars, officer, data, submit=not case.draft)
        self.reported += 1
        if case.draft or case.stop is S.SUBMITTED:
            return
        if self.rng.random() < 0.6:
            self.after(case, 10, 120, self.identify)
        if self.rng.random() < max(0.006, 3 / len(self.cases)):
            case.correcting = True  # a supervisor's review finds something to fix
            self.after(case, 30, 24 * 60, self.correct)
        self.after(case, 5, 60, self.open_review)

    def identify(self, case: _Case) -> None:
        p, r = case.person, self.rng
        fbi, local = r.random() < 0.7 and p.fbi_number, r.random() < 0.6 and p.local_person_id
        ids = i.IdentificationIn(state_id=p.state_id, fbi_number=fbi or None,
                                 local_person_id=local or None)  # fmt: skip
        self._do(case, Role.SUPERVISOR, svc.identify, ids)

    def open_review(self, case: _Case) -> None:
        self._do(case, Role.PROSECUTOR, svc.open_charging_review)
        if case.stop is not S.CHARGING_REVIEW:
            soonest = self.clock.now() + timedelta(minutes=self.rng.uniform(10, 45))
            decide_at = case.arrested_at + timedelta(hours=self.rng.triangular(1, 6, 2.5))
            self.at(max(decide_at, soonest), case, self.decide)

    def decide(self, case: _Case) -> None:
        """Decline 7%, divert 2%, else charge; then release for summons (30% of those the rule
        allows) or schedule the arraignment."""
        assert case.arrest is not None
        roll = self.rng.random()
        if roll < 0.09 and case.stop is not S.CHARGED:
            declined = roll < 0.07
            outcome = CaseOutcome.DECLINE if declined else CaseOutcome.DIVERT
            data = i.ChargingDecisionIn(outcome=outcome, reason=self.synth.outcome_reason(declined))
            self._do(case, Role.PROSECUTOR, svc.decide_charges, data)
            release = self._release(R.DECLINED if declined else R.DIVERTED, Role.SUPERVISOR, True)
            return self.after(case, 20, 180, release)
        synth, arrest = self.synth, case.arrest
        decisions = synth.charge_decisions(case.incident, arrest.charges, self.pars.catalogue)
        data = i.ChargingDecisionIn(charges=decisions)
        arrest = self._do(case, Role.PROSECUTOR, svc.decide_charges, data)
        if case.stop is S.CHARGED:
            return None
        if self.pars.release_rule(arrest.charges) is None and self.rng.random() < 0.3:
            return self.after(case, 5, 40, self.summons)
        return self.after(case, 10, 120, self.schedule)

    def summons(self, case: _Case) -> None:
        grade = top_grade(case.arrest.charges) if case.arrest else None
        reason = f"Most serious charge {grade.value if grade else '-'}; address verified"
        data = i.SummonsReleaseIn(reason=reason, no_threat=True, likely_to_appear=True)
        self._do(case, Role.PROSECUTOR, svc.release_for_summons, data)

    def schedule(self, case: _Case) -> None:
        """The next session at least 6 to 26 hours after the arrest (and after now)."""
        target = case.arrested_at + timedelta(hours=self.rng.triangular(6, 26, 12))
        after = max(target, self.clock.now() + timedelta(minutes=30)).astimezone(self.zone)
        days = (after.date(), after.date() + timedelta(days=1))
        slots = [datetime(d.year, d.month, d.day, h, 30, tzinfo=self.zone)
                 for d in days for h in _SESSION_HOURS]  # fmt: skip
        session = next(s for s in slots if s >= after)
        self._do(case, Role.CLERK, svc.schedule_arraignment, i.ScheduleIn(session_at=session))
        self.at(session + timedelta(minutes=self.rng.uniform(5, 75)), case, self.arraign)

    def arraign(self, case: _Case) -> None:
        """At the scheduled session; custody follows from the bail."""
        assert case.arrest is not None
        session = datetime.fromisoformat(case.arrest.document["arraignment_session"]["session_at"])
        grade, victims = top_grade(case.arrest.charges), bool(case.body["victims"])
        data = self.synth.arraignment(grade, victims, session.astimezone(self.zone).date())
        self._do(case, Role.MAGISTRATE, svc.arraign, data)
        self.waits.append((session - case.arrested_at) / timedelta(hours=1))
        bail = data.bail.type if data.bail else None
        if bail is None:
            self.after(case, 30, 120, self._release(R.NO_PROBABLE_CAUSE, Role.SUPERVISOR, True))
        elif bail is not BailType.MONETARY:
            reason = R.ROR if bail is BailType.ROR else R.BAIL_CONDITIONS
            self.after(case, 30, 240, self._release(reason, Role.SUPERVISOR))
        elif self.rng.random() < 0.5:
            self.after(case, 60, 24 * 60, self._release(R.BAIL_POSTED, Role.CLERK))
        else:
            self.after(case, 120, 480, self.commit_to_jail)

    def _release(self, reason: CustodyReason, role: Role, may_seal: bool = False) -> Step:
        def release(case: _Case) -> None:
            data = i.CustodyIn(status=Custody.RELEASED, reason=reason)
            self._do(case, role, svc.change_custody, data)
            if may_seal and self.seals_left > 0 and not case.correcting:
                self.seals_left -= 1  # a court later orders the record sealed
                room = (self.end - self.clock.now()) / timedelta(days=1)
                days = self.rng.uniform(2, 20) if room > 20 else self.rng.uniform(0.2, 0.9) * room
                self.at(self.clock.now() + timedelta(days=days), case, self.seal)

        return release

    def commit_to_jail(self, case: _Case) -> None:
        data = i.CustodyIn(status=Custody.COMMITTED, reason=R.BAIL_NOT_POSTED)
        self._do(case, Role.SUPERVISOR, svc.change_custody, data)
        if self.rng.random() < 0.2:  # bail posted later, from jail
            self.after(case, 24 * 60, 20 * 24 * 60, self._release(R.BAIL_POSTED, Role.CLERK))

    def seal(self, case: _Case) -> None:
        order = f"CP-51-MD-{case.n:07d}-{self.clock.now().year}"
        self._do(case, Role.CLERK, svc.seal, i.CourtOrderIn(order=order))

    def correct(self, case: _Case) -> None:
        reason, changes, by_officer = self.synth.correction(case.body["narrative"])
        data = i.CorrectionIn.model_validate({"reason": reason, "changes": changes})
        self._do(case, Role.OFFICER if by_officer else Role.CLERK, svc.correct, data)


# -- what the user sees ------------------------------------------------------------------------


class _Progress:
    """Simulated days done, arrests reported, commands a second: one updating line on stderr
    (`inline`), or, while the server logs to the same stderr, a line every ten seconds; and
    the same figures for the pages (`status`)."""

    def __init__(self, sim: _Simulation, status: BuildStatus | None, inline: bool) -> None:
        self.sim, self.status, self.inline = sim, status, inline
        self.began = self.shown = self.printed = time.perf_counter()

    def tick(self, last: bool = False) -> None:
        now, sim = time.perf_counter(), self.sim
        if last or now - self.shown >= 0.25:
            self.shown, days = now, (sim.end - sim.start).days
            done = min(days, (sim.clock.now() - sim.start).days)
            if self.status is not None:
                self.status.progress(done, sim.reported)
            if not (self.inline or last or now - self.printed >= 10):
                return
            self.printed = now
            rate = sim.commands / max(now - self.began, 1e-9)
            line = f"day {done}/{days}: {sim.reported:,} arrests, {sim.commands:,} commands"
            start, end = ("\r", "\n" if last else "") if self.inline else ("", "\n")
            print(f"{start}pars demo: {line} ({rate:,.0f}/s)  ", end=end, file=sys.stderr)


def _report(engine: sa.Engine, demo_dir: Path, days: int, seconds: float, sim: _Simulation) -> None:
    a, count, t = tables.arrests, sa.func.count(), tables
    with engine.connect() as conn:
        by_state, by_custody = (
            sa.select(a.c[k], count).group_by(a.c[k]) for k in ("state", "custody")
        )
        states: Counter[str] = Counter({state: n for state, n in conn.execute(by_state)})
        custody: dict[str, int] = {status: n for status, n in conn.execute(by_custody)}
        rows = {table.name: conn.execute(sa.select(count).select_from(table)).scalar_one()
                for table in (t.arrest_versions, t.audit_log, t.outbox, t.persons)}  # fmt: skip
    print(f"\nPARS demo: {states.total():,} arrests over {days} days, ", end="")
    print(f"{sim.commands:,} commands", end="")
    print(f" in {seconds:.1f} s\ndatabase: {demo_dir / 'pars.db'}\n\n  {'state':<24}{'arrests':>9}")
    for state in (s.value for s in ArrestState if states[s.value]):
        print(f"  {state:<24}{states[state]:>9,}")
    print("\n  custody: " + ", ".join(f"{k} {v:,}" for k, v in sorted(custody.items())))
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    if waits := sorted(sim.waits):
        median, longest = waits[len(waits) // 2], waits[-1]
        print(f"  arrest to arraignment: median {median:.1f} h, longest {longest:.1f} h")


def _sign_in_help(passwords: dict[str, str], base: str, demo_dir: Path, serve: bool) -> None:
    print(f"\n  {'username':<26}{'role':<18}password")
    for name, password in passwords.items():
        role = "privacy_officer" if name.startswith("owner_") else name
        print(f"  {name:<26}{role:<18}{password}")
    body = f'{{"username": "officer", "password": "{passwords["officer"]}"}}'
    print(f"\nGet a token:\n  curl -X POST {base}/api/v1/auth/token", end="")
    print(f" -H 'content-type: application/json' -d '{body}'\nAPI documentation: {base}/docs")
    print(f"Public transparency report: {base}/transparency")
    if not serve:
        print(f"Serve it with: PARS_DATA_DIR={demo_dir} pars serve")
    sys.stdout.flush()
