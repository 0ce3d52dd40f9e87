"""The audit screen (/audit): auditors only (others get the 403 page, audited); every search
filter narrows the result to exactly the log rows it should, against rows made here; pages
follow one another without gap or repeat; a record's disclosure history lists the deliveries
made under an agreement; "verify now" shows the checkpoint it checked and "Verified", and after
a log row is tampered with in the database, the failure; bad input is a plain-word error beside
its field; the verify POST needs the CSRF token; every read is on the log."""

from __future__ import annotations

import base64
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pars.domain.clock import FakeClock
from pars.domain.errors import Forbidden
from pars.domain.identifiers import format_otn
from pars.domain.roles import Role
from pars.services import agreements as ag
from pars.services import audit_search as svc
from pars.services.app import Principal
from pars.services.audit import checkpoint
from pars.services.delivery.feed import authenticate_partner, feed_page
from pars.services.delivery.relay import relay_once
from pars.store.audit import AuditRow, append_rows
from tests.conftest import START, Api, rows
from tests.factories import active_agreement, approve_all
from tests.web.helpers import arrest_in, identify
from tests.web.screens import Screens, csrf

AUDITOR = Principal("auditor1", "auditor")
_LEAF = re.compile(r'<th scope="row" class="audit-n" data-label="Entry">(\d+)</th>')
_INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|<[^>]+\son[a-z]+\s*=", re.I)
NO_SUCH_OTN = format_otn("Q", 999)
BAD_CHECK_DIGIT = NO_SUCH_OTN[:-1] + str((int(NO_SUCH_OTN[-1]) + 1) % 10)
LATER = START + timedelta(hours=3)  # 3:00 PM EST, November 20, 2026


@pytest.fixture
def screens(api: Api) -> Screens:
    return Screens(api.pars)


def _world(api: Api, clock: FakeClock) -> dict[str, Any]:
    """Two partners with an agreement each; two arrests (the first identified to a person)
    delivered to PSP; three hours later a prosecutor charges the second arrest."""
    _, psp_key = ag.add_partner(api.pars, "PSP", "state_repository")
    ag.add_partner(api.pars, "Penn Research", "research")
    psp_agreement = active_agreement(api.pars, "PSP")
    research_agreement = active_agreement(api.pars, "Penn Research", granted=["case"])
    first = arrest_in(api, "submitted")
    second = arrest_in(api, "submitted")
    person = identify(api, first["id"], state_id="SID-77")
    relay_once(api.pars)
    psp = authenticate_partner(api.pars, psp_key)
    delivered = feed_page(api.pars, psp, 0, 100)["items"]
    assert len(delivered) >= 2
    clock.advance(timedelta(hours=3))
    api.fresh_tokens()
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{second['id']}/charging-decision", json=approve_all(second)
    )
    assert r.status_code == 200, r.text
    return {
        "psp_agreement": psp_agreement,
        "research_agreement": research_agreement,
        "first": first,
        "second": second,
        "person": person,
    }


def _leaves(html: str) -> list[int]:
    return [int(n) for n in _LEAF.findall(html)]


def _log(api: Api) -> list[dict[str, Any]]:
    return rows(api.pars, "audit_log")


def _expect(api: Api, keep: Any) -> list[int]:
    """The leaf indexes of the rows `keep` accepts, newest first."""
    found = [r["leaf_index"] for r in _log(api) if keep(r)]
    return sorted(found, reverse=True)


def _search(client: TestClient, **params: str) -> Any:
    r = client.get("/audit", params=params)
    assert r.status_code == 200, r.text
    return r


# -- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_auditors_only(api: Api, screens: Screens, role: str) -> None:
    b = screens.signed_in(role)
    allowed = role == "auditor"
    for path in ("/audit", "/audit/history?record=Q000001-0"):
        r = b.get(path)
        assert r.status_code in ((200, 422) if allowed else (403,)), (path, r.status_code)
    r = screens.post(b, "/audit/verify")
    assert r.status_code == (200 if allowed else 403)
    if not allowed:
        assert "not for the" in r.text
        denied = [x for x in _log(api) if x["action"] == "page:forbidden"]
        assert {d["details"]["path"] for d in denied[-3:]} == {
            "/audit", "/audit/history", "/audit/verify"
        }  # fmt: skip
        reads = {"audit_log:read", "audit:verified", "disclosure_history:read"}
        assert not [x for x in _log(api) if x["action"] in reads]


