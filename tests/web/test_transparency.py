"""The public transparency report and the per-person disclosure history: the counts are the
log's, which are what partners really received; nothing personal is published; an ended
agreement is checked against the log; the history is for privacy officers and auditors only."""

from __future__ import annotations

import base64
import csv
import html as html_lib
import io
import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from pars.audit.checkpoint import Signer, verify_note
from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.audit import checkpoint
from pars.services.delivery.relay import relay_once, withhold_ended
from pars.services.inputs import RenewalIn
from pars.services.transparency import shown
from pars.sharing.fields import disclosed_classes
from pars.store.audit import AuditRow, append_rows
from tests.conftest import START, Api, rows
from tests.factories import OWNERS, PRIVACY_OFFICER, active_agreement, arrest_body
from tests.web.helpers import identify

SIGNED = [{"audit_signing_key": Signer.generate().seed_b64()}]

CANARY_PERSON = {
    "last_name": "Zqlastcanary",
    "first_name": "Zqfirstcanary",
    "middle_name": "Zqmiddlecanary",
    "suffix": "III",
    "date_of_birth": "1931-02-03",
    "sex": "F",
    "race": "W",
    "ethnicity": "N",
    "aliases": [{"last_name": "Zqaliaslast", "first_name": "Zqaliasfirst"}],
    "height_inches": 66,
    "weight_pounds": 150,
    "eye_color": "Zqeyecanary",
    "hair_color": "Zqhaircanary",
    "scars_marks_tattoos": ["Zqtattoocanary"],
    "local_person_id": "ZQLOCAL77",
    "state_id": "ZQSTATE77",
    "fbi_number": "ZQFBI77",
    "address": "77 Zqhomecanary Rd",
    "phone": "215-555-0177",
    "ssn": "123-45-6777",
    "place_of_birth": "Zqbirthcanary",
    "citizenship": "Zqcitizencanary",
}
CANARY_ARREST = {
    "location": {"address": "88 Zqplacecanary St", "district": "6"},
    "arresting_officer": {"badge": "ZQBADGE9", "name": "Zqofficercanary", "payroll": "ZQPAY9"},
    "units": {"arresting": "Zqunitcanary", "detaining": "Zqdetaincanary"},
    "report_number": "ZQREPORT9",
    "incident_number": "ZQINCIDENT9",
    "person": CANARY_PERSON,
    "narrative": "Zqnarrativecanary observed.",
    "victims": [{"name": "Zqvictimcanary", "address": "9 Zqvictimhome", "phone": "215-555-0166"}],
    "witnesses": [{"name": "Zqwitnesscanary", "address": "10 Zqwitnesshome"}],
}
STAFF = ("officer1", "prosecutor1", "supervisor1", "privacy_officer1", "owner_district_attorney",
         "owner_courts", "auditor1")  # fmt: skip


def _partner(api: Api, name: str, partner_class: str) -> dict[str, Any]:
    partner_id, key = ag.add_partner(api.pars, name, partner_class)
    return {"id": partner_id, "name": name, "headers": {"Authorization": f"Bearer {key}"}}


def _submit(api: Api, **body: Any) -> dict[str, Any]:
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body(**body))
    assert r.status_code == 201, r.text
    arrest: dict[str, Any] = r.json()
    return arrest


def _feed(api: Api, partner: dict[str, Any], after: str = "0", limit: int = 100) -> Any:
    r = api.client.get(
        "/api/v1/feed", params={"after": after, "limit": limit}, headers=partner["headers"]
    )
    assert r.status_code == 200, r.text
    return r.json()


def _public(api: Api, path: str, **kw: Any) -> Any:
    """GET without any login."""
    api.client.headers.pop("Authorization", None)
    r = api.client.get(path, **kw)
    assert r.status_code == 200, r.text
    return r


