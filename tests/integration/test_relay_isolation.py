"""One bad item never holds back the others, and the counts of what was not sent are honest.

A projection that fails for one agreement, a delivery row the database refuses, a payload a
transport cannot handle: each is quarantined (listed, with the error's class and never its
text) while every other partner's deliveries, and the same partner's next ones, go on. An item
that left once is never counted as withheld, whether a webhook's retries stop at the end of its
agreement or a feed partner reads it again from an older cursor.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.delivery import relay
from pars.services.delivery.webhooks import deliver_webhooks
from tests.conftest import START, Api, rows
from tests.factories import active_agreement, arrest_body

SECRET = "Qpoisoncanary"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The webhooks here go to a fake sender under made-up host names the allow-list names.
    return {"webhook_allowlist": "odd,fine,slow,late"}


def _partner(api: Api, name: str, **agreement: Any) -> tuple[str, str, str]:
    """(partner id, feed key, agreement id) of a new partner with one agreement in force."""
    pid, key = ag.add_partner(api.pars, name, "prosecutor")
    ag.set_webhook_secret(api.pars, name)
    aid = active_agreement(api.pars, name, **agreement)
    return pid, key, aid


def _submit(api: Api) -> dict[str, Any]:
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
    assert r.status_code == 201, r.text
    return dict(r.json())


def _deliveries(api: Api, pid: str, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    r = api.as_("privacy_officer").get(f"/api/v1/partners/{pid}/deliveries", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _feed(api: Api, key: str, after: str = "0") -> dict[str, Any]:
    r = api.client.get(
        "/api/v1/feed", params={"after": after}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _withheld_counted(api: Api, pid: str) -> int:
    """What the transparency report counts as withheld for the partner (before rounding)."""
    return sum(
        r["details"]["count"]
        for r in rows(api.pars, "audit_log")
        if r["action"] == "disclosure:withheld"
        and (r["subject"] == pid or r["agreement_id"] in _agreements_of(api, pid))
    )


def _agreements_of(api: Api, pid: str) -> set[str]:
    return {str(r["id"]) for r in rows(api.pars, "agreements") if r["partner_id"] == pid}


def test_a_projection_failing_for_one_agreement_holds_back_no_one(
    backend: str, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad, bad_key, bad_aid = _partner(api, "Poisoned DA")
    good, good_key, _ = _partner(api, "Healthy Court")
    real = relay.project

    def project(a: Any, *args: Any, **kwargs: Any) -> Any:
        if a.partner == bad:
            raise RuntimeError(f"boom {SECRET}")
        return real(a, *args, **kwargs)

    monkeypatch.setattr(relay, "project", project)
    first = _submit(api)
    assert relay.relay_once(api.pars) == 1
    assert relay.relay_once(api.pars) == 0  # the cursor moved past the event

    assert [i["subject"] for i in _feed(api, good_key)["items"]] == [first["id"]]
    assert _feed(api, bad_key)["items"] == []
    (q,) = rows(api.pars, "quarantine")
    assert (q["stage"], q["agreement_id"], q["partner_id"]) == ("relay", bad_aid, bad)
    assert q["error"] == "RuntimeError" and q["resolved_at"] is None

    listed = api.as_("privacy_officer").get("/api/v1/partners/quarantine")
    assert listed.status_code == 200
    assert [i["agreement_id"] for i in listed.json()["items"]] == [bad_aid]
    assert SECRET not in listed.text
    one = api.as_("privacy_officer").get(f"/api/v1/partners/{bad}/quarantine")
    assert len(one.json()["items"]) == 1
    assert api.as_("privacy_officer").get(f"/api/v1/partners/{good}/quarantine").json() == {
        "items": []
    }
    audited = [r for r in rows(api.pars, "audit_log") if r["action"] == "delivery:quarantined"]
    assert len(audited) == 1 and SECRET not in str(audited)
    assert api.as_("officer").get("/api/v1/partners/quarantine").status_code == 403

    # Mended, the same partner's next event flows: the relay was never halted for it either.
    monkeypatch.setattr(relay, "project", real)
    second = _submit(api)
    relay.relay_once(api.pars)
    assert [i["subject"] for i in _feed(api, bad_key)["items"]] == [second["id"]]


def test_a_row_the_database_refuses_is_quarantined_and_the_batch_goes_on(
    backend: str, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad, bad_key, bad_aid = _partner(api, "Refused Row")
    _, good_key, _ = _partner(api, "Accepted Row")
    real = relay._item

    def item(pars: Any, versions: list[Any], *args: Any) -> Any:
        out = real(pars, versions, *args)
        if out is not None and versions[0].partner == bad:
            out["partner_id"] = None  # NOT NULL: the whole batch's insert fails on it
        return out

    monkeypatch.setattr(relay, "_item", item)
    arrests = [_submit(api) for _ in range(3)]
    assert relay.relay_once(api.pars) == 3

    served = [i["subject"] for i in _feed(api, good_key)["items"]]
    assert served == [a["id"] for a in arrests]
    assert _feed(api, bad_key)["items"] == []
    quarantined = rows(api.pars, "quarantine")
    assert len(quarantined) == 3
    assert {q["agreement_id"] for q in quarantined} == {bad_aid}
    # The error's classes (SQLAlchemy's and the driver's), never its text.
    assert all(q["error"].startswith("IntegrityError <- ") for q in quarantined)
    batch = [r for r in rows(api.pars, "audit_log") if r["action"] == "relay:batch"]
    assert batch[-1]["details"]["quarantined"] == 3 and batch[-1]["details"]["queued"] == 3


def test_a_payload_a_transport_cannot_handle_is_quarantined_and_the_rest_flows(
    api: Api,
) -> None:
    bad, _, bad_aid = _partner(api, "Odd Hook", transport="webhook", webhook_url="http://odd/")
    good, _, _ = _partner(api, "Fine Hook", transport="webhook", webhook_url="http://fine/")
    sent: list[str] = []

    def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        if url == "http://odd/" and not sent.count(url):
            sent.append(url)
            raise TypeError(f"cannot encode {SECRET}")  # not a transport error
        sent.append(url)
        return 204

    first = _submit(api)
    second = _submit(api)
    relay.relay_once(api.pars)
    while deliver_webhooks(api.pars, send):
        pass

    assert [d["status"] for d in _deliveries(api, good)] == ["delivered", "delivered"]
    # The odd partner's first item is set aside; its next one still went.
    statuses = {d["subject"]: d["status"] for d in _deliveries(api, bad)}
    assert statuses == {first["id"]: "quarantined", second["id"]: "delivered"}
    assert [d["subject"] for d in _deliveries(api, bad, "quarantined")] == [first["id"]]
    (q,) = rows(api.pars, "quarantine")
    assert (q["stage"], q["agreement_id"], q["error"]) == ("webhook", bad_aid, "TypeError")
    assert SECRET not in str(rows(api.pars, "audit_log")) + str(rows(api.pars, "deliveries"))


def test_retries_stop_at_the_agreement_end_and_only_what_never_left_is_withheld(
    api: Api, clock: FakeClock
) -> None:
    ends = START + timedelta(hours=1)
    pid, _, _ = _partner(
        api, "Slow Hook", transport="webhook", webhook_url="http://slow/", ends_at=ends
    )
    first = _submit(api)
    second = _submit(api)  # behind the first: a partner's items go in order
    relay.relay_once(api.pars)
    assert deliver_webhooks(api.pars, lambda *a: 503) == 1  # sent once, refused

    clock.set(ends + timedelta(seconds=1))
    after_end: list[str] = []

    def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        after_end.append(url)
        return 204

    while deliver_webhooks(api.pars, send):
        pass
    relay.withhold_ended(api.pars)
    assert after_end == []  # the retry was due after the end: checked at the send, not made

    statuses = {d["subject"]: d["status"] for d in _deliveries(api, pid)}
    assert statuses == {first["id"]: "stopped", second["id"]: "withheld"}
    assert [d["subject"] for d in _deliveries(api, pid, "withheld")] == [second["id"]]
    assert [d["subject"] for d in _deliveries(api, pid, "stopped")] == [first["id"]]
    assert _withheld_counted(api, pid) == 1
    stopped = [r for r in rows(api.pars, "audit_log") if r["action"] == "delivery:retries_stopped"]
    assert len(stopped) == 1 and stopped[0]["details"]["attempts"] == 1


def test_reading_the_feed_again_is_a_redelivery_never_a_withheld_item(
    api: Api, clock: FakeClock
) -> None:
    ends = START + timedelta(hours=1)
    pid, key, _ = _partner(api, "Rereader", ends_at=ends)
    read = [_submit(api)["id"] for _ in range(2)]
    relay.relay_once(api.pars)
    page = _feed(api, key)
    assert [i["subject"] for i in page["items"]] == read
    again = _feed(api, key, "0")  # from an older cursor, while the agreement is in force
    assert [i["subject"] for i in again["items"]] == read
    actions = [r["action"] for r in rows(api.pars, "audit_log")]
    assert actions.count("disclosure:delivered") == 2
    assert actions.count("disclosure:redelivered") == 2

    unread = _submit(api)["id"]  # committed in force, never read before the end
    relay.relay_once(api.pars)
    clock.set(ends + timedelta(minutes=5))
    assert _feed(api, key, "0")["items"] == []  # nothing after the end, not even a re-read
    relay.withhold_ended(api.pars)
    assert _feed(api, key, "0")["items"] == []

    assert [d["subject"] for d in _deliveries(api, pid, "withheld")] == [unread]
    assert _withheld_counted(api, pid) == 1
    report = api.client.get("/api/v1/transparency")
    assert report.status_code == 200
    (agreement,) = [a for a in report.json()["agreements"] if a["partner_id"] == pid]
    assert agreement["ended"]["holds"] is True
    assert agreement["ended"]["disclosures_after_end"] == 0


def test_a_send_cannot_outlast_the_agreement(api: Api, clock: FakeClock) -> None:
    """Half a second before the end, a webhook try gets at most that half second."""
    ends = START + timedelta(hours=1)
    _partner(api, "Late Hook", transport="webhook", webhook_url="http://late/", ends_at=ends)
    _submit(api)
    relay.relay_once(api.pars)
    clock.set(ends - timedelta(milliseconds=500))
    timeouts: list[float] = []

    def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        timeouts.append(timeout)
        return 204

    assert deliver_webhooks(api.pars, send) == 1
    assert len(timeouts) == 1 and 0 < timeouts[0] <= 0.5


def test_one_batch_holds_withheld_and_queued_items_together(
    api: Api, clock: FakeClock, relay_tries: list[bool]
) -> None:
    """Committed while every agreement was in force, relayed after two ended: the batch writes
    withheld rows and a queued row together, each with its own columns (an insert of many rows
    takes the first row's columns, which once dropped or demanded the others')."""
    ends = START + timedelta(hours=1)
    ended = [_partner(api, "Ended Court", ends_at=ends)[0]]
    going, going_key, _ = _partner(api, "Going Court")
    ended.append(_partner(api, "Ended Bureau", ends_at=ends)[0])
    arrest = _submit(api)
    clock.set(ends + timedelta(seconds=1))
    assert relay.relay_once(api.pars) >= 1
    assert relay_tries == [False]  # the batch went in whole, not item by item after a failure
    for pid in ended:
        [item] = _deliveries(api, pid)
        assert (item["subject"], item["status"]) == (arrest["id"], "withheld")
        assert item["withheld_at"] is not None
    [item] = _deliveries(api, going)
    assert (item["subject"], item["status"]) == (arrest["id"], "queued")
    assert [e["subject"] for e in _feed(api, going_key)["items"]] == [arrest["id"]]
    assert rows(api.pars, "quarantine") == []