def test_the_service_refuses_other_roles(api: Api) -> None:
    for call in (
        lambda who: svc.search(api.pars, who),
        lambda who: svc.verify_now(api.pars, who),
        lambda who: svc.history(api.pars, who, "Q000001-0"),
    ):
        with pytest.raises(Forbidden):
            call(Principal("clerk1", "clerk"))
        assert _log(api)[-1]["action"] == "access:denied"
        assert _log(api)[-1]["actor"] == "clerk1"


def test_the_auditor_starts_at_the_audit_screen(screens: Screens) -> None:
    b = screens.signed_in("auditor")
    assert b.get("/", follow_redirects=False).headers["location"] == "/audit"
    nav = b.get("/home").text
    assert '<a href="/audit"' in nav


# -- searching --------------------------------------------------------------------------------


def test_each_filter_narrows_to_exactly_its_rows(
    api: Api, clock: FakeClock, screens: Screens, backend: str
) -> None:
    w = _world(api, clock)
    b = screens.signed_in("auditor")
    first, second = w["first"]["id"], w["second"]["id"]
    everything = _expect(api, lambda r: True)

    cases: list[tuple[dict[str, str], Any]] = [
        ({"actor": "prosecutor1"}, lambda r: r["actor"] == "prosecutor1"),
        ({"actor": "PSP"}, lambda r: r["actor"] == "PSP"),
        ({"record": first}, lambda r: first in (r["record_id"], r["subject"])),
        ({"record": w["first"]["otn"]}, lambda r: first in (r["record_id"], r["subject"])),
        ({"record": first.upper()}, lambda r: first in (r["record_id"], r["subject"])),
        (
            {"record": w["person"]},
            lambda r: {r["record_id"], r["subject"]} & {first, w["person"]},
        ),
        (
            {"agreement": w["psp_agreement"]},
            lambda r: w["psp_agreement"] in (r["agreement_id"], r["subject"]),
        ),
        (
            {"agreement": w["research_agreement"]},
            lambda r: w["research_agreement"] in (r["agreement_id"], r["subject"]),
        ),
        ({"kind": "disclosures"}, lambda r: r["action"].startswith("disclosure:")),
        # 2:00 PM EST is 19:00 UTC: only what the prosecutor did three hours in.
        ({"since": "2026-11-20T14:00"}, lambda r: r["at"] >= START + timedelta(hours=2)),
        ({"until": "2026-11-20T14:00"}, lambda r: r["at"] < START + timedelta(hours=2)),
        ({"until": "2026-11-19"}, lambda r: False),  # the whole of November 19: nothing then
        (
            {"record": second, "actor": "prosecutor1"},
            lambda r: r["actor"] == "prosecutor1" and second in (r["record_id"], r["subject"]),
        ),
        (
            {"record": second, "kind": "disclosures", "agreement": w["psp_agreement"]},
            lambda r: (
                r["record_id"] == second
                and r["action"].startswith("disclosure:")
                and r["agreement_id"] == w["psp_agreement"]
            ),
        ),
    ]
    for params, keep in cases:
        expected = _expect(api, keep)
        # Every filter must really narrow: fewer rows than the whole log, and (but for the day
        # before the data) some.
        assert len(expected) < len(everything), params
        assert expected or params == {"until": "2026-11-19"}, params
        assert len(expected) <= svc.PAGE, params
        html = _search(b, **params).text
        assert _leaves(html) == expected, params  # earlier searches for it included
        read = _log(api)[-1]
        assert (read["action"], read["actor"], read["outcome"]) == (
            "audit_log:read", "auditor1", "success"
        ), params  # fmt: skip
        assert read["details"]["entries"] == len(expected)
    assert "No entry matches this search." in _search(b, until="2026-11-19").text
    # A date alone covers the whole local day: all of this log, nothing of the next day.
    whole_day = _expect(api, lambda r: r["at"] < datetime(2026, 11, 21, 5, tzinfo=UTC))
    assert _leaves(_search(b, since="2026-11-20", until="2026-11-20").text) == whole_day[:50]
    assert _leaves(_search(b, since="2026-11-21").text) == []


