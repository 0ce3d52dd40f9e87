"""Issue 12 item 2: recall notices reach every partner that ever received the arrest, through
its transport, even where its agreement has ended, and carry no personal data."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pars.domain.clock import FakeClock
from pars.domain.errors import Conflict, NotFound
from pars.services import agreements as ag
from pars.services import arrests as svc
from pars.services import audit, transparency
from pars.services.app import Pars, Principal
from pars.services.audit_verify import verify
from pars.services.delivery.feed import authenticate_partner, feed_page
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.delivery.webhooks import deliver_webhooks
from pars.services.inputs import ArrestIn, CourtOrderIn
from pars.services.lifecycle.attest import attest, by_digest, partner_recalls
from pars.web.pages.transparency import render
from tests.conftest import START, raw_rows, rows
from tests.factories import active_agreement, arrest_body
from tests.integration.test_webhooks import Receiver, receiver  # noqa: F401 (a fixture)

OFFICER = Principal("officer1", "officer")
CLERK = Principal("clerk1", "clerk")
ORDER = CourtOrderIn(order="CP-51-MD-0001234-2026")
CANARIES = ("Doe", "John", "1990-04-02", "Market", "123-45-6789")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "webhook_timeout_seconds": 0.5,
        "webhook_max_attempts": 5,
        "webhook_allowlist": "127.0.0.1",
    }


def _submit(pars: Pars) -> svc.Arrest:
    return svc.create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit=True)


def _recall_sent(pars: Pars) -> list[dict[str, Any]]:
    return [a for a in rows(pars, "audit_log") if a["action"] == "recall:sent"]


def test_an_ended_feed_partner_gets_the_recall_after_expungement(
    pars: Pars, clock: FakeClock, backend: str
) -> None:
    _, key = ag.add_partner(pars, "PSP", "state_repository")
    partner = authenticate_partner(pars, key)
    active_agreement(pars, "PSP", ends_at=START + timedelta(days=1))
    arrest = _submit(pars)
    relay_once(pars)
    first = feed_page(pars, partner, 0, 100)
    assert [e["subject"] for e in first["items"]] == [arrest.id]
    receipt = first["items"][0]["parslogindex"]

    clock.advance(timedelta(days=2))  # the agreement has ended
    withhold_ended(pars)
    svc.expunge(pars, CLERK, arrest.id, ORDER)
    withhold_ended(pars)  # the sweep of ended agreements leaves the recall alone

    page = feed_page(pars, partner, int(first["next_cursor"]), 100)
    (notice,) = page["items"]
    assert notice["type"] == "pars.record.recall" and notice["subject"] == arrest.id
    assert notice["data"]["happened"] == "expunged" and notice["data"]["action"] == "destroy"
    assert notice["data"]["otn"] == arrest.otn
    assert notice["data"]["receipts"] == [receipt]
    text = json.dumps(page)
    for canary in CANARIES:
        assert canary not in text
    (sent,) = _recall_sent(pars)
    assert sent["subject"] == partner["id"] and sent["record_id"] == arrest.id
    assert sent["details"]["recall"] == notice["data"]["recall"]
    audit.checkpoint(pars)
    report = verify(pars)
    assert report.ok, report.problems


def test_a_partner_that_received_nothing_gets_no_recall(pars: Pars, backend: str) -> None:
    ag.add_partner(pars, "PSP", "state_repository")
    active_agreement(pars, "PSP", event_types=["pars.custody.changed"])
    arrest = _submit(pars)
    relay_once(pars)
    svc.seal(pars, CLERK, arrest.id, ORDER)
    assert _recall_sent(pars) == []
    assert [
        d for d in raw_rows(pars, "deliveries") if d["event_type"] == "pars.record.recall"
    ] == []


def test_an_ended_webhook_partner_gets_the_recall_resent_until_acknowledged(
    pars: Pars,
    receiver: tuple[Receiver, str],  # noqa: F811
    clock: FakeClock,
    backend: str,
) -> None:
    rec, url = receiver
    active_agreement(
        pars,
        "DA Case Management",
        transport="webhook",
        webhook_url=url,
        ends_at=START + timedelta(days=1),
    )
    arrest = _submit(pars)
    relay_once(pars)
    assert deliver_webhooks(pars) == 1
    clock.advance(timedelta(days=2))
    svc.expunge(pars, CLERK, arrest.id, ORDER)
    rec.script = [500]
    assert deliver_webhooks(pars) == 1  # refused by the receiver: tried again later
    clock.advance(timedelta(minutes=10))
    assert deliver_webhooks(pars) == 1  # acknowledged (2xx)
    assert deliver_webhooks(pars) == 0
    recalls = [json.loads(r["body"]) for r in rec.received[1:]]
    assert [r["type"] for r in recalls] == ["pars.record.recall"] * 2
    assert recalls[0]["id"] == recalls[1]["id"]
    assert [r["action"] for r in rec.received[1:]] == [500, 200]
    for canary in CANARIES:
        assert all(canary.encode() not in r["body"] for r in rec.received[1:])
    (row,) = [d for d in raw_rows(pars, "deliveries") if d["event_type"] == "pars.record.recall"]
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert len(_recall_sent(pars)) == 1


def _expunged_after_feed(pars: Pars, clock: FakeClock) -> tuple[dict[str, Any], str, str]:
    """A partner that read an arrest from its feed, then the arrest expunged: the partner, its
    key and the recall id."""
    _, key = ag.add_partner(pars, "PSP", "state_repository")
    partner = authenticate_partner(pars, key)
    active_agreement(pars, "PSP")
    arrest = _submit(pars)
    relay_once(pars)
    feed_page(pars, partner, 0, 100)
    svc.expunge(pars, CLERK, arrest.id, ORDER)
    (sent,) = _recall_sent(pars)
    return partner, key, str(sent["details"]["recall"])


PO = Principal("privacy_officer1", "privacy_officer")


def test_a_recall_is_sent_then_acknowledged_then_attested(
    pars: Pars, clock: FakeClock, backend: str
) -> None:
    partner, _, recall = _expunged_after_feed(pars, clock)
    (row,) = partner_recalls(pars, PO, partner["id"])
    assert (row["id"], row["state"], row["action"]) == (recall, "sent", "destroy")
    feed_page(pars, partner, 0, 100)  # the feed serves it: acknowledged
    assert partner_recalls(pars, PO, partner["id"])[0]["state"] == "acknowledged"
    when = clock.now() - timedelta(hours=1)
    attest(pars, partner, recall, when, "Records Unit, Sgt. Ames", "destroyed")
    (row,) = partner_recalls(pars, PO, None)
    assert row["state"] == "attested" and row["attested_by"] == "Records Unit, Sgt. Ames"
    assert row["attested_at"] == when.isoformat()
    (entry,) = [a for a in rows(pars, "audit_log") if a["action"] == "recall:attested"]
    assert entry["subject"] == partner["id"] and entry["details"]["done"] == "destroyed"
    # Who attested is free text: never in the log, only its keyed hash there.
    assert "Ames" not in json.dumps(entry, default=str) and "by" not in entry["details"]
    assert entry["details"]["by_hmac"] == by_digest(pars, "Records Unit, Sgt. Ames")
    with pytest.raises(Conflict):
        attest(pars, partner, recall, when, "again", "destroyed")
    audit.checkpoint(pars)
    report = verify(pars)
    assert report.ok, report.problems


def test_an_unattested_recall_becomes_overdue_at_the_deadline(
    pars: Pars, clock: FakeClock, backend: str
) -> None:
    partner, _, recall = _expunged_after_feed(pars, clock)
    days = pars.settings.recall_attestation_days
    clock.advance(timedelta(days=days) - timedelta(seconds=1))
    assert partner_recalls(pars, PO, partner["id"])[0]["state"] == "sent"
    clock.advance(timedelta(seconds=1))
    assert partner_recalls(pars, PO, partner["id"])[0]["state"] == "overdue"
    attest(pars, partner, recall, clock.now(), "Records Unit", "destroyed")
    assert partner_recalls(pars, PO, partner["id"])[0]["state"] == "attested"


def test_another_partner_cannot_attest_a_recall(pars: Pars, clock: FakeClock) -> None:
    _, _, recall = _expunged_after_feed(pars, clock)
    _, other_key = ag.add_partner(pars, "ICE", "federal")
    other = authenticate_partner(pars, other_key)
    with pytest.raises(NotFound):
        attest(pars, other, recall, clock.now(), "someone", "destroyed")
    assert not [a for a in rows(pars, "audit_log") if a["action"] == "recall:attested"]


def arrest_id_of(log: list[dict[str, Any]]) -> str:
    return str(next(a["record_id"] for a in log if a["action"] == "recall:sent"))


def test_transparency_counts_and_history_show_the_recalls(
    pars: Pars, clock: FakeClock, backend: str
) -> None:
    partner, _, recall = _expunged_after_feed(pars, clock)
    attest(pars, partner, recall, clock.now(), "Records Unit", "destroyed")
    data = transparency.report(pars)
    log = rows(pars, "audit_log")
    (row,) = data["recalls"]
    assert row["partner_id"] == partner["id"] and row["month"] == clock.now().strftime("%Y-%m")
    sent = sum(a["action"] == "recall:sent" for a in log)
    attested = sum(a["action"] == "recall:attested" for a in log)
    # Counts below the small-count threshold are shown as such, never as the number.
    assert row["recalls_sent"] == transparency.shown(sent) and sent == 1
    assert row["recalls_attested"] == transparency.shown(attested) and attested == 1
    text = json.dumps(data["recalls"]) + transparency.counts_csv(data)
    assert recall not in text and "recalls_sent" in text
    # The page shows the same counts, and no identifier either.
    page = render(data, ZoneInfo("UTC"))
    section = page[page.index('id="recalls"') : page.index('id="log"')]
    assert partner["name"] in section and recall not in page and arrest_id_of(log) not in page
    assert f">{transparency.shown(sent)}</td>" in section
    arrest_id = next(a["record_id"] for a in log if a["action"] == "recall:sent")
    history = transparency.disclosure_history(pars, PO, arrest_id=arrest_id)
    actions = [(i["action"], i["recall"]) for i in history["items"]]
    assert ("recall:sent", recall) in actions and ("recall:attested", recall) in actions
