"""Property test over what really leaves: for random grants and partner classes, the bytes sent by
every transport (feed page, SSE stream, webhook body, NATS message) hold a field's canary value
exactly when the agreement grants the field's class and the policy allows it; protected, victim
and witness canaries never appear in any of them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pars.services import agreements as ag
from pars.services.delivery.nats import deliver_nats
from pars.services.delivery.relay import relay_once
from pars.services.delivery.webhooks import deliver_webhooks
from pars.sharing.fields import FieldClass
from pars.sharing.policy import PARTNER_CLASSES
from tests.conftest import Api
from tests.factories import active_agreement, arrest_body

# A canary in one field of each class; the class decides whether it may leave.
CANARIES: dict[str, FieldClass] = {
    "Qcanarylast": FieldClass.IDENTITY,
    "Qcanaryaddr": FieldClass.CONTACT,
    "Qcanarynarr": FieldClass.NARRATIVE,
    "Qcanaryofficer": FieldClass.OFFICER,
    "Qcanaryd": FieldClass.CASE,
    "Qcanarypob": FieldClass.PROTECTED,
    "Qcanarycit": FieldClass.PROTECTED,
    "547-65-4320": FieldClass.PROTECTED,
    "Qcanaryvictim": FieldClass.VICTIM_WITNESS,
    "Qcanarywitness": FieldClass.VICTIM_WITNESS,
}
_names = itertools.count()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The webhooks here go to a fake sender under a made-up host name the allow-list names.
    return {"webhook_allowlist": "x"}


def _canary_arrest() -> dict[str, Any]:
    body = arrest_body(narrative="Qcanarynarr", victims=[{"name": "Qcanaryvictim"}],
                       witnesses=[{"name": "Qcanarywitness"}])  # fmt: skip
    body["location"]["district"] = "Qcanaryd"
    body["arresting_officer"]["name"] = "Qcanaryofficer"
    body["person"].update({"last_name": "Qcanarylast", "address": "1 Qcanaryaddr St",
                           "place_of_birth": "Qcanarypob", "citizenship": "Qcanarycit",
                           "ssn": "547-65-4320"})  # fmt: skip
    return body


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_transport_sends_exactly_the_grant(api: Api, data: st.DataObject) -> None:
    partner_class = data.draw(st.sampled_from(PARTNER_CLASSES))
    allowed = sorted(c.value for c in api.pars.policy.may_grant(partner_class))
    granted = data.draw(st.lists(st.sampled_from(allowed), min_size=1, unique=True))
    n = next(_names)
    names = {t: f"{t}-{n}" for t in ("feed", "webhook", "nats")}
    keys, ids = {}, {}
    for transport, name in names.items():
        ids[transport], keys[transport] = ag.add_partner(api.pars, name, partner_class)
    ag.set_webhook_secret(api.pars, names["webhook"])
    active_agreement(api.pars, names["feed"], granted=granted)
    hook = f"http://x/hook-{n}"
    active_agreement(
        api.pars, names["webhook"], granted=granted, transport="webhook", webhook_url=hook
    )
    active_agreement(api.pars, names["nats"], granted=granted, transport="nats")

    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=_canary_arrest())
    assert r.status_code == 201, r.text
    relay_once(api.pars)

    sent: dict[str, bytes] = {}
    auth = {"Authorization": f"Bearer {keys['feed']}"}
    sent["feed"] = api.client.get("/api/v1/feed", headers=auth).content
    with api.client.stream("GET", "/api/v1/feed/stream", params={"after": 0, "max_events": 1},
                           headers=auth) as stream:  # fmt: skip
        sent["sse"] = b"".join(stream.iter_bytes())

    # Earlier examples' partners (other grants) are still subscribed: keep only this one's bytes.
    def capture_webhook(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        if url == hook:
            sent["webhook"] = sent.get("webhook", b"") + repr(headers).encode() + body
        return 204

    def capture_nats(subject: str, headers: dict[str, str], body: bytes, timeout: float) -> None:
        if subject.startswith(f"pars.partner.{ids['nats']}."):
            sent["nats"] = sent.get("nats", b"") + subject.encode() + repr(headers).encode() + body

    deliver_webhooks(api.pars, capture_webhook)
    deliver_nats(api.pars, capture_nats)
    assert set(sent) == {"feed", "sse", "webhook", "nats"}
    grant = {FieldClass(g) for g in granted}
    for transport, raw in sent.items():
        assert b"pars.arrest.submitted" in raw, transport  # the event did go out
        for canary, cls in CANARIES.items():
            assert (canary.encode() in raw) == (cls in grant), (transport, canary, granted)
