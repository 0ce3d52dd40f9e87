"""Issue 12 item 1, corrections: after a correction a partner never receives the corrected
field's old value, whether the event was relayed before the correction (queued or delivered
copy) or after it (an event committed before the correction but relayed after it), and on
PostgreSQL also when the relay runs while the correction's transaction is open."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from pars.services import agreements as ag
from pars.services import arrests as svc
from pars.services import audit
from pars.services.app import Pars, Principal
from pars.services.audit_verify import verify
from pars.services.delivery.feed import authenticate_partner, feed_page
from pars.services.delivery.relay import relay_once
from pars.services.delivery.webhooks import deliver_webhooks
from pars.services.inputs import ArrestIn, CorrectionIn, CustodyIn
from tests.conftest import raw_rows
from tests.factories import active_agreement, arrest_body
from tests.integration.test_webhooks import Receiver, receiver  # noqa: F401 (a fixture)

OFFICER = Principal("officer1", "officer")
CLERK = Principal("clerk1", "clerk")
EVENTS = ["pars.arrest.submitted", "pars.custody.changed"]
RENAME = CorrectionIn.model_validate(
    {"reason": "misspelt at booking", "changes": {"person": {"last_name": "Dhoe"}}}
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_timeout_seconds": 0.5, "webhook_allowlist": "127.0.0.1"}


def _feed_partner(pars: Pars) -> dict[str, Any]:
    _, key = ag.add_partner(pars, "PSP", "state_repository")
    active_agreement(pars, "PSP", event_types=EVENTS)
    return authenticate_partner(pars, key)


def _submit(pars: Pars) -> str:
    return svc.create_arrest(pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit=True).id


def _stored(pars: Pars, arrest_id: str) -> str:
    """Every payload the deliveries table holds for the arrest, as the driver returns it."""
    return json.dumps(
        [d["payload"] for d in raw_rows(pars, "deliveries") if d["subject"] == arrest_id],
        default=str,
    )


def test_an_event_relayed_after_the_correction_carries_the_corrected_value(
    pars: Pars, backend: str
) -> None:
    partner = _feed_partner(pars)
    arrest_id = _submit(pars)  # its event waits in the outbox
    svc.correct(pars, CLERK, arrest_id, RENAME)  # corrected before the relay ran
    relay_once(pars)
    stored = _stored(pars, arrest_id)
    assert "Dhoe" in stored and '"Doe"' not in stored
    page = json.dumps(feed_page(pars, partner, 0, 100))
    assert '"Dhoe"' in page and '"Doe"' not in page
    (submitted,) = json.loads(page)["items"]
    assert submitted["type"] == "pars.arrest.submitted"  # still the event it was
    audit.checkpoint(pars)
    report = verify(pars)
    assert report.ok, report.problems


def test_later_events_of_a_corrected_arrest_are_projected_as_corrected(
    pars: Pars, backend: str
) -> None:
    partner = _feed_partner(pars)
    arrest_id = _submit(pars)
    change = CustodyIn.model_validate({"status": "released", "reason": "ror"})
    svc.change_custody(pars, CLERK, arrest_id, change)  # a second pending event
    svc.correct(pars, CLERK, arrest_id, RENAME)
    relay_once(pars)
    items = feed_page(pars, partner, 0, 100)["items"]
    assert [e["type"] for e in items] == EVENTS
    assert all(e["data"]["person"]["last_name"] == "Dhoe" for e in items)
    # The custody event still says what it said: the correction does not rewrite it.
    assert items[1]["data"]["custody"] == "released"


def test_a_delivered_copy_is_not_served_again_with_the_old_value(pars: Pars, backend: str) -> None:
    partner = _feed_partner(pars)
    arrest_id = _submit(pars)
    relay_once(pars)
    first = feed_page(pars, partner, 0, 100)
    assert '"Doe"' in json.dumps(first)
    svc.correct(pars, CLERK, arrest_id, RENAME)
    again = json.dumps(feed_page(pars, partner, 0, 100))  # a re-read from the start
    assert '"Doe"' not in again and '"Dhoe"' in again
    stored = _stored(pars, arrest_id)
    assert '"Doe"' not in stored


def test_a_webhook_relayed_after_the_correction_sends_the_corrected_value(
    pars: Pars,
    receiver: tuple[Receiver, str],  # noqa: F811
    backend: str,
) -> None:
    rec, url = receiver
    active_agreement(pars, "DA Case Management", transport="webhook", webhook_url=url)
    arrest_id = _submit(pars)
    svc.correct(pars, CLERK, arrest_id, RENAME)
    relay_once(pars)
    assert deliver_webhooks(pars) == 1
    (body,) = [r["body"] for r in rec.received]
    assert b'"Dhoe"' in body and b'"Doe"' not in body


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_relay_running_during_the_correction_waits_for_it(pars: Pars, backend: str) -> None:
    """The relay reads the arrest while a correction's transaction is open (on PostgreSQL the
    two can overlap): it waits for the correction to commit, then projects the corrected record,
    so neither misses the other's rows."""
    partner = _feed_partner(pars)
    arrest_id = _submit(pars)
    done: list[int] = []
    relay = threading.Thread(target=lambda: done.append(relay_once(pars)))

    def race(conn: sa.Connection) -> None:
        # Inside the correction's transaction, after its queued copies were re-projected.
        relay.start()
        with pars.engine.connect() as watch:
            while relay.is_alive():
                waiting = watch.execute(
                    sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                ).scalar_one()
                if waiting:
                    return  # the relay waits for this transaction
                relay.join(0.01)

    original = pars.uow

    def uow() -> Any:
        pars.uow = original  # type: ignore[method-assign]
        unit = original()  # the correction's own unit of work: the first one it opens
        unit.before_commit.append(race)
        return unit

    pars.uow = uow  # type: ignore[method-assign]
    try:
        svc.correct(pars, CLERK, arrest_id, RENAME)
    finally:
        pars.uow = original  # type: ignore[method-assign]
    relay.join()
    assert done and done[0] >= 1
    stored = _stored(pars, arrest_id)
    assert "Dhoe" in stored and '"Doe"' not in stored
    page = json.dumps(feed_page(pars, partner, 0, 100))
    assert '"Doe"' not in page
