"""From commit to partner: the relay queues projections, the feed serves them, and nothing
leaves outside the agreement's grant, the policy, or its term (to the second)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.app import Principal
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.inputs import ApprovalIn, RenewalIn
from pars.sharing.policy import JurisdictionPolicy
from tests.conftest import START, Api, rows
from tests.factories import OWNERS, active_agreement, arrest_body
from tests.factories import PRIVACY_OFFICER as PO

SECRETS = (
    "123-45-6789",
    "Kingston",
    "Jane Roe",
    "Sam Poe",
    "12 Elm St",
    "215-555-0100",
    "strike the complainant",
    "4512",
)


def _shows(secret: str, text: str) -> bool:
    """Whether `text` (JSON, or a Python repr of it) holds `secret`. The badge's digits alone
    occur by chance in an id, a time or a salt: it is looked for as a quoted value."""
    if secret.isdigit():
        return f'"{secret}"' in text or f"'{secret}'" in text
    return secret in text


def _agreement(api: Api, partner: str, ends: datetime, **kw: Any) -> str:
    kw.setdefault("event_types", ["pars.arrest.submitted", "pars.charging.decided"])
    return active_agreement(api.pars, partner, ends_at=ends, **kw)


@pytest.fixture
def psp(api: Api) -> dict[str, Any]:
    partner_id, key = ag.add_partner(api.pars, "PSP", "state_repository")
    return {"id": partner_id, "key": key, "headers": {"Authorization": f"Bearer {key}"}}


def _feed(api: Api, psp: dict[str, Any], after: str = "0") -> dict[str, Any]:
    r = api.client.get("/api/v1/feed", params={"after": after}, headers=psp["headers"])
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


def _submit(api: Api) -> str:
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
    assert r.status_code == 201
    arrest_id: str = r.json()["id"]
    return arrest_id


def test_partner_receives_only_its_grant_in_order(
    api: Api, psp: dict[str, Any], backend: str
) -> None:
    _agreement(api, "PSP", START + timedelta(days=30))
    ids = [_submit(api) for _ in range(3)]
    assert relay_once(api.pars) == 3
    page = _feed(api, psp)
    assert [e["subject"] for e in page["items"]] == ids
    event = page["items"][0]
    assert event["specversion"] == "1.0" and event["type"] == "pars.arrest.submitted"
    data = event["data"]
    assert data["person"]["last_name"] == "Doe"
    assert data["otn"] and data["charges"]
    for absent in ("narrative", "victims", "witnesses", "arresting_officer"):
        assert absent not in data
    assert "ssn" not in data["person"] and "address" not in data["person"]
    text = str(page)
    for secret in SECRETS:
        assert not _shows(secret, text), secret
    # At least once: the same cursor gives the same events, with the same ids.
    again = _feed(api, psp)
    assert [e["id"] for e in again["items"]] == [e["id"] for e in page["items"]]
    assert _feed(api, psp, page["next_cursor"])["items"] == []
    assert {d["status"] for d in rows(api.pars, "deliveries")} == {"delivered"}
    assert any(a["action"] == "disclosure:delivered" for a in rows(api.pars, "audit_log"))


def test_uncovered_events_and_other_partners_get_nothing(api: Api, psp: dict[str, Any]) -> None:
    _agreement(api, "PSP", START + timedelta(days=30), event_types=["pars.custody.changed"])
    _, other_key = ag.add_partner(api.pars, "ICE", "federal")
    _submit(api)
    relay_once(api.pars)
    assert _feed(api, psp)["items"] == []
    r = api.client.get("/api/v1/feed", headers={"Authorization": f"Bearer {other_key}"})
    assert r.json()["items"] == []
    assert rows(api.pars, "deliveries") == []


def test_delivery_stops_at_the_end_instant(
    api: Api, psp: dict[str, Any], clock: FakeClock, backend: str
) -> None:
    end = START + timedelta(hours=1)
    aid = _agreement(api, "PSP", end)
    _submit(api)
    relay_once(api.pars)
    clock.set(end - timedelta(microseconds=1))
    first = _feed(api, psp)
    assert len(first["items"]) == 1

    clock.set(START)
    _submit(api)  # committed in the term, relayed and served after it
    relay_once(api.pars)
    clock.set(end)
    assert _feed(api, psp, first["next_cursor"])["items"] == []
    late = [d for d in rows(api.pars, "deliveries") if d["status"] == "withheld"]
    assert len(late) == 1
    assert late[0]["withheld_reason"] == "agreement ended"
    assert late[0]["payload"] is None

    # A renewal starts from its own start: the withheld item is never sent.
    ag.renew(api.pars, PO, aid, RenewalIn(starts_at=end, ends_at=end + timedelta(days=365)))
    ag.submit(api.pars, PO, aid)
    for owner in OWNERS:
        ag.approve(api.pars, owner, aid, ApprovalIn())
    relay_once(api.pars)
    assert _feed(api, psp, first["next_cursor"])["items"] == []
    api.fresh_tokens()  # the clock moved past the idle lock
    _submit(api)  # after the renewal's start: delivered under version 2
    relay_once(api.pars)
    page = _feed(api, psp, first["next_cursor"])
    assert [e["parsagreement"] for e in page["items"]] == [f"{aid}/v2"]

    # Events committed after the end of version 1 were never queued under it.
    v1 = [d for d in rows(api.pars, "deliveries") if d["agreement_version"] == 1]
    assert len(v1) == 2


def test_suspension_drops_the_queue_at_once(
    api: Api, psp: dict[str, Any], clock: FakeClock
) -> None:
    aid = _agreement(api, "PSP", START + timedelta(days=30))
    _submit(api)
    _submit(api)
    relay_once(api.pars)
    ag.suspend(api.pars, OWNERS[1], aid)
    assert withhold_ended(api.pars) == 2
    assert _feed(api, psp)["items"] == []
    assert {d["withheld_reason"] for d in rows(api.pars, "deliveries")} == {"agreement suspended"}


def test_a_tightened_policy_applies_to_what_is_already_queued(api: Api, clock: FakeClock) -> None:
    _, key = ag.add_partner(api.pars, "FBI", "federal")
    _agreement(api, "FBI", START + timedelta(days=30))  # case + identity: allowed by default
    _submit(api)
    relay_once(api.pars)
    api.pars.policy = JurisdictionPolicy.shipped("sanctuary")  # federal: case only
    r = api.client.get("/api/v1/feed", headers={"Authorization": f"Bearer {key}"})
    assert r.json()["items"] == []
    withheld = rows(api.pars, "deliveries")[0]
    assert withheld["status"] == "withheld"
    assert withheld["withheld_reason"].startswith("policy:")


def test_feed_authentication(api: Api, psp: dict[str, Any]) -> None:
    assert api.client.get("/api/v1/feed").status_code == 401
    staff = api.as_("prosecutor").get("/api/v1/feed")
    assert staff.status_code == 401
    r = api.client.get("/api/v1/feed", headers={"Authorization": "Bearer parsk_forged"})
    assert r.status_code == 401
    new_key = ag.rotate_partner_key(api.pars, "PSP")
    assert api.client.get("/api/v1/feed", headers=psp["headers"]).status_code == 401
    ok = api.client.get("/api/v1/feed", headers={"Authorization": f"Bearer {new_key}"})
    assert ok.status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])  # SQLite serialises writers: no such gap
def test_relay_waits_for_a_running_transaction_on_postgres(
    api: Api, psp: dict[str, Any], backend: str
) -> None:
    """Row n+1 visible while row n's transaction still runs: the relay must wait, not skip."""
    _agreement(api, "PSP", START + timedelta(days=30))
    first = api.pars.uow()
    first.__enter__()
    try:
        from pars.services.arrests import create_arrest
        from pars.services.inputs import ArrestIn

        officer = Principal("officer1", "officer")
        # Draw the earlier sequence number in a transaction that stays open...
        first.conn.execute(
            sa.text(
                "INSERT INTO outbox (id, type, source, subject, time, arrest_version, data) VALUES "
                "('00000000-0000-0000-0000-000000000001', 'pars.arrest.submitted', 's', "
                "'00000000-0000-0000-0000-000000000009', now(), 1, '{}')"
            )
        )
        # ...while a later one commits.
        create_arrest(api.pars, officer, ArrestIn.model_validate(arrest_body()), submit=True)
        assert relay_once(api.pars) == 0
        first._tx.rollback()
    finally:
        first.conn.close()
    # Rolled back: the gap is permanent once no older transaction runs; the later row goes out.
    assert relay_once(api.pars) == 1
    assert len(_feed(api, psp)["items"]) == 1