def test_times_are_shown_and_read_in_the_courts_zone(
    api: Api, clock: FakeClock, screens: Screens
) -> None:
    w = _world(api, clock)
    html = _search(screens.signed_in("auditor"), actor="prosecutor1").text
    assert "Friday, November 20, 2026, 3:00 PM EST" in html
    assert f'datetime="{LATER.isoformat()}"' in html
    html = _search(screens.signed_in("auditor"), record=w["first"]["id"]).text
    assert "Friday, November 20, 2026, 12:00 PM EST" in html
    assert not _INLINE.search(html)
    # The values typed are shown back as the datetime-local field holds them.
    html = _search(screens.signed_in("auditor"), since="2026-11-20 14:00").text
    assert 'value="2026-11-20T14:00"' in html
    read = _log(api)[-1]
    assert read["details"]["since"] == "2026-11-20T14:00:00-05:00"


def test_pages_follow_one_another_without_gap_or_repeat(
    api: Api, clock: FakeClock, screens: Screens
) -> None:
    _world(api, clock)
    with api.pars.engine.begin() as conn:  # enough entries for three pages and a bit
        filler = [AuditRow("filler", "test:filler", details={"n": n}) for n in range(110)]
        append_rows(conn, filler, clock.now())
    b = screens.signed_in("auditor")
    expected = _expect(api, lambda r: True)
    assert len(expected) > 2 * svc.PAGE
    seen: list[int] = []
    r = _search(b)
    assert "Newest entries" not in r.text
    pages = 0
    while True:
        pages += 1
        leaves = _leaves(r.text)
        assert len(leaves) == svc.PAGE or "Older entries" not in r.text
        seen += leaves
        m = re.search(r'<a href="([^"]+)" rel="next">Older entries</a>', r.text)
        if not m:
            break
        r = b.get(m.group(1).replace("&amp;", "&"))
        assert r.status_code == 200
        assert 'href="/audit">Newest entries</a>' in r.text
    # Each page's own read is newer than the first page, so not in it.
    assert seen == expected and pages == -(-len(expected) // svc.PAGE)

    # A filter stays on the next page's link; the service's cursor is exclusive.
    page = svc.search(api.pars, AUDITOR, actor="cli", limit=3)
    assert len(page["items"]) == 3 and page["next"] == page["items"][-1]["leaf_index"]
    more = svc.search(api.pars, AUDITOR, actor="cli", limit=3, before=page["next"])
    assert more["items"][0]["leaf_index"] < page["next"]
    assert {r["actor"] for r in page["items"] + more["items"]} == {"cli"}
    html = _search(b, actor="filler", kind="").text
    assert len(_leaves(html)) == svc.PAGE
    link = re.search(r'<a href="([^"]+)" rel="next">', html)
    assert link and "actor=filler" in link.group(1) and "before=" in link.group(1)
    html = b.get(link.group(1).replace("&amp;", "&")).text
    assert len(_leaves(html)) == svc.PAGE and "filler" in html and "prosecutor1" not in html


# -- a record's disclosure history ------------------------------------------------------------


def test_a_records_history_lists_its_deliveries_under_the_agreement(
    api: Api, clock: FakeClock, screens: Screens
) -> None:
    w = _world(api, clock)
    b = screens.signed_in("auditor")
    first = w["first"]["id"]
    delivered = [
        r for r in _log(api) if r["action"] == "disclosure:delivered" and r["record_id"] == first
    ]
    assert len(delivered) == 1 and delivered[0]["agreement_id"] == w["psp_agreement"]
    for record in (first, w["first"]["otn"], w["person"]):
        r = b.get("/audit/history", params={"record": record})
        assert r.status_code == 200, r.text
        html = r.text
        assert not _INLINE.search(html)
        assert "Disclosure history of" in html
        assert '<td data-label="Partner">PSP</td>' in html
        assert "Penn Research" not in html.split("<table")[1]
        assert f"/audit?agreement={w['psp_agreement']}" in html
        assert f">{w['psp_agreement'][:8]}…</code></a>, version 1" in html
        assert f">{delivered[0]['leaf_index']}</a></th>" in html
        assert "Sent to a partner" in html and "Feed (the partner read it)" in html
        assert "Case facts, Identity" in html
        assert "Friday, November 20, 2026, 12:00 PM EST" in html
    # The second arrest was delivered too; it is not the first arrest's.
    other = [r for r in _log(api) if r["record_id"] == w["second"]["id"]]
    html = b.get("/audit/history", params={"record": first}).text
    assert f">{other[0]['leaf_index']}</a></th>" not in html
    reads = [r for r in _log(api) if r["action"] == "disclosure_history:read"]
    assert [(r["actor"], r["subject"], r["outcome"]) for r in reads] == [
        ("auditor1", first, "success"),
        ("auditor1", first, "success"),
        ("auditor1", w["person"], "success"),
        ("auditor1", first, "success"),
    ]
    # From the search, each disclosure links to the record's history.
    html = _search(b, kind="disclosures").text
    assert f'href="/audit/history?record={first}"' in html


def test_a_record_with_no_disclosures_reads_plainly(api: Api, screens: Screens) -> None:
    draft = arrest_in(api, "submitted")
    html = screens.signed_in("auditor").get("/audit/history", params={"record": draft["id"]})
    assert html.status_code == 200
    assert "The log records no disclosure of this record to any partner." in html.text


# -- verify now -------------------------------------------------------------------------------


def _verify(screens: Screens, client: TestClient, **kw: Any) -> Any:
    r = screens.post(client, "/audit/verify", page=client.get("/audit").text, **kw)
    assert r.status_code == 200, r.text
    return r


AUTO = {"HX-Request": "true", "X-PARS-Refresh": "auto"}  # as the progress fragment polls
_POLL = re.compile(r'hx-get="(/audit/verify/[A-Za-z0-9_-]+)" hx-trigger="load delay:1s"')


def _verify_htmx(screens: Screens, client: TestClient, page: str) -> str:
    """Press "Verify now" as HTMX does, then follow the fragment's polls to the result."""
    r = screens.post(client, "/audit/verify", page=page, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    for _ in range(600):
        poll = _POLL.search(r.text)
        if poll is None:
            return r.text
        assert "Checking the log" in r.text and "<progress" in r.text
        time.sleep(0.05)
        r = client.get(poll.group(1), headers=AUTO)
        assert r.status_code == 200, r.text
    raise AssertionError("the check never ended")


def test_verify_now_shows_the_checkpoint_then_a_tampered_row(
    api: Api, clock: FakeClock, screens: Screens, backend: str
) -> None:
    _world(api, clock)
    older = checkpoint(api.pars)
    arrest_in(api, "submitted")
    clock.advance(timedelta(minutes=5))
    latest = checkpoint(api.pars)
    b = screens.signed_in("auditor")
    page = b.get("/audit").text
    assert f"The latest signed checkpoint is number {latest['id']}" in page

    html = _verify(screens, b).text
    assert "Verified: the log is intact" in html
    assert f"number {latest['id']}, the latest signed" in html
    assert f"<dd>{latest['size']} entries</dd>" in html
    assert f"<code>{latest['root_hash']}</code>" in html
    assert f"<code>{latest['key_id']}</code>" in html
    assert "Friday, November 20, 2026, 3:05 PM EST" in html  # when it was signed
    assert f"number {older['id']}, {older['size']} entries" in html
    assert "the latest extends it" in html
    assert not _INLINE.search(html)
    ran = _log(api)[-1]
    assert (ran["action"], ran["actor"], ran["role"], ran["outcome"]) == (
        "audit:verified", "auditor1", "auditor", "success"
    )  # fmt: skip
    assert ran["details"]["checkpoint"] == latest["id"] and ran["details"]["problems"] == 0

    # With HTMX the check runs as a job: its progress first, then the result alone.
    fragment = _verify_htmx(screens, b, page)
    assert "<html" not in fragment
    assert "Verified: the log is intact" in fragment

    # Someone rewrites who did entry 3 in the database.
    with api.pars.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE leaf_index = 3")
    html = _verify(screens, b).text
    assert "Not verified: the log does not check" in html
    assert "entry 3: column actor differs from the logged entry" in html
    assert f"<code>{latest['root_hash']}</code>" in html  # still says what it checked
    ran = _log(api)[-1]
    assert (ran["action"], ran["outcome"]) == ("audit:verified", "failure")
    assert ran["details"]["problems"] >= 1


def test_a_rewritten_entry_breaks_the_signed_root(
    api: Api, clock: FakeClock, screens: Screens
) -> None:
    _world(api, clock)
    cp = checkpoint(api.pars)
    with api.pars.engine.begin() as conn:
        entry = conn.exec_driver_sql("SELECT entry FROM audit_log WHERE leaf_index = 5").scalar()
        forged = bytes(entry).replace(b'"actor":"cli"', b'"actor":"eve"')
        assert forged != bytes(entry)
        conn.exec_driver_sql(
            "UPDATE audit_log SET entry = ?, actor = 'eve' WHERE leaf_index = 5", (forged,)
        )
    html = _verify(screens, screens.signed_in("auditor")).text
    assert "Not verified" in html
    assert "entry 5: its hash differs from the cached leaf hash" in html
    assert base64.b64decode(cp["root_hash"]) and f"<code>{cp['root_hash']}</code>" in html


def test_a_log_the_verifier_cannot_read_or_a_bad_proof_is_a_failure_not_a_500(
    api: Api, clock: FakeClock, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint(api.pars)
    arrest_in(api, "submitted")
    checkpoint(api.pars)
    b = screens.signed_in("auditor")

    def broken(*_: Any, **__: Any) -> Any:
        raise ValueError("unreadable row")

    monkeypatch.setattr(svc.audit_verify, "verify", broken)
    html = _verify(screens, b).text
    assert "Not verified" in html and "the check stopped: part of the log cannot be read" in html
    monkeypatch.undo()
    real = svc.audit_svc.consistency_proof

    def wrong_proof(*args: Any) -> Any:
        proof = real(*args)
        return {**proof, "proof": [base64.b64encode(b"\0" * 32).decode()] * len(proof["proof"])}

    monkeypatch.setattr(svc.audit_svc, "consistency_proof", wrong_proof)
    html = _verify(screens, b).text
    assert "Not verified" in html and "is not proven to extend checkpoint" in html
    assert "the latest is not proven to extend it" in html
    assert _log(api)[-1]["outcome"] == "failure"


def test_verify_without_a_checkpoint_says_so(screens: Screens) -> None:
    b = screens.signed_in("auditor")
    assert "No checkpoint has been signed yet" in b.get("/audit").text
    html = _verify(screens, b).text
    assert "Verified: the log is intact" in html
    assert "no checkpoint has been signed yet" in html


def test_the_verify_post_needs_the_csrf_token(api: Api, screens: Screens) -> None:
    b = screens.signed_in("auditor")
    page = b.get("/audit").text
    assert csrf(page)
    assert b.post("/audit/verify").status_code == 403
    assert b.post("/audit/verify", data={"csrf_token": "forged"}).status_code == 403
    assert not [r for r in _log(api) if r["action"] == "audit:verified"]


# -- bad input --------------------------------------------------------------------------------


def _field_error(html: str, field: str) -> str:
    m = re.search(rf'<span class="usa-error-message" id="{field}-error">([^<]+)</span>', html)
    assert m, f"no error beside {field}"
    assert f'id="{field}"' in html and 'aria-invalid="true"' in html
    return m.group(1)


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"since": "yesterday"}, "since", "Enter a date, or a date and time"),
        ({"until": "2026-13-40"}, "until", "Enter a date, or a date and time"),
        ({"since": "2026-11-20T14:00", "until": "2026-11-20T13:00"}, "until", "after the start"),
        ({"record": "nonsense"}, "record", "Enter an arrest or person id"),
        ({"record": BAD_CHECK_DIGIT}, "record", "check digit"),
        ({"record": NO_SUCH_OTN}, "record", "No arrest has this offense tracking number"),
        ({"record": "00000000-0000-4000-8000-000000000000"}, "record", "No arrest or person"),
        ({"agreement": "00000000-0000-4000-8000-000000000000"}, "agreement", "No agreement"),
        ({"agreement": "not-an-id"}, "agreement", "not an agreement id"),
        ({"kind": "everything"}, "kind", "Choose one of the kinds listed"),
        ({"actor": "x" * 61}, "actor", "at most 60 characters"),
    ],
)
def test_bad_input_is_a_plain_error_beside_the_field(
    api: Api, screens: Screens, params: dict[str, str], field: str, words: str
) -> None:
    b = screens.signed_in("auditor")
    r = b.get("/audit", params=params)
    assert r.status_code == 422, r.text
    assert words in _field_error(r.text, field)
    assert "The search was not run" in r.text and not _leaves(r.text)