def _report(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = _public(api, "/api/v1/transparency").json()
    return body


def _tally(
    counts: Counter[tuple[str, str, str]], partner: str, items: list[dict[str, Any]], at: datetime
) -> None:
    for item in items:
        for cls in disclosed_classes(item):
            counts[(partner, cls, at.strftime("%Y-%m"))] += 1


def test_counts_equal_what_the_feed_and_lookups_delivered(
    api: Api, clock: FakeClock, backend: str
) -> None:
    psp = _partner(api, "PSP", "state_repository")
    research = _partner(api, "Penn Research", "research")
    active_agreement(api.pars, "PSP", granted=["case", "identity", "officer"])
    active_agreement(
        api.pars, "Penn Research", granted=["case"],
        lookup={"identifiers": ["otn"], "per_minute": 10, "purposes": ["research-sample"]},
    )  # fmt: skip
    sent: Counter[tuple[str, str, str]] = Counter()

    november = [_submit(api) for _ in range(6)]
    relay_once(api.pars)
    page = _feed(api, psp)
    assert len(page["items"]) == 6
    _tally(sent, "PSP", [i["data"] for i in page["items"]], clock.now())
    few = _feed(api, research, limit=2)  # two of six: "fewer than 5"
    assert len(few["items"]) == 2
    _tally(sent, "Penn Research", [i["data"] for i in few["items"]], clock.now())

    clock.set(START + timedelta(days=12))  # December
    api.fresh_tokens()
    for _ in range(5):
        _submit(api)
    relay_once(api.pars)
    page = _feed(api, psp, page["next_cursor"])
    assert len(page["items"]) == 5
    _tally(sent, "PSP", [i["data"] for i in page["items"]], clock.now())
    r = api.client.get(
        "/api/v1/lookup",
        params={"otn": november[0]["otn"], "purpose": "research-sample"},
        headers=research["headers"],
    )
    assert r.status_code == 200, r.text
    _tally(sent, "Penn Research", r.json()["items"], clock.now())

    expected = {key: shown(n) for key, n in sent.items()}
    assert expected[("PSP", "identity", "2026-11")] == 6
    assert expected[("PSP", "case", "2026-12")] == 5
    assert expected[("Penn Research", "case", "2026-11")] == "fewer than 5"
    assert expected[("Penn Research", "case", "2026-12")] == "fewer than 5"

    report = _report(api)
    published = {
        (d["partner"], d["field_class"], d["month"]): d["disclosures"]
        for d in report["disclosures"]
    }
    assert published == expected
    assert {d["partner_class"] for d in report["disclosures"]} == {"state_repository", "research"}

    for kw in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        r = _public(api, "/api/v1/transparency", **kw)
        assert r.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(r.text)))
        from_csv = {
            (t["partner"], t["field_class"], t["month"]): t["count"]
            for t in table
            if t["measure"] == "disclosed"
        }
        assert from_csv == {k: str(v) for k, v in expected.items()}


def test_withheld_items_are_counted_per_partner_and_month(api: Api, backend: str) -> None:
    _partner(api, "PSP", "state_repository")
    aid = active_agreement(api.pars, "PSP")
    for _ in range(6):
        _submit(api)
    relay_once(api.pars)
    ag.suspend(api.pars, OWNERS[0], aid)
    assert withhold_ended(api.pars) == 6
    report = _report(api)
    assert [(w["partner"], w["month"], w["withheld"]) for w in report["withheld"]] == [
        ("PSP", "2026-11", 6)
    ]
    assert report["disclosures"] == []
    html = _public(api, "/transparency").text
    assert "Items withheld from partners" in html


@pytest.mark.parametrize("settings_overrides", SIGNED)
def test_no_personal_data_or_staff_names_on_any_public_response(api: Api, backend: str) -> None:
    psp = _partner(api, "PSP", "state_repository")
    active_agreement(
        api.pars, "PSP", granted=["case", "identity", "officer"],
        lookup={"identifiers": ["otn", "state_id"], "per_minute": 10,
                "purposes": ["records-check"]},
    )  # fmt: skip
    arrests = [_submit(api, **CANARY_ARREST) for _ in range(6)]
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{arrests[0]['id']}/charging-decision",
        json={"outcome": "decline", "reason": "Zqreasoncanary"},
    )
    assert r.status_code == 200, r.text
    _identify(api, arrests[1]["id"], "ZQSTATE77")
    relay_once(api.pars)
    delivered = _feed(api, psp)
    assert "Zqlastcanary" in str(delivered)  # the personal data really did leave
    r = api.client.get(
        "/api/v1/lookup",
        params={"state_id": "ZQSTATE77", "purpose": "records-check"},
        headers=psp["headers"],
    )
    assert r.status_code == 200 and len(r.json()["items"]) == 1, r.text
    checkpoint(api.pars)

    canaries = [v for v in _strings(CANARY_ARREST) if len(v) >= 6] + [
        "Zqreasoncanary",
        *STAFF,
        *(a["id"] for a in arrests),
        *(a["otn"] for a in arrests),
    ]
    for path, kw in (
        ("/transparency", {}),
        ("/api/v1/transparency", {}),
        ("/api/v1/transparency", {"params": {"format": "csv"}}),
    ):
        text = _public(api, path, **kw).text
        assert "PSP" in text
        for canary in canaries:
            assert canary not in text, (path, canary)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _forge(api: Api, action: str, partner_id: str, aid: str, record_id: str | None) -> None:
    """Write a disclosure entry straight onto the log, at the clock's time."""
    entry = AuditRow(
        "PSP", action, role="partner", subject=partner_id, agreement_id=aid,
        agreement_version=1, record_id=record_id, classes=("case",),
    )  # fmt: skip
    with api.pars.engine.begin() as conn:
        append_rows(conn, [entry], api.pars.clock.now())


