"""The agreements screens (/agreements): roles, CSRF, drafting from the form and from YAML as the
API would, refused grants shown beside the field with nothing written, the lifecycle (submit,
approve with the quorum shown, suspend, renew, revoke) through the same handlers as the API,
each partner's deliveries and quarantine, and a field table that is exactly what `project()`
returns for a record holding every catalogue leaf."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from pars.domain.roles import Role
from pars.services.agreements import add_partner
from pars.sharing.agreements import AgreementState, from_document
from pars.sharing.canaries import canary_record, leaves_seen
from pars.sharing.projection import Event, project
from tests.conftest import Api, rows
from tests.web.screens import Screens

ALLOWED = {"privacy_officer"}
BASE: dict[str, Any] = {
    "partner": "Pennsylvania State Police",
    "purpose": "statewide criminal history record",
    "legal_basis": "18 Pa.C.S. § 9112",
    "event_types": ["pars.arrest.submitted", "pars.arraignment.completed"],
    "granted": ["case", "identity"],
    "starts_at": "2026-11-20T00:00:00-05:00",
    "ends_at": "2027-08-31T00:00:00-04:00",
    "lookup": {"identifiers": ["otn"], "per_minute": 30},
}
FORM: dict[str, Any] = {
    "purpose": "statewide criminal history record",
    "legal_basis": "18 Pa.C.S. § 9112",
    "event_types": ["pars.arrest.submitted", "pars.custody.changed"],
    "classes": ["case"],
    "fields": "person.last_name\nperson.aliases",
    "starts_at": "2026-11-20T00:00",
    "ends_at": "2027-08-31T00:00",
    "transport": "feed",
    "webhook_url": "",
    "identifiers": ["otn"],
    "per_minute": "30",
}
_ROW = re.compile(r'<tr><th scope="row"><code>([^<]+)</code></th><td>[a-z_]+</td>(.*?)</tr>')


@pytest.fixture
def screens(api: Api) -> Screens:
    return Screens(api.pars)


@pytest.fixture
def partner(api: Api) -> str:
    partner_id, _ = add_partner(api.pars, "Pennsylvania State Police", "state_repository")
    return partner_id


def _create(api: Api, **kw: Any) -> dict[str, Any]:
    r = api.as_("privacy_officer").post("/api/v1/agreements", json={**BASE, **kw})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _read(api: Api, aid: str) -> dict[str, Any]:
    r = api.as_("auditor").get(f"/api/v1/agreements/{aid}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _count(api: Api) -> int:
    return len(api.as_("auditor").get("/api/v1/agreements").json()["items"])


def _post(screens: Screens, client: TestClient, path: str, data: dict[str, Any], page: str) -> Any:
    return screens.post(client, path, data, page=page, follow_redirects=False)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_on_every_page(api: Api, screens: Screens, partner: str, role: str) -> None:
    aid = _create(api)["id"]
    b = screens.signed_in(role)
    paths = ["/agreements", "/agreements/new", f"/agreements/{aid}", f"/agreements/{aid}?version=1"]
    paths.append(f"/agreements/partners/{partner}")
    for path in paths:
        r = b.get(path)
        assert r.status_code == (200 if role in ALLOWED else 403), (path, r.status_code)
        if role not in ALLOWED:
            assert "not for the" in r.text
    if role not in ALLOWED:
        denied = [x for x in rows(api.pars, "audit_log") if x["action"] == "page:forbidden"]
        assert denied[-1]["details"]["path"] == "/agreements/partners/{partner_id}"


def test_every_post_refuses_a_missing_csrf_token(api: Api, screens: Screens, partner: str) -> None:
    aid = _create(api)["id"]
    owner = screens.signed_in("owner_courts")
    before = _read(api, aid)
    posts = {
        "/agreements": {**FORM, "partner": partner},
        "/agreements/yaml": {"document": json.dumps(BASE)},
        f"/agreements/{aid}/submit": {},
        f"/agreements/{aid}/approve": {},
        f"/agreements/{aid}/suspend": {},
        f"/agreements/{aid}/revoke": {},
        f"/agreements/{aid}/renew": {
            "starts_at": "2027-08-31T00:00",
            "ends_at": "2028-08-31T00:00",
        },
    }
    for path, data in posts.items():
        r = owner.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
        r = owner.post(path, data={**data, "csrf_token": "forged"}, follow_redirects=False)
        assert r.status_code == 403, path
    assert _read(api, aid) == before and _count(api) == 1


def test_unknown_ids_are_404_pages_and_bad_ids_422(screens: Screens) -> None:
    b = screens.signed_in("privacy_officer")
    missing = "00000000-0000-0000-0000-000000000000"
    assert b.get(f"/agreements/{missing}").status_code == 404
    assert b.get(f"/agreements/partners/{missing}").status_code == 404
    assert b.get("/agreements/not-an-id").status_code in (404, 422)
    assert b.get("/agreements/partners/x?status=everything").status_code == 422


def test_draft_from_the_form_is_what_the_api_would_store(
    api: Api, screens: Screens, partner: str
) -> None:
    b = screens.signed_in("privacy_officer")
    page = b.get("/agreements/new").text
    assert "Pennsylvania State Police" in page and 'type="datetime-local"' in page
    r = _post(screens, b, "/agreements", {**FORM, "partner": partner}, page)
    assert r.status_code == 303, r.text
    aid = r.headers["location"].split("/")[2].split("?")[0]
    a = _read(api, aid)
    assert a["state"] == "draft" and a["partner"] == partner
    assert a["event_types"] == ["pars.arrest.submitted", "pars.custody.changed"]
    assert a["granted"] == ["case", "person.aliases", "person.last_name"]
    # The form's times are the city's (America/New_York): midnight EST and midnight EDT.
    assert a["starts_at"] == "2026-11-20T05:00:00+00:00"
    assert a["ends_at"] == "2027-08-31T04:00:00+00:00"
    # The form has no purpose codes yet: look-ups under it are refused until they are added.
    assert a["lookup"] == {"identifiers": ["otn"], "per_minute": 30, "purposes": []}
    created = [x for x in rows(api.pars, "audit_log") if x["action"] == "agreement:created"]
    assert created[-1]["actor"] == "privacy_officer1" and created[-1]["subject"] == aid
    shown = b.get(r.headers["location"]).text
    assert "The draft is saved" in shown and "Draft" in shown
    assert "Friday, November 20, 2026, 12:00 AM EST" in shown


def test_draft_from_yaml(api: Api, screens: Screens, partner: str) -> None:
    b = screens.signed_in("privacy_officer")
    page = b.get("/agreements/new").text
    document = (
        "partner: Pennsylvania State Police\npurpose: records\nlegal_basis: 18 Pa.C.S. 9112\n"
        "event_types: [pars.arrest.submitted]\ngranted: [case]\n"
        "starts_at: 2026-11-20T00:00:00-05:00\nends_at: '2027-08-31T00:00:00-04:00'\n"
    )
    r = _post(screens, b, "/agreements/yaml", {"document": document}, page)
    assert r.status_code == 303, r.text
    aid = r.headers["location"].split("/")[2].split("?")[0]
    a = _read(api, aid)
    assert (a["purpose"], a["granted"], a["starts_at"]) == (
        "records",
        ["case"],
        "2026-11-20T05:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("change", "field_id", "words"),
    [
        ({"purpose": ""}, "purpose-error", "Say what the partner will use the data for"),
        ({"event_types": []}, "event-types-error", "Tick at least one event type"),
        ({"classes": [], "fields": ""}, "classes-error", "Grant at least one class or field"),
        ({"ends_at": "2026-11-19T00:00"}, "ends-at-error", "The end must be after the start"),
        ({"starts_at": "soon"}, "starts-at-error", "Enter the date and time it starts as"),
        ({"per_minute": "lots"}, "per-minute-error", "as a whole number"),
        ({"partner": ""}, "partner-error", "Choose the partner agency"),
        ({"transport": "webhook"}, "webhook-url-error", "Enter the webhook address"),
        # Refused grants, in the policy's and the catalogue's words, beside the grant.
        ({"fields": "created_by"}, "classes-error", "Staff usernames never leave PARS: created_by"),
        (
            {"classes": ["case", "juvenile"]},
            "classes-error",
            "forbids juvenile to 'state_repository'",
        ),
        ({"fields": "person.ssn"}, "classes-error", "forbids protected"),
        ({"fields": "person.shoe_size"}, "classes-error", "Not a field or class: person.shoe_size"),
    ],
)
def test_bad_drafts_say_why_beside_the_field_and_write_nothing(
    api: Api, screens: Screens, partner: str, change: dict[str, Any], field_id: str, words: str
) -> None:
    b = screens.signed_in("privacy_officer")
    page = b.get("/agreements/new").text
    audit_before = len(rows(api.pars, "audit_log"))
    r = _post(screens, b, "/agreements", {**FORM, "partner": partner, **change}, page)
    assert r.status_code == 422, r.text
    assert "The draft was not saved" in r.text
    error = re.search(rf'<span class="usa-error-message" id="{field_id}">([^<]*)</span>', r.text)
    assert error, r.text
    assert words in html.unescape(error.group(1))
    assert _count(api) == 0
    assert not [
        x
        for x in rows(api.pars, "audit_log")[audit_before:]
        if x["action"].startswith("agreement:")
    ]
    # What was typed is kept.
    assert html.escape(FORM["legal_basis"]) in r.text or "legal_basis" in change


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ("partner: [unclosed", "This is not YAML"),
        ("- just\n- a list", "Paste a YAML mapping"),
        (json.dumps({**BASE, "state": "active"}), "'state' is not part of an agreement draft"),
        (json.dumps({**BASE, "granted": ["staff"]}), "Staff usernames never leave PARS"),
        (json.dumps({**BASE, "partner": "Nobody"}), "No partner 'Nobody'"),
    ],
)
def test_bad_yaml_says_why_and_writes_nothing(
    api: Api, screens: Screens, partner: str, document: str, words: str
) -> None:
    b = screens.signed_in("privacy_officer")
    page = b.get("/agreements/new").text
    r = _post(screens, b, "/agreements/yaml", {"document": document}, page)
    assert r.status_code == 422, r.text
    errors = re.search(r'id="document-error">(.*?)</ul>', r.text, re.S)
    assert errors and words in html.unescape(errors.group(1)), r.text
    assert str(escape(document)) in r.text  # kept for correction
    assert _count(api) == 0


def test_lifecycle_through_the_screen(api: Api, screens: Screens, partner: str) -> None:
    aid = _create(api)["id"]
    officer = screens.signed_in("privacy_officer")
    page = officer.get(f"/agreements/{aid}").text
    assert "Submit for the owners" in page and "Approve for" not in page
    r = _post(screens, officer, f"/agreements/{aid}/submit", {}, page)
    assert (r.status_code, _read(api, aid)["state"]) == (303, "pending_approval")

    da = screens.signed_in("owner_district_attorney")
    page = da.get(f"/agreements/{aid}").text
    assert "Approved by <strong>0 of the 2</strong>" in page
    assert "Waiting for: district attorney, courts, city." in page
    r = _post(screens, da, f"/agreements/{aid}/approve", {}, page)
    assert r.status_code == 303 and _read(api, aid)["state"] == "pending_approval"
    page = da.get(r.headers["location"]).text
    assert "Your approval is recorded" in page and "Approved by <strong>1 of the 2</strong>" in page
    assert "Approve for" not in page  # already approved
    # Approving twice (a stale page) is refused in words; nothing changes.
    r = _post(screens, da, f"/agreements/{aid}/approve", {}, page)
    assert r.status_code == 409 and "already approved" in html.unescape(r.text)
    assert len(_read(api, aid)["approvals"]) == 1

    courts = screens.signed_in("owner_courts")
    page = courts.get(f"/agreements/{aid}").text
    r = _post(screens, courts, f"/agreements/{aid}/approve", {}, page)
    assert r.status_code == 303
    a = _read(api, aid)
    assert a["state"] == "active"
    assert [p["owner"] for p in a["approvals"]] == ["district_attorney", "courts"]
    page = courts.get(f"/agreements/{aid}").text
    assert "Data is being sent under this version now" in page

    city = screens.signed_in("owner_city")
    page = city.get(f"/agreements/{aid}").text
    r = _post(screens, city, f"/agreements/{aid}/suspend", {}, page)
    assert r.status_code == 303 and _read(api, aid)["state"] == "suspended"

    page = officer.get(f"/agreements/{aid}").text
    # Bad dates are errors beside the renewal's fields, and nothing is written.
    r = _post(screens, officer, f"/agreements/{aid}/renew", {"starts_at": "", "ends_at": "x"}, page)
    assert r.status_code == 422 and "The agreement was not renewed" in r.text
    assert 'id="renew-starts-at-error">Enter the date and time it starts<' in r.text
    assert 'id="renew-ends-at-error">Enter the date and time it ends as' in r.text
    assert _read(api, aid)["version"] == 1
    renewal = {"starts_at": "2027-08-31T00:00", "ends_at": "2028-08-31T00:00"}
    r = _post(screens, officer, f"/agreements/{aid}/renew", renewal, page)
    assert r.status_code == 303
    a = _read(api, aid)
    assert (a["version"], a["state"], a["ends_at"]) == (2, "draft", "2028-08-31T04:00:00+00:00")
    page = officer.get(f"/agreements/{aid}?version=1").text
    assert "This is an earlier version" in page and "Suspend now" not in page

    page = city.get(f"/agreements/{aid}").text
    r = _post(screens, city, f"/agreements/{aid}/revoke", {}, page)
    assert r.status_code == 303 and _read(api, aid)["state"] == "revoked"
    actions = [x["action"] for x in rows(api.pars, "audit_log") if x["subject"] == aid]
    for expected in ("submitted", "approved", "suspended", "renewed", "revoked"):
        assert f"agreement:{expected}" in actions


def test_only_owners_approve_and_bad_renewals_change_nothing(
    api: Api, screens: Screens, partner: str
) -> None:
    aid = _create(api)["id"]
    officer = screens.signed_in("privacy_officer")
    page = officer.get(f"/agreements/{aid}").text
    _post(screens, officer, f"/agreements/{aid}/submit", {}, page)
    page = officer.get(f"/agreements/{aid}").text
    assert "Approve for" not in page and "for staff who speak for an owner" in page
    r = _post(screens, officer, f"/agreements/{aid}/approve", {}, page)
    assert r.status_code == 403 and "speak for an owner" in r.text
    assert _read(api, aid)["approvals"] == []
    # A renewal before the agreement is active is refused.
    renewal = {"starts_at": "2027-08-31T00:00", "ends_at": "2028-08-31T00:00"}
    r = _post(screens, officer, f"/agreements/{aid}/renew", renewal, page)
    assert r.status_code == 409 and "cannot renew" in html.unescape(r.text)
    # A sensitive class the agreement does not ask for is refused by the input model.
    da = screens.signed_in("owner_district_attorney")
    page = da.get(f"/agreements/{aid}").text
    r = _post(screens, da, f"/agreements/{aid}/approve", {"sensitive": "staff"}, page)
    assert r.status_code == 422 and "Approve only sensitive classes" in r.text
    r = _post(screens, da, f"/agreements/{aid}/approve", {"sensitive": "juvenile"}, page)
    assert r.status_code == 422 and "does not ask for" in r.text
    a = _read(api, aid)
    assert (a["version"], a["approvals"]) == (1, [])


def _table(page: str) -> dict[str, list[bool]]:
    table = page[
        page.index('id="fields-table"') : page.index("</table>", page.index('id="fields-table"'))
    ]
    return {
        m.group(1): ["<td>Sent</td>" in c for c in re.findall(r"<td>.*?</td>", m.group(2))]
        for m in _ROW.finditer(table)
    }


def _projected(api: Api, aid: str) -> dict[str, set[str]]:
    """What project() sends of a record holding every catalogue leaf, per covered event type."""
    a = from_document(_read(api, aid))
    live = replace(a, state=AgreementState.ACTIVE)
    out = {}
    for t in sorted(a.event_types):
        event = Event("e", t, "urn:test", "s", a.starts_at, 1, canary_record())
        sent = project(live, event, a.starts_at, api.pars.policy)
        assert sent is not None
        out[t] = leaves_seen(json.dumps(sent["data"])) | ({"juvenile"} & set(sent["data"]))
    return out


@pytest.mark.parametrize(
    "granted",
    [
        ["case", "identity"],
        ["person.last_name", "charges[].statute", "person.aliases", "custody_changes[].reason"],
        ["officer", "arraignment.bail.type", "arraignment.bail.amount", "location"],
    ],
)
def test_the_field_table_is_what_the_projection_returns(
    api: Api, screens: Screens, partner: str, granted: list[str]
) -> None:
    aid = _create(api, granted=granted)["id"]
    page = screens.signed_in("privacy_officer").get(f"/agreements/{aid}").text
    shown = _table(page)
    expected = _projected(api, aid)
    columns = sorted(expected)
    every = set().union(*expected.values())
    assert set(shown) == every and every
    for path, cells in shown.items():
        assert cells == [path in expected[t] for t in columns], path
    # Staff leaves never appear, whatever the grant.
    assert not {"created_by", "custody_changes[].by", "charging.decided_by"} & set(shown)


def test_the_field_table_shows_what_the_projection_holds_back_and_the_juvenile_rule(
    api: Api, screens: Screens, tmp_path: Path
) -> None:
    # A policy allowing protected fields and juvenile records to courts: until a quorum of
    # owners approves them, the projection holds them back, and the table says so.
    add_partner(api.pars, "Municipal Court", "court")
    api.pars.policy = _court_policy(api.pars.policy)
    aid = _create(api, partner="Municipal Court", granted=["case", "person.ssn", "juvenile"])["id"]
    officer = screens.signed_in("privacy_officer")
    page = officer.get(f"/agreements/{aid}").text
    assert "person.ssn" not in _table(page)
    held = page[page.index("Granted but held back") :]
    assert "<code>person.ssn</code>" in held[: held.index("</ul>")]
    assert page.count("Not sent at all") == 2  # a juvenile's record, for both event types
    _post(screens, officer, f"/agreements/{aid}/submit", {}, page)
    for owner in ("owner_district_attorney", "owner_courts"):
        b = screens.signed_in(owner)
        page = b.get(f"/agreements/{aid}").text
        assert "Sensitive classes you approve as well" in page
        r = _post(
            screens, b, f"/agreements/{aid}/approve", {"sensitive": ["protected", "juvenile"]}, page
        )
        assert r.status_code == 303, r.text
    page = officer.get(f"/agreements/{aid}").text
    shown = _table(page)
    assert shown["person.ssn"] == [True, True]
    assert set(shown) == set().union(*_projected(api, aid).values())
    assert "Not sent at all" not in page and "Granted but held back" not in page


def _court_policy(policy: Any) -> Any:
    from pars.sharing.policy import JurisdictionPolicy

    allowed = dict(policy.allowed)
    allowed["court"] = allowed["court"] | {"protected", "juvenile"}
    return JurisdictionPolicy.from_mapping(
        {
            "name": "test",
            "owners": list(policy.owners),
            "quorum": policy.quorum,
            "partner_classes": {k: sorted(v) for k, v in allowed.items()},
        }
    )


def test_partner_page_lists_deliveries_withheld_dead_letters_and_quarantine(
    api: Api, screens: Screens, partner: str
) -> None:
    from pars.store.tables import deliveries, quarantine

    aid = _create(api)["id"]
    now = api.pars.clock.now()
    with api.pars.uow() as uow:
        base = {"partner_id": partner, "agreement_id": aid, "agreement_version": 1,
                "event_type": "pars.arrest.submitted", "transport": "webhook",
                "created_at": now, "attempts": 0}  # fmt: skip
        uow.conn.execute(deliveries.insert().values(
            **base, event_id="e-dead", outbox_seq=1, subject="arrest-1", status="dead",
            last_error="HTTPStatus503"))  # fmt: skip
        uow.conn.execute(deliveries.insert().values(
            **base, event_id="e-held", outbox_seq=2, subject="arrest-2", status="withheld",
            withheld_at=now, withheld_reason="agreement revoked"))  # fmt: skip
        uow.conn.execute(quarantine.insert().values(
            stage="webhook", event_id="e-bad", partner_id=partner, agreement_id=aid,
            agreement_version=1, error="TypeError", at=now))  # fmt: skip
        uow.commit()
    b = screens.signed_in("privacy_officer")
    page = b.get(f"/agreements/partners/{partner}").text
    dead = page[page.index("<h2>Dead letters") : page.index("<h2>Withheld")]
    assert "1 dead letters" in dead and "arrest-1" in dead and "HTTPStatus503" in dead
    held = page[page.index("<h2>Withheld") : page.index("<h2>Quarantined")]
    assert "arrest-2" in held and "agreement revoked" in held
    quarantined = page[page.index("<h2>Quarantined") : page.index('id="deliveries"')]
    assert "TypeError" in quarantined and "e-bad" in quarantined
    api_quarantine = api.as_("privacy_officer").get(f"/api/v1/partners/{partner}/quarantine").json()
    assert [q["event_id"] for q in api_quarantine["items"]] == ["e-bad"]
    only_dead = b.get(f"/agreements/partners/{partner}?status=dead").text
    listed = only_dead[only_dead.index('id="deliveries"') :]
    assert "arrest-1" in listed and "arrest-2" not in listed
    assert "Pennsylvania State Police" in b.get("/agreements").text