def test_an_unknown_record_in_a_search_is_audited_as_a_failed_read(
    api: Api, screens: Screens
) -> None:
    b = screens.signed_in("auditor")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert b.get("/audit", params={"record": unknown}).status_code == 422
    read = _log(api)[-1]
    assert (read["action"], read["outcome"], read["details"]["refused"]) == (
        "audit_log:read", "failure", ["/record"]
    )  # fmt: skip


def test_a_broken_page_link_shows_the_newest_entries(api: Api, screens: Screens) -> None:
    r = screens.signed_in("auditor").get("/audit", params={"before": "abc"})
    assert r.status_code == 200
    assert "The page link was not understood" in r.text and _leaves(r.text)


def test_bad_history_input_is_beside_the_field(api: Api, screens: Screens) -> None:
    b = screens.signed_in("auditor")
    r = b.get("/audit/history", params={"record": "nonsense"})
    assert r.status_code == 422
    assert "Enter an arrest or person id" in _field_error(r.text, "history-record")
    unknown = "00000000-0000-4000-8000-000000000000"
    r = b.get("/audit/history", params={"record": unknown})
    assert r.status_code == 404 and "<html" in r.text
    assert "No arrest or person has this id" in _field_error(r.text, "history-record")
    read = _log(api)[-1]
    assert (read["action"], read["subject"], read["outcome"]) == (
        "disclosure_history:read", unknown, "failure"
    )  # fmt: skip
    r = b.get("/audit/history", params={"record": NO_SUCH_OTN})
    assert r.status_code == 422
    assert "No arrest has this offense tracking number" in r.text
    assert (_log(api)[-1]["action"], _log(api)[-1]["outcome"]) == (
        "disclosure_history:read", "failure"
    )  # fmt: skip
    assert b.get("/audit/history").status_code == 200  # the empty form