def test_ended_agreement_is_checked_against_the_log(
    api: Api, clock: FakeClock, backend: str
) -> None:
    psp = _partner(api, "PSP", "state_repository")
    end = START + timedelta(hours=1)
    aid = active_agreement(api.pars, "PSP", ends_at=end)
    arrest = _submit(api)
    relay_once(api.pars)
    assert len(_feed(api, psp)["items"]) == 1
    clock.set(end + timedelta(days=1))

    report = _report(api)
    (view,) = report["agreements"]
    assert view["state"] == "expired"
    assert view["ended"]["how"] == "term"
    assert view["ended"]["holds"] is True
    assert view["ended"]["statement"] == f"no disclosures after {end.isoformat()}"
    assert report["warnings"] == []
    html = _public(api, "/transparency").text
    assert f"no disclosures after {end.isoformat()}" in html
    assert 'role="alert"' not in html

    # A disclosure forged onto the log after the end is found and shouted about.
    clock.set(end + timedelta(minutes=5))
    _forge(api, "disclosure:delivered", psp["id"], aid, arrest["id"])
    report = _report(api)
    (warning,) = report["warnings"]
    assert warning["agreement_id"] == aid and warning["partner"] == "PSP"
    assert warning["disclosures_after_end"] == "fewer than 5"
    assert warning["first_after_end"] == clock.now().isoformat()
    assert report["agreements"][0]["ended"]["holds"] is False
    html = _public(api, "/transparency").text
    assert 'role="alert"' in html
    assert "WARNING: the log records fewer than 5 disclosure(s)" in html


def test_revocation_ends_an_agreement_at_the_revocation_instant(
    api: Api, clock: FakeClock, backend: str
) -> None:
    psp = _partner(api, "PSP", "state_repository")
    aid = active_agreement(api.pars, "PSP")
    _submit(api)
    relay_once(api.pars)
    assert len(_feed(api, psp)["items"]) == 1
    revoked_at = START + timedelta(minutes=10)
    clock.set(revoked_at)
    ag.revoke(api.pars, OWNERS[1], aid)
    ended = _report(api)["agreements"][0]["ended"]
    assert (ended["how"], ended["at"], ended["holds"]) == ("revoked", revoked_at.isoformat(), True)

    clock.set(revoked_at + timedelta(seconds=1))
    _forge(api, "disclosure:lookup", psp["id"], aid, None)
    assert [w["agreement_id"] for w in _report(api)["warnings"]] == [aid]


def test_every_agreement_version_with_owner_approvals_not_usernames(
    api: Api, clock: FakeClock
) -> None:
    _partner(api, "PSP", "state_repository")
    aid = active_agreement(api.pars, "PSP", purpose="criminal history record")
    new_end = START + timedelta(days=400)
    ag.renew(api.pars, PRIVACY_OFFICER, aid, RenewalIn(starts_at=START, ends_at=new_end))
    report = _report(api)
    versions = [(a["id"], a["version"], a["state"]) for a in report["agreements"]]
    assert versions == [(aid, 1, "active"), (aid, 2, "draft")]
    first = report["agreements"][0]
    assert first["partner"] == "PSP" and first["partner_class"] == "state_repository"
    assert first["purpose"] == "criminal history record"
    assert first["granted_classes"] == ["case", "identity"]
    assert [p["owner"] for p in first["approvals"]] == ["district_attorney", "courts"]
    assert first["ended"] is None


