"""Issue 12, the canary property: over random agreements (field classes, event types, feed or
webhook, start and end) and random lifecycles (create, correct, seal, expunge, relay, feed reads
and re-reads, webhook rounds, the ended-agreement sweep and the clock moving, interleaved), no
partner ever receives a canary of a record after the instant it was sealed or expunged, nor a
corrected field's old value after the correction. Checked after every step on the bytes each
partner received (feed pages over HTTP, webhook bodies) and on the raw `deliveries` table; at the
end of each example the log verifies and the transparency counts are the log's, and the log's
disclosures are what the partners received."""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import tempfile
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pars.config import Settings
from pars.crypto import KeyRing
from pars.domain.clock import FakeClock
from pars.domain.errors import DomainError
from pars.services import agreements as ag
from pars.services import arrests as svc
from pars.services import audit, transparency
from pars.services.app import Pars, Principal
from pars.services.audit_verify import verify
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.delivery.webhooks import deliver_webhooks
from pars.services.inputs import ArrestIn, CorrectionIn, CourtOrderIn, CustodyIn
from pars.store.transparency import COUNTED
from pars.web.app import create_app
from tests.conftest import AUDIT_SIGNING_KEY, KEYS, START, pg_database, raw_rows, rows
from tests.factories import active_agreement, arrest_body

OFFICER = Principal("officer1", "officer")
CLERK = Principal("clerk1", "clerk")
ORDER = CourtOrderIn(order="CP-51-MD-0001234-2026")
CLASSES = ["case", "identity", "contact", "narrative", "officer"]
EVENTS = [
    "pars.arrest.submitted",
    "pars.custody.changed",
    "pars.record.corrected",
    "pars.record.sealed",
    "pars.record.expunged",
]
FIELDS = ("last_name", "first_name", "address", "narrative")  # each holds a canary
CORRECTABLE = ("last_name", "address", "narrative")
_examples = itertools.count()


def _tag(arrest: int, field_: str, version: int) -> str:
    """A canary no other canary contains: letters only (names accept no digits), fenced."""
    letters = "abcdefghij"
    digits = "".join(letters[int(d)] for d in f"{arrest:03d}{FIELDS.index(field_)}{version:02d}")
    return f"Zq{digits}Zq"


class Hooks:
    """A webhook receiver for every partner (its name in the path): keeps each body, says 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append((self.path.rsplit("/", 1)[-1], body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    h = Hooks()
    yield h
    h.server.shutdown()
    h.server.server_close()


@dataclass
class World:
    """One example's application, partners and what each partner received."""

    pars: Pars
    clock: FakeClock
    client: TestClient
    hooks: Hooks
    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)  # name: id, headers, cursor
    webhooks: dict[str, str] = field(default_factory=dict)  # name: partner id
    arrests: list[str] = field(default_factory=list)
    values: list[dict[str, str]] = field(default_factory=list)  # each arrest's current canaries
    used: list[set[str]] = field(default_factory=list)  # every canary each arrest ever held
    forbidden: set[str] = field(default_factory=set)
    received: Counter[str] = field(default_factory=Counter)  # partner id: items received
    seen_hooks: int = 0