def test_lookup_by_allowed_identifier_only_rate_limited(
    api: Api, psp: dict[str, Any], clock: FakeClock, backend: str
) -> None:
    _agreement(
        api,
        "PSP",
        START + timedelta(days=30),
        lookup={"identifiers": ["otn"], "per_minute": 2, "purposes": ["records-check", "check"]},
    )
    aid = _submit(api)
    otn = api.as_("officer").get(f"/api/v1/arrests/{aid}").json()["otn"]
    h = psp["headers"]
    r = api.client.get("/api/v1/lookup", params={"otn": otn, "purpose": "records-check"}, headers=h)
    assert r.status_code == 200, r.text
    item = r.json()["items"][0]
    assert item["otn"] == otn and item["person"]["last_name"] == "Doe"
    for secret in SECRETS:
        assert not _shows(secret, r.text), secret
    # Not allowed by the agreement, or not a look-up at all.
    for params in (
        {"docket": "MC-51-CR-0000001-2026", "purpose": "check"},
        {"name": "Doe", "purpose": "find people"},
        {"otn": otn, "place_of_birth": "Kingston", "purpose": "sweep"},
    ):
        r = api.client.get("/api/v1/lookup", params=params, headers=h)
        assert r.status_code in (403, 422), (params, r.text)
    r = api.client.get("/api/v1/lookup", params={"otn": otn}, headers=h)
    assert r.status_code == 422  # the purpose is required
    # Rate limit: two a minute.
    assert (
        api.client.get(
            "/api/v1/lookup", params={"otn": "Q999999-0", "purpose": "check"}, headers=h
        ).json()["items"]
        == []
    )
    r = api.client.get("/api/v1/lookup", params={"otn": otn, "purpose": "check"}, headers=h)
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 61
    clock.advance(timedelta(seconds=61))
    assert (
        api.client.get(
            "/api/v1/lookup", params={"otn": otn, "purpose": "check"}, headers=h
        ).status_code
        == 200
    )
    looked = [a for a in rows(api.pars, "audit_log") if a["action"].startswith("lookup:")]
    # Only declared codes reach the log; a refused look-up records none.
    assert {a["details"].get("purpose") for a in looked} == {"records-check", "check", None}
    assert all(otn not in str(a["details"]) for a in looked)