@pytest.mark.parametrize("settings_overrides", [{"audit_signing_key": None}])
def test_public_page_needs_no_login_without_checkpoint_or_key(api: Api) -> None:
    r = _public(api, "/transparency")
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"]
    assert "<script" not in r.text
    assert "no checkpoint has been signed yet" in r.text
    assert "no signing key is configured" in r.text
    log = _report(api)["log"]
    assert log["checkpoint"] is None and log["public_key"] is None
    assert log["verify"]["standalone"] == "python -m pars.audit.standalone"


@pytest.mark.parametrize("settings_overrides", SIGNED)
def test_the_latest_checkpoint_is_published_and_verifiable(api: Api) -> None:
    _submit(api)
    signed = checkpoint(api.pars)
    log = _report(api)["log"]
    assert log["checkpoint"]["size"] == signed["size"] > 0
    assert log["key_matches"] is True
    key = base64.b64decode(log["public_key"]["public_key"])
    note, sig = log["checkpoint"]["note"], base64.b64decode(log["checkpoint"]["signature"])
    assert verify_note(note, sig, key)
    html = _public(api, "/transparency").text
    assert signed["root_hash"] in html and "pars audit verify" in html
    # The verifier key in the C2SP string form, and the checkpoint as the signed note itself,
    # the same as the API serves (HTML-escaped as a whole, line for line).
    verifier = log["public_key"]["verifier_key"]
    assert verifier.startswith(log["public_key"]["key_name"] + "+")
    assert html_lib.escape(verifier) in html
    served = api.client.get("/api/v1/audit/checkpoint").text
    assert served == signed["signed_note"] and html_lib.escape(served) in html


def test_bad_query_input_names_the_parameter(api: Api) -> None:
    api.client.headers.pop("Authorization", None)
    for params, name in (({"format": "xml"}, "format"), ({"partner": "x"}, "partner")):
        r = api.client.get("/api/v1/transparency", params=params)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/invalid-parameter"
        assert [e["parameter"] for e in r.json()["errors"]] == [name]
    r = api.as_("auditor").get("/api/v1/persons/not-a-person/disclosures")
    assert r.status_code == 422
    assert [e["parameter"] for e in r.json()["errors"]] == ["person_id"]
    r = api.as_("auditor").get("/api/v1/arrests/" + "0" * 36 + "/disclosures")
    assert [e["parameter"] for e in r.json()["errors"]] == ["arrest_id"]


def _identify(api: Api, arrest_id: str, state_id: str) -> str:
    return identify(api, arrest_id, state_id=state_id)