@contextlib.contextmanager
def _database(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """A fresh copy of the migrated, seeded template database for one example."""
    n = next(_examples)
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        folder = Path(tempfile.mkdtemp(prefix=f"canary{n}_"))
        try:
            shutil.copy(template, folder / "pars.db")
            yield f"sqlite:///{folder / 'pars.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    admin_url, template_name = request.getfixturevalue("pg_template")
    with pg_database(admin_url, f"pars_canary{n}_{uuid.uuid4().hex[:6]}", template_name) as url:
        yield url


agreement_specs = st.lists(
    st.fixed_dictionaries(
        {
            "transport": st.sampled_from(["feed", "webhook"]),
            "granted": st.lists(st.sampled_from(CLASSES), min_size=1, max_size=5, unique=True),
            "events": st.lists(st.sampled_from(EVENTS), min_size=1, max_size=5, unique=True),
            "starts": st.integers(-24, 6),  # hours from the start
            "hours": st.integers(1, 48),
        }
    ),
    min_size=1,
    max_size=3,
)
steps = st.lists(
    st.one_of(
        st.just(("create",)),
        st.tuples(st.just("correct"), st.integers(0, 9), st.sampled_from(CORRECTABLE)),
        st.tuples(st.just("custody"), st.integers(0, 9)),
        st.tuples(st.just("seal"), st.integers(0, 9)),
        st.tuples(st.just("expunge"), st.integers(0, 9)),
        st.just(("relay",)),
        st.tuples(st.just("serve"), st.integers(0, 2), st.booleans()),
        st.just(("push",)),
        st.just(("sweep",)),
        st.tuples(st.just("advance"), st.integers(1, 12)),
    ),
    min_size=4,
    max_size=12,
)


def _setup(w: World, specs: list[dict[str, Any]]) -> None:
    for i, spec in enumerate(specs):
        name = f"P{i}"
        partner_id, key = ag.add_partner(w.pars, name, "prosecutor")
        starts = START + timedelta(hours=spec["starts"])
        ends = max(starts + timedelta(hours=spec["hours"]), START + timedelta(hours=1))
        fields: dict[str, Any] = {"event_types": spec["events"], "granted": spec["granted"]}
        if spec["transport"] == "webhook":
            ag.set_webhook_secret(w.pars, name)
            fields |= {"transport": "webhook", "webhook_url": f"{w.hooks.url}/{name}"}
            w.webhooks[name] = partner_id
        else:
            w.feeds[name] = {
                "id": partner_id,
                "headers": {"Authorization": f"Bearer {key}"},
                "cursor": "0",
            }
        active_agreement(w.pars, name, starts_at=starts, ends_at=ends, **fields)


def _create(w: World) -> None:
    n = len(w.arrests)
    values = {f: _tag(n, f, 0) for f in FIELDS}
    body = arrest_body(
        person={
            "last_name": values["last_name"],
            "first_name": values["first_name"],
            "date_of_birth": "1990-04-02",
            "address": f"12 {values['address']} St, Philadelphia PA 19107",
        },
        narrative=f"Officer observed {values['narrative']} at the scene.",
    )
    arrest = svc.create_arrest(w.pars, OFFICER, ArrestIn.model_validate(body), submit=True)
    w.arrests.append(arrest.id)
    w.values.append(values)
    w.used.append(set(values.values()))


def _correct(w: World, i: int, field_: str) -> None:
    old = w.values[i][field_]
    new = _tag(i, field_, int(old[-4:-2].translate(str.maketrans("abcdefghij", "0123456789"))) + 1)
    if field_ == "narrative":
        changes: dict[str, Any] = {"narrative": f"Officer observed {new} at the scene."}
    elif field_ == "address":
        changes = {"person": {"address": f"12 {new} St, Philadelphia PA 19107"}}
    else:
        changes = {"person": {field_: new}}
    change = CorrectionIn.model_validate({"reason": "wrong at booking", "changes": changes})
    svc.correct(w.pars, CLERK, w.arrests[i], change)
    w.values[i][field_] = new
    w.used[i].add(new)
    w.forbidden.add(old)  # from this instant on, nobody receives it


def _serve(w: World, p: int, reread: bool) -> list[bytes]:
    if not w.feeds:
        return []
    partner = list(w.feeds.values())[p % len(w.feeds)]
    after = "0" if reread else partner["cursor"]
    r = w.client.get("/api/v1/feed", params={"after": after}, headers=partner["headers"])
    assert r.status_code == 200, r.text
    page = r.json()
    w.received[partner["id"]] += len(page["items"])
    if not reread:
        partner["cursor"] = page["next_cursor"]
    return [r.content]


def _step(w: World, step: tuple[Any, ...]) -> list[bytes]:
    """Run one step; the bytes partners received during it."""
    kind = step[0]
    pick = (lambda: step[1] % len(w.arrests)) if w.arrests else None
    try:
        if kind == "create":
            _create(w)
        elif kind == "correct" and pick:
            _correct(w, pick(), step[2])
        elif kind == "custody" and pick:
            change = CustodyIn.model_validate({"status": "released", "reason": "ror"})
            svc.change_custody(w.pars, CLERK, w.arrests[pick()], change)
        elif kind in ("seal", "expunge") and pick:
            i = pick()
            (svc.seal if kind == "seal" else svc.expunge)(w.pars, CLERK, w.arrests[i], ORDER)
            w.forbidden |= w.used[i]  # every value the record ever held
        elif kind == "relay":
            while relay_once(w.pars):
                pass
        elif kind == "serve":
            return _serve(w, step[1], step[2])
        elif kind == "push":
            deliver_webhooks(w.pars)
        elif kind == "sweep":
            withhold_ended(w.pars)
        elif kind == "advance":
            w.clock.advance(timedelta(hours=step[1]))
    except DomainError:
        pass  # refused (a sealed record corrected, a custody already changed): nothing changed
    new = w.hooks.received[w.seen_hooks :]
    w.seen_hooks = len(w.hooks.received)
    for name, _ in new:
        w.received[w.webhooks[name]] += 1
    return [body for _, body in new]


def _check(w: World, received: list[bytes], step: tuple[Any, ...]) -> None:
    for body in received:
        leaked = {c for c in w.forbidden if c.encode() in body}
        assert not leaked, f"{step}: a partner received {sorted(leaked)}"
    stored = json.dumps(raw_rows(w.pars, "deliveries"), default=str)
    leaked = {c for c in w.forbidden if c in stored}
    assert not leaked, f"{step}: the deliveries table holds {sorted(leaked)}"


def _check_log(w: World) -> None:
    audit.checkpoint(w.pars)
    report = verify(w.pars)
    assert report.ok, report.problems
    log = rows(w.pars, "audit_log")
    # The log's disclosures are what the partners received, item for item.
    sent = Counter(
        str(a["subject"])
        for a in log
        if a["action"] in ("disclosure:delivered", "disclosure:redelivered")
    )
    assert sent == +w.received
    # And the transparency report's counts are the log's.
    data = transparency.report(w.pars)
    disclosed: dict[tuple[str, str, str], int] = defaultdict(int)
    withheld: dict[tuple[str, str], int] = defaultdict(int)
    recalls: dict[tuple[str, str, str], int] = defaultdict(int)
    owner = {r["id"]: r["partner_id"] for r in rows(w.pars, "agreements")}
    for a in log:
        month = a["at"].strftime("%Y-%m")
        if a["action"] in COUNTED:
            for cls in (a["classes"] or "none").split(","):
                disclosed[(a["subject"], month, cls)] += 1
        elif a["action"] == "disclosure:withheld":
            partner = (
                a["subject"] if a["subject"] in owner.values() else owner.get(a["agreement_id"])
            )
            withheld[(partner, month)] += a["details"]["count"]
        elif a["action"] in ("recall:sent", "recall:attested"):
            recalls[(a["subject"], month, a["action"])] += 1
    shown = transparency.shown
    assert sorted(
        (d["partner_id"], d["month"], d["field_class"], d["disclosures"])
        for d in data["disclosures"]
    ) == sorted((*k, shown(n)) for k, n in disclosed.items())
    assert sorted((d["partner_id"], d["month"], d["withheld"]) for d in data["withheld"]) == sorted(
        (*k, shown(n)) for k, n in withheld.items()
    )
    assert sorted(
        (d["partner_id"], d["month"], d["recalls_sent"], d["recalls_attested"])
        for d in data["recalls"]
    ) == sorted(
        (p, m, shown(recalls[(p, m, "recall:sent")]), shown(recalls[(p, m, "recall:attested")]))
        for p, m in {(p, m) for p, m, _ in recalls}
    )


# Bounded: a few examples of a dozen steps each (every step is a real transaction); no
# shrinking, which re-runs whole lifecycles (a failure prints its example as drawn).
@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=agreement_specs, plan=steps)
def test_no_partner_receives_a_closed_or_corrected_value(
    request: pytest.FixtureRequest,
    backend: str,
    hooks: Hooks,
    specs: list[dict[str, Any]],
    plan: list[tuple[Any, ...]],
) -> None:
    hooks.received.clear()
    clock = FakeClock(START)
    with _database(request, backend) as url, tempfile.TemporaryDirectory() as data_dir:
        settings_ = Settings(
            data_dir=Path(data_dir),
            database_url=url,
            audit_signing_key=AUDIT_SIGNING_KEY,
            webhook_allowlist="127.0.0.1",
            webhook_timeout_seconds=2,
        )
        pars = Pars(settings_, clock=clock, keys=KeyRing(KEYS))
        try:
            w = World(pars, clock, TestClient(create_app(pars)), hooks)
            _setup(w, specs)
            # Every plan starts with a record and ends with everything relayed and served.
            tail = [("relay",), ("push",)] + [("serve", p, False) for p in range(len(w.feeds))]
            for step in [("create",), *plan, *tail]:
                _check(w, _step(w, step), step)
            _check_log(w)
        finally:
            pars.engine.dispose()
