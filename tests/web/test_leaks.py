"""What partners really receive, end to end, under random agreements and random lifecycles.

For each example: two partners of random classes, each with one to three agreements (random
grants by class, subtree and leaf; random event types; random transports; some ending part-way),
and two arrests (an adult's and a juvenile's) taken through the whole workflow through the API by
several staff members, with a distinct canary in every field staff can type, then corrected,
sealed or expunged at random. After every step the relay runs and every transport is drained.
Then, on the bytes each partner received (feed pages, SSE, webhook requests with their headers,
NATS messages with subject and headers):
- every leaf of every CloudEvent's data is one its agreement grants and the policy allows;
- a canary appears only where some agreement of that partner allows its leaf;
- no staff username appears anywhere, nor anything of the juvenile's record;
- no event committed at or after an agreement's end was delivered under it, and once every
  agreement has ended nothing more leaves at all.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pars.config import Settings
from pars.crypto import KeyRing
from pars.domain.clock import FakeClock
from pars.domain.errors import InvalidInput
from pars.domain.events import EVENT_TYPES
from pars.services import agreements as ag
from pars.services.app import Pars
from pars.services.auth import add_user
from pars.services.delivery.nats import deliver_nats
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.delivery.webhooks import deliver_webhooks
from pars.sharing.fields import (
    ARREST_FIELDS,
    NEVER_DISCLOSED,
    SENSITIVE_CLASSES,
    FieldClass,
    field_paths,
)
from pars.sharing.policy import PARTNER_CLASSES
from pars.web.app import create_app
from tests.conftest import KEYS, PASSWORD, Api
from tests.factories import START, active_agreement, arraignment_body, arrest_body

_n = itertools.count()
# Canaries typed by staff, each with the leaf it sits in.
_RECALL_KEYS = {"recall", "happened", "action", "arrest_id", "otn", "receipts"}
CANARIES: dict[str, str] = {
    "Qcanlast": "person.last_name",
    "Qcanalias": "person.aliases[].last_name",
    "Qcanscar": "person.scars_marks_tattoos[]",
    "Qcanhome": "person.address",
    "Qcanpob": "person.place_of_birth",
    "Qcancit": "person.citizenship",
    "547-65-4320": "person.ssn",
    "Qcannarr": "narrative",
    "Qcanvictim": "victims[].name",
    "Qcanwitness": "witnesses[].name",
    "Qcanofficer": "arresting_officer.name",
    "Qcanunit": "units.arresting",
    "Qcanplace": "location.address",
    "Qcanchgnote": "charging.notes",
    "Qcanwhy": "charges[].decision_reason",
    "Qcancond": "arraignment.bail.conditions[]",
    "Qcanarrnote": "arraignment.notes",
    "Qcancust": "custody_changes[].note",
    "Qcanfix": "narrative",
}
SUBTREES = ["person", "charges", "custody_changes", "arraignment", "charging", "person.aliases"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The webhooks here go to a fake sender under a made-up host name the allow-list names.
    return {"webhook_allowlist": "partner"}


def _arrest(juvenile: bool) -> dict[str, Any]:
    body = arrest_body(
        narrative="Qcannarr",
        victims=[{"name": "Qcanvictim"}],
        witnesses=[{"name": "Qcanwitness"}],
    )
    body["location"]["address"] = "1 Qcanplace Sq"
    body["arresting_officer"]["name"] = "Qcanofficer"
    body["units"]["arresting"] = "Qcanunit"
    body["person"].update(
        {
            "last_name": "Qcanlast",
            "aliases": [{"last_name": "Qcanalias", "first_name": "A"}],
            "scars_marks_tattoos": ["Qcanscar"],
            "address": "2 Qcanhome St",
            "place_of_birth": "Qcanpob",
            "citizenship": "Qcancit",
            "ssn": "547-65-4320",
            "date_of_birth": "2011-03-01" if juvenile else "1990-04-02",
        }
    )
    return body


def _may(path: str, granted: list[str], permitted: frozenset[FieldClass]) -> bool:
    """Independently of the projection: may `path` leave under this grant and policy (no
    sensitive class is ever approved here)?"""
    cls = ARREST_FIELDS[path]
    if cls in NEVER_DISCLOSED or cls in SENSITIVE_CLASSES or cls not in permitted:
        return False
    return (
        cls.value in granted
        or path in granted
        or any(path.startswith((f"{g}.", f"{g}[]")) for g in granted)
    )


class Partners:
    """This example's partners, their agreements, and every byte each one received."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.keys: dict[str, str] = {}  # partner id -> feed key
        self.agreements: dict[str, dict[str, Any]] = {}  # agreement id -> its document
        self.received: dict[str, list[bytes]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.hooks: dict[str, str] = {}  # webhook URL -> partner id
        self.cursors: dict[str, str] = {}  # partner id -> feed cursor
        self.sse: dict[str, str] = {}  # partner id -> SSE cursor

    def add(self, data: st.DataObject, n: int, i: int) -> None:
        partner_class = data.draw(st.sampled_from(PARTNER_CLASSES))
        name = f"leak-{n}-{i}"
        pid, key = ag.add_partner(self.api.pars, name, partner_class)
        ag.set_webhook_secret(self.api.pars, name)
        self.keys[pid], self.received[pid], self.events[pid] = key, [], []
        permitted = self.api.pars.policy.may_grant(partner_class)
        # Classes, subtrees and single leaves equally likely (leaves outnumber the rest).
        grants = st.one_of(
            st.sampled_from(sorted(c.value for c in permitted)),
            st.sampled_from(SUBTREES),
            st.sampled_from(sorted(ARREST_FIELDS)),
        )
        for j in range(data.draw(st.integers(1, 3))):
            granted = data.draw(st.lists(grants, min_size=1, max_size=5, unique=True))
            types = data.draw(
                st.lists(st.sampled_from(sorted(EVENT_TYPES)), min_size=4, unique=True)
            )
            transport = data.draw(st.sampled_from(["feed", "webhook", "nats"]))
            ends = START + timedelta(hours=data.draw(st.sampled_from([3, 8, 24 * 20])))
            hook = f"http://partner/{name}/{j}"
            extra: dict[str, Any] = {"webhook_url": hook} if transport == "webhook" else {}
            if data.draw(st.booleans()):
                extra["lookup"] = {
                    "identifiers": ["otn"],
                    "per_minute": 600,
                    "purposes": ["leak-test"],
                }
            try:
                aid = active_agreement(
                    self.api.pars, name, granted=granted, event_types=types,
                    transport=transport, ends_at=ends, **extra,
                )  # fmt: skip
            except InvalidInput:
                continue  # refused at creation (policy, staff data): nothing can go under it
            self.hooks[hook] = pid
            self.agreements[aid] = {"granted": granted, "permitted": permitted, "ends": ends}

    def drain(self) -> None:
        pars = self.api.pars
        relay_once(pars)
        withhold_ended(pars)

        def webhook(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
            if url in self.hooks:
                self._got(self.hooks[url], repr(headers).encode() + body, body)
            return 204

        def nats(subject: str, headers: dict[str, str], body: bytes, timeout: float) -> None:
            for pid in self.keys:
                if subject.startswith(f"pars.partner.{pid}."):
                    self._got(pid, subject.encode() + repr(headers).encode() + body, body)

        while deliver_webhooks(pars, webhook) + deliver_nats(pars, nats):
            pass
        for pid, key in self.keys.items():
            auth = {"Authorization": f"Bearer {key}"}
            pulled = 0
            while True:
                params = {"after": self.cursors.get(pid, "0")}
                r = self.api.client.get("/api/v1/feed", headers=auth, params=params)
                assert r.status_code == 200, r.text
                page = r.json()
                for item in page["items"]:
                    self._got(pid, json.dumps(item).encode(), json.dumps(item).encode())
                self.cursors[pid] = page["next_cursor"]
                pulled += len(page["items"])
                if not page["items"]:
                    break
            if not pulled:
                continue
            # The same items again over SSE, from that transport's own cursor (a re-read).
            params = {"after": self.sse.get(pid, "0"), "max_events": str(pulled)}
            with self.api.client.stream(
                "GET", "/api/v1/feed/stream", params=params, headers=auth
            ) as stream:
                raw = b"".join(stream.iter_bytes())
            ids = re.findall(rb"^id: (\d+)$", raw, re.MULTILINE)
            assert len(ids) == pulled, raw[:300]
            self.sse[pid] = ids[-1].decode()
            self.received[pid].append(raw)

    def look_up(self, otns: list[str]) -> None:
        """Look each OTN up as every partner; what is answered counts as received."""
        for pid, key in self.keys.items():
            for otn in otns:
                r = self.api.client.get(
                    "/api/v1/lookup",
                    params={"otn": otn, "purpose": "leak-test"},
                    headers={"Authorization": f"Bearer {key}"},
                )
                if r.status_code == 403:
                    continue  # no agreement in force allows a look-up
                assert r.status_code == 200, r.text
                self.received[pid].append(r.content)
                answer = r.json()
                at = self.api.pars.clock.now().isoformat()
                for item in answer["items"]:
                    event = {"parsagreement": answer["agreement"], "data": item, "time": at}
                    self.events[pid].append(event | {"type": "lookup"})

    def _got(self, pid: str, raw: bytes, body: bytes) -> None:
        self.received[pid].append(raw)
        self.events[pid].append(json.loads(body))


def _staff(api: Api, n: int) -> dict[str, str]:
    """Distinct staff accounts, whose usernames must never reach a partner."""
    users = {}
    for role in ("officer", "supervisor", "prosecutor", "clerk", "magistrate"):
        for k in ("a", "b"):
            name = f"zstaff{role}{k}{n}"
            add_user(api.pars, name, role, PASSWORD)
            users[f"{role}_{k}"] = name
    return users


def _lifecycle(api: Api, who: dict[str, str], body: dict[str, Any], data: st.DataObject,
               partners: Partners, clock: FakeClock) -> dict[str, Any]:  # fmt: skip
    def step(user: str, path: str, payload: Any) -> dict[str, Any]:
        api.fresh_tokens()  # the clock moves an hour a step, past the tokens' lifetime
        r = api.as_(who[user]).post(f"/api/v1/arrests/{arrest['id']}/{path}", json=payload)
        assert r.status_code == 200, (path, r.text)
        clock.advance(timedelta(hours=1))
        partners.drain()
        return dict(r.json())

    api.fresh_tokens()
    r = api.as_(who["officer_a"]).post("/api/v1/arrests?submit=true", json=body)
    assert r.status_code == 201, r.text
    arrest = r.json()
    partners.drain()
    step("supervisor_a", "identification", {"state_id": f"S{arrest['otn'][-6:]}"})
    step("prosecutor_a", "charging-review", None)
    decisions = [
        {"charge_id": c["id"], "action": "approve", "reason": "Qcanwhy"} for c in arrest["charges"]
    ]
    step("prosecutor_b", "charging-decision", {"charges": decisions, "notes": "Qcanchgnote"})
    step("clerk_a", "arraignment-session", {"session_at": "2026-11-20T11:00:00-05:00"})
    bail = {"type": "monetary", "amount": "5000", "conditions": ["Qcancond"]}
    step("magistrate_a", "arraignment", arraignment_body(bail=bail, notes="Qcanarrnote"))
    step(
        "clerk_b",
        "custody",
        {"status": "committed", "reason": "bail_not_posted", "note": "Qcancust"},
    )
    step("supervisor_b", "custody", {"status": "released", "reason": "bail_posted"})
    partners.look_up([arrest["otn"]])
    if data.draw(st.booleans()):
        step("clerk_a", "corrections", {"reason": "typo", "changes": {"narrative": "Qcanfix"}})
    end = data.draw(st.sampled_from(["live", "sealed", "expunged", "sealed+expunged"]))
    if "sealed" in end:
        step("clerk_b", "seal", {"order": "CP-51-MD-1"})
    if "expunged" in end:
        step("clerk_a", "expunge", {"order": "CP-51-MD-2"})
    partners.look_up([arrest["otn"]])
    return arrest


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_partners_receive_only_what_their_agreements_grant(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    # A database and clock of its own for each example, so that examples replay exactly.
    path = tmp_path_factory.mktemp("leaks") / "pars.db"
    shutil.copy(sqlite_template, path)
    clock = FakeClock(START)
    settings = Settings(
        data_dir=path.parent, database_url=f"sqlite:///{path}", webhook_allowlist="partner"
    )
    pars = Pars(settings, clock=clock, keys=KeyRing(KEYS))
    try:
        with TestClient(create_app(pars), raise_server_exceptions=False) as client:
            _example(Api(client, pars), clock, data)
    finally:
        pars.engine.dispose()


def _example(api: Api, clock: FakeClock, data: st.DataObject) -> None:
    n = next(_n)
    who = _staff(api, n)
    partners = Partners(api)
    for i in range(2):
        partners.add(data, n, i)
    _lifecycle(api, who, _arrest(juvenile=False), data, partners, clock)
    juvenile = _lifecycle(api, who, _arrest(juvenile=True), data, partners, clock)

    for pid, chunks in partners.received.items():
        raw = b"".join(chunks)
        text = raw.decode().lower()
        for username in who.values():
            assert username.lower() not in text, username
        assert juvenile["id"] not in text and juvenile["otn"].lower() not in text
        for event in partners.events[pid]:
            if event["type"] == "pars.record.recall":
                # A recall notice goes even after the agreement ended, and carries only these
                # (identifiers the partner already holds, what to do), never record data.
                assert set(event["data"]) == _RECALL_KEYS, event["data"]
                assert not any(c.lower() in json.dumps(event).lower() for c in CANARIES)
                continue
            agreement_id = event["parsagreement"].split("/")[0]
            doc = partners.agreements[agreement_id]
            assert datetime.fromisoformat(event["time"]) < doc["ends"], event["type"]
            for path in field_paths(event["data"]):
                assert path in ARREST_FIELDS, path
                # Independently of the catalogue: no "who did it" leaf ever leaves.
                assert not path.rsplit(".", 1)[-1].endswith("by"), path
                assert _may(path, doc["granted"], doc["permitted"]), (path, doc["granted"])
        docs = [partners.agreements[e["parsagreement"].split("/")[0]] for e in partners.events[pid]]
        for canary, path in CANARIES.items():
            if canary.lower() in text:
                assert any(_may(path, d["granted"], d["permitted"]) for d in docs), canary

    # Once every agreement has ended, nothing more leaves, whatever is still queued.
    clock.advance(timedelta(days=30))
    before = {pid: len(chunks) for pid, chunks in partners.received.items()}
    partners.drain()
    for pid, chunks in partners.received.items():
        after = b"".join(chunks[before[pid] :])
        after = after.replace(b"pars.partner", b"").replace(b"pars.record.recall", b"")
        assert b"pars." not in after, after[:200]


def test_the_checks_above_see_what_a_granted_partner_receives(api: Api, clock: FakeClock) -> None:
    """The control: with every transport and a broad grant, the adult's record arrives with the
    canaries of what was granted, and the same checks find no staff name or juvenile data."""
    who = _staff(api, 999)
    partners = Partners(api)
    name = "leak-control"
    pid, key = ag.add_partner(api.pars, name, "court")
    ag.set_webhook_secret(api.pars, name)
    partners.keys[pid], partners.received[pid], partners.events[pid] = key, [], []
    permitted = api.pars.policy.may_grant("court")
    for j, transport in enumerate(["feed", "webhook", "nats"]):
        hook = f"http://partner/{name}/{j}"
        extra: dict[str, Any] = {"webhook_url": hook} if transport == "webhook" else {}
        if transport == "feed":
            extra["lookup"] = {"identifiers": ["otn"], "per_minute": 600, "purposes": ["leak-test"]}
        granted = ["case", "identity", "charges", "custody_changes"]
        aid = active_agreement(
            api.pars, name, granted=granted, event_types=sorted(EVENT_TYPES),
            transport=transport, **extra,
        )  # fmt: skip
        partners.hooks[hook] = pid
        partners.agreements[aid] = {"granted": granted, "permitted": permitted, "ends": None}
    data = _Fixed()
    adult = _lifecycle(api, who, _arrest(juvenile=False), data, partners, clock)  # type: ignore[arg-type]
    juvenile = _lifecycle(api, who, _arrest(juvenile=True), data, partners, clock)  # type: ignore[arg-type]
    text = b"".join(partners.received[pid]).decode()
    transports = {e["parsagreement"].split("/")[0] for e in partners.events[pid]}
    assert transports == set(partners.agreements)  # each of the three agreements received
    assert adult["otn"] in text and "Qcanlast" in text and "Qcanwhy" in text
    # A subtree grant carries its free text only where the policy lets narrative go.
    assert ("Qcancust" in text) == _may("custody_changes[].note", granted, permitted)
    assert "547-65-4320" not in text and "Qcanpob" not in text
    assert not any(u in text for u in who.values())
    assert juvenile["otn"] not in text and juvenile["id"] not in text
    looked_up = [e["data"]["id"] for e in partners.events[pid] if e.get("type") == "lookup"]
    assert looked_up == [adult["id"], adult["id"]]  # answered twice; the juvenile's never


class _Fixed:
    """A stand-in for hypothesis' data object: the first choice, and no correction or seal."""

    def draw(self, strategy: Any) -> Any:
        return False if repr(strategy) == "booleans()" else "live"
