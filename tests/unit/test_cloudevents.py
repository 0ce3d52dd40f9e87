"""Every event type PARS emits, as it leaves (the projection's envelope plus the receipt that
every transport adds), against the CloudEvents 1.0 rules for attribute names and types, and
through the CloudEvents SDK's own validation, unmodified."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat

from pars.domain.events import EVENT_TYPES
from pars.services.delivery.disclosure import receipt, with_receipt
from pars.sharing.agreements import Agreement, AgreementState
from pars.sharing.policy import JurisdictionPolicy
from pars.sharing.projection import EVENT_FORMAT, Event, project
from tests.cloudevents_spec import INT32, problems

T0 = datetime(2026, 9, 1, 4, 0, tzinfo=UTC)
DEFAULT = JurisdictionPolicy.shipped("default")
SALT = bytes(range(16))
# Far past the CloudEvents Integer range: a log of a busy deployment gets there.
BIG_INDEX = 2**40


def _agreement() -> Agreement:
    a = Agreement(
        id="3f2c9a60-1b7e-4c1a-9e55-0d6f5b7c8a21", version=3, partner="State Police",
        partner_class="state_repository", purpose="statewide criminal history",
        legal_basis="18 Pa.C.S. § 9112", event_types=frozenset(EVENT_TYPES),
        granted=frozenset({"case"}), starts_at=T0, ends_at=T0 + timedelta(days=365),
    ).submit(DEFAULT)  # fmt: skip
    for owner in DEFAULT.owners[: DEFAULT.quorum]:
        a = a.approve(owner, T0 - timedelta(days=1), DEFAULT, frozenset())
    assert a.state is AgreementState.ACTIVE
    return a


def _sent(event_type: str, time: datetime = T0, index: int = BIG_INDEX) -> dict[str, Any]:
    """The event of `event_type` as a transport sends it: projected, with its receipt."""
    record = {"id": "arrest-1", "otn": "Q000123-4", "juvenile": False}
    event = Event("6c1d", event_type, "urn:pars:philadelphia", "arrest-1", time, 2, record)
    out = project(_agreement(), event, T0, DEFAULT)
    assert out is not None, event_type
    return with_receipt(out, index, SALT)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_follows_the_spec(event_type: str) -> None:
    sent = _sent(event_type)
    assert problems(sent) == []
    assert sent["type"] == event_type
    # The SDK validates names and required attributes when it reads the JSON format.
    parsed = JSONFormat().read(None, json.dumps(sent).encode())
    assert parsed.get_type() == event_type
    assert parsed.get_extension("parsagreement") == f"{_agreement().id}/v3"


def test_the_extension_attributes_and_their_types() -> None:
    sent = _sent("pars.arrest.submitted")
    context = {"specversion", "id", "source", "type", "subject", "time", "datacontenttype"}
    extensions = {k: v for k, v in sent.items() if k not in context | {"data"}}
    assert extensions == {
        "parsagreement": "3f2c9a60-1b7e-4c1a-9e55-0d6f5b7c8a21/v3",
        "parslogindex": str(BIG_INDEX),  # a String: the index outgrows the Integer range
        "parslogsalt": base64.b64encode(SALT).decode(),  # Binary, base64 in the JSON format
    }
    assert INT32[1] < BIG_INDEX
    assert int(sent["parslogindex"]) == BIG_INDEX
    assert base64.b64decode(sent["parslogsalt"]) == SALT
    assert sent["datacontenttype"] == "application/json"
    assert EVENT_FORMAT == 2


def test_receipts_of_look_ups_use_the_same_names() -> None:
    assert receipt(7, SALT) == {
        "parslogindex": "7",
        "parslogsalt": base64.b64encode(SALT).decode(),
    }


def test_time_is_rfc3339_in_utc_whatever_zone_the_event_carries() -> None:
    eastern = timezone(timedelta(hours=-5))
    sent = _sent("pars.custody.changed", time=datetime(2026, 11, 20, 9, 30, 0, 120, eastern))
    assert sent["time"] == "2026-11-20T14:30:00.000120+00:00"
    assert problems(sent) == []


def test_the_checker_catches_what_version_1_sent() -> None:
    """The checker is not a rubber stamp: the old format fails it, on names and on a log index
    sent as a JSON number past the Integer range."""
    sent = _sent("pars.arrest.submitted")
    old = {k: v for k, v in sent.items() if not k.startswith("pars")}
    old |= {"pars_agreement": "ag/v1", "pars_log_index": BIG_INDEX, "pars_log_salt": "AA=="}
    found = problems(old)
    assert any("'pars_agreement'" in p for p in found)
    assert any("'pars_log_salt'" in p for p in found)
    assert any("outside the CloudEvents Integer range" in p for p in found)
    assert problems(sent | {"time": "2026-11-20 09:30"}) != []
    assert problems(sent | {"datacontenttype": "json"}) != []
    assert problems(sent | {"parsverylongextensionname": "x"}) != []
    assert problems(sent | {"source": "not a uri"}) != []
    with pytest.raises(Exception, match="lowercase letters and numbers"):
        JSONFormat().read(None, json.dumps(old).encode())