def test_disclosure_history_of_a_person_and_an_arrest(
    api: Api, clock: FakeClock, backend: str
) -> None:
    psp = _partner(api, "PSP", "state_repository")
    aid = active_agreement(
        api.pars,
        "PSP",
        lookup={"identifiers": ["otn"], "per_minute": 10, "purposes": ["warrant-check"]},
    )
    mine = [_submit(api), _submit(api)]
    other = _submit(api)
    person = _identify(api, mine[0]["id"], "SID-1")
    assert _identify(api, mine[1]["id"], "SID-1") == person
    _identify(api, other["id"], "SID-2")
    relay_once(api.pars)
    assert len(_feed(api, psp)["items"]) == 3
    clock.advance(timedelta(minutes=1))
    r = api.client.get(
        "/api/v1/lookup",
        params={"otn": mine[1]["otn"], "purpose": "warrant-check"},
        headers=psp["headers"],
    )
    assert r.status_code == 200, r.text
    api.fresh_tokens()

    log = rows(api.pars, "audit_log")
    leaves = {
        (row["record_id"], row["action"]): row["leaf_index"]
        for row in log
        if row["action"].startswith("disclosure:") and row["record_id"]
    }
    for role in ("privacy_officer", "auditor"):
        r = api.as_(role).get(f"/api/v1/persons/{person}/disclosures")
        assert r.status_code == 200, r.text
        history = r.json()
        assert history["person_id"] == person
        assert sorted(history["arrest_ids"]) == sorted(a["id"] for a in mine)
        got = [
            (i["arrest_id"], i["action"], i["transport"], i["partner"], i["agreement_id"],
             i["agreement_version"], i["classes"], i["leaf_index"])
            for i in history["items"]
        ]  # fmt: skip
        assert got == [
            (mine[0]["id"], "disclosure:delivered", "feed", "PSP", aid, 1, ["case", "identity"],
             leaves[(mine[0]["id"], "disclosure:delivered")]),
            (mine[1]["id"], "disclosure:delivered", "feed", "PSP", aid, 1, ["case", "identity"],
             leaves[(mine[1]["id"], "disclosure:delivered")]),
            (mine[1]["id"], "disclosure:lookup", "lookup", "PSP", aid, 1, ["case", "identity"],
             leaves[(mine[1]["id"], "disclosure:lookup")]),
        ]  # fmt: skip
        assert history["items"][2]["purpose"] == "warrant-check"
        assert history["items"][0]["at"] == START.isoformat()

    r = api.as_("auditor").get(f"/api/v1/arrests/{other['id']}/disclosures")
    assert [(i["arrest_id"], i["partner_id"]) for i in r.json()["items"]] == [
        (other["id"], psp["id"])
    ]
    reads = [row for row in rows(api.pars, "audit_log")
             if row["action"] == "disclosure_history:read"]  # fmt: skip
    assert [(row["actor"], row["subject"], row["outcome"]) for row in reads] == [
        ("privacy_officer1", person, "success"),
        ("auditor1", person, "success"),
        ("auditor1", other["id"], "success"),
    ]

    for role in ("officer", "prosecutor", "admin", "clerk"):
        r = api.as_(role).get(f"/api/v1/persons/{person}/disclosures")
        assert r.status_code == 403, (role, r.text)
        assert r.json()["type"] == "/problems/forbidden"
    api.client.headers.pop("Authorization", None)
    assert api.client.get(f"/api/v1/persons/{person}/disclosures").status_code == 401
    assert api.client.get(f"/api/v1/arrests/{other['id']}/disclosures").status_code == 401
    r = api.client.get(f"/api/v1/persons/{person}/disclosures", headers=psp["headers"])
    assert r.status_code == 401

    unknown = "00000000-0000-4000-8000-000000000000"
    r = api.as_("auditor").get(f"/api/v1/persons/{unknown}/disclosures")
    assert r.status_code == 404
    assert rows(api.pars, "audit_log")[-1]["outcome"] == "failure"


_INLINE_STYLE_OR_SCRIPT = re.compile(r"<script|<style|\sstyle=|<[^>]+\son[a-z]+\s*=", re.I)


def test_the_page_reads_in_words_for_anyone(api: Api, clock: FakeClock) -> None:
    """Dates and months in words in the courts' time zone (the exact instant kept in each
    <time datetime>), the terms explained, no script or inline style (its CSP allows neither),
    and the agreements table labelled for stacking on narrow screens."""
    psp = _partner(api, "PSP", "state_repository")
    end = START + timedelta(hours=1)
    aid = active_agreement(api.pars, "PSP", ends_at=end)
    for _ in range(6):
        _submit(api)
    relay_once(api.pars)
    _feed(api, psp, limit=3)
    clock.set(end + timedelta(days=1))
    withhold_ended(api.pars)
    r = _public(api, "/transparency")
    csp = r.headers["content-security-policy"]
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp and "script-src" not in csp
    assert "default-src 'none'" in csp
    html = r.text
    assert not _INLINE_STYLE_OR_SCRIPT.search(html)
    # START is Friday November 20, 2026, 17:00 UTC: noon in Philadelphia.
    assert "Generated" not in html and "This report was made on" in html
    assert (
        '<time datetime="2026-11-21T18:00:00+00:00">November 21, 2026, 1:00 PM EST</time>' in html
    )
    assert f'<time datetime="{end.isoformat()}">November 20, 2026, 1:00 PM EST</time>' in html
    assert "From <time" in html and "until <time" in html
    assert "District Attorney, <time" in html and "owner_district_attorney" not in html
    assert "November 2026</th>" in html and ">2026-11<" not in html  # months in words
    assert "Nothing sent after it ended" in html and "(its term ended)" in html
    assert "Ended</strong>" in html and "In force" in html  # the state in words
    assert "Items held back, never sent, because the agreement had ended" in html
    assert "Withheld</dt>" in html and "What the words mean" in html
    assert "state records repository" in html and "Case facts" in html
    assert 'data-label="After its end"' in html and "usa-table--stacked" in html
    assert 'role="img"' in html and "<title" in html  # the chart, named, beside its table
    assert f'<code class="tr-id">{aid}</code>' in html