def test_verify_now_runs_once_shows_progress_and_says_when_a_poll_names_no_check(
    api: Api, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint(api.pars)
    arrest_in(api, "submitted")
    checkpoint(api.pars)
    release = threading.Event()
    calls: list[str] = []
    real = svc.audit_verify.verify

    def slow(pars: Any, *args: Any, progress: Any = None, **kw: Any) -> Any:
        calls.append("verify")
        if progress:
            progress(7, 20)
        assert release.wait(30)
        return real(pars, *args, progress=progress, **kw)

    monkeypatch.setattr(svc.audit_verify, "verify", slow)
    first, second = screens.signed_in("auditor"), screens.signed_in("auditor")
    page = first.get("/audit").text
    r = screens.post(first, "/audit/verify", page=page, headers={"HX-Request": "true"})
    poll = _POLL.search(r.text)
    assert poll is not None, r.text
    for _ in range(200):  # the thread reports its first progress
        shown = first.get(poll.group(1), headers=AUTO).text
        if "7 of 20 entries read" in shown:
            break
        time.sleep(0.02)
    assert "7 of 20 entries read" in shown and 'value="35"' in shown
    assert "Started by auditor1" in shown
    # A second press meanwhile joins the running check instead of starting another.
    joined = screens.post(
        second, "/audit/verify", page=second.get("/audit").text, headers={"HX-Request": "true"}
    )
    assert _POLL.search(joined.text).group(1) == poll.group(1)  # type: ignore[union-attr]
    release.set()
    for _ in range(200):
        done = first.get(poll.group(1), headers=AUTO).text
        if "Verified: the log is intact" in done:
            break
        time.sleep(0.02)
    assert "Verified: the log is intact" in done
    assert calls == ["verify"]
    assert [r["actor"] for r in _log(api) if r["action"] == "audit:verified"] == ["auditor1"]
    # A check this process does not hold (restarted, or another process): said in words.
    gone = first.get("/audit/verify/" + "x" * 22, headers=AUTO)
    assert gone.status_code == 200 and "This check is not held by this server" in gone.text
    # Not for other roles.
    assert screens.signed_in("officer").get(poll.group(1)).status_code == 403