def test_lookup_needs_an_agreement_allowing_it(api: Api, psp: dict[str, Any]) -> None:
    _agreement(api, "PSP", START + timedelta(days=30))  # no look-up permission
    r = api.client.get(
        "/api/v1/lookup", params={"otn": "Q000001-2", "purpose": "check"}, headers=psp["headers"]
    )
    assert r.status_code == 403
    assert any(a["action"] == "lookup:refused" for a in rows(api.pars, "audit_log"))


def _sse(api: Api, psp: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    headers = {**psp["headers"], **kw.pop("headers", {})}
    events, current = [], {}
    with api.client.stream("GET", "/api/v1/feed/stream", params=kw, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith(("id:", "event:", "data:")):
                key, _, value = line.partition(": ")
                current[key] = value
            elif not line and "data" in current:
                events.append(current)
                current = {}
    return events


def test_server_sent_events_resume_with_last_event_id(api: Api, psp: dict[str, Any]) -> None:
    import json

    _agreement(api, "PSP", START + timedelta(days=30))
    ids = [_submit(api) for _ in range(3)]
    relay_once(api.pars)
    first = _sse(api, psp, max_events=2)
    assert [json.loads(e["data"])["subject"] for e in first] == ids[:2]
    assert first[0]["event"] == "pars.arrest.submitted"
    rest = _sse(api, psp, max_events=1, headers={"Last-Event-ID": first[-1]["id"]})
    assert [json.loads(e["data"])["subject"] for e in rest] == ids[2:]
    for secret in SECRETS:
        assert not _shows(secret, str(first + rest)), secret
    # The stream and the page agree: same events, same ids, in the same order.
    page = _feed(api, psp)
    assert [e["id"] for e in page["items"]] == [json.loads(e["data"])["id"] for e in first + rest]


def test_a_recall_reaches_an_ended_partner_over_server_sent_events(
    api: Api, psp: dict[str, Any], clock: FakeClock, backend: str
) -> None:
    """Issue 12 over SSE: the arrest was read on the stream, the agreement ended, the arrest was
    sealed; the stream then serves the recall notice, and never the record again."""
    import json

    _agreement(api, "PSP", START + timedelta(days=1))
    arrest_id = _submit(api)
    relay_once(api.pars)
    (first,) = _sse(api, psp, max_events=1)
    assert json.loads(first["data"])["subject"] == arrest_id
    clock.advance(timedelta(days=2))  # the agreement has ended
    withhold_ended(api.pars)
    r = api.as_("clerk").post(
        f"/api/v1/arrests/{arrest_id}/seal", json={"order": "CP-51-MD-0000002-2026"}
    )
    assert r.status_code == 200, r.text
    relay_once(api.pars)
    (notice,) = _sse(api, psp, max_events=1, headers={"Last-Event-ID": first["id"]})
    assert notice["event"] == "pars.record.recall"
    data = json.loads(notice["data"])
    assert data["subject"] == arrest_id and data["data"]["happened"] == "sealed"
    assert data["data"]["action"] == "restrict"
    for secret in SECRETS:
        assert not _shows(secret, notice["data"]), secret
    assert "Doe" not in notice["data"]
