"""The identification queue (/identification): roles, the review queue, the two records side by
side with the matcher's explanation, link / merge / reject and undo of a merge through the
persons services (as the API does), CSRF, and bad input that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pars.domain.roles import Role
from pars.services.identity_batch import dedupe
from tests.conftest import Api, rows
from tests.factories import arrest_body
from tests.web.helpers import identify
from tests.web.screens import Screens


@pytest.fixture
def screens(api: Api) -> Screens:
    return Screens(api.pars)


def _book(api: Api, **person: Any) -> str:
    body = arrest_body()
    body["person"] = {**body["person"], **person}
    r = api.as_("officer").post("/api/v1/arrests?submit=true", json=body)
    assert r.status_code == 201, r.text
    arrest_id: str = r.json()["id"]
    return arrest_id


def _queue(api: Api) -> list[dict[str, Any]]:
    r = api.as_("supervisor").get("/api/v1/persons/reviews")
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _arrest_item(api: Api) -> tuple[str, str, int]:
    """(person on record, the new arrest, its review item): a second booking that may be him."""
    person = identify(api, _book(api), local_person_id="L1")
    again = _book(api, first_name="Jon", aliases=[], phone="215-555-0199")
    (item,) = _queue(api)
    assert (item["kind"], item["arrest_id"], item["person_id"]) == ("arrest", again, person)
    return person, again, int(item["id"])


def _duplicate_item(api: Api) -> tuple[str, str, int]:
    """(person A, person B, the review item) for two person records of one man."""
    a = identify(api, _book(api), local_person_id="L1")
    b = identify(api, _book(api, first_name="Johnny", aliases=[]), local_person_id="L2")
    dedupe(api.pars, "test")
    (item,) = [i for i in _queue(api) if i["kind"] == "duplicate"]
    assert {item["person_id"], item["other_person_id"]} == {a, b}
    return item["person_id"], item["other_person_id"], int(item["id"])


def _page(client: TestClient, item: int) -> str:
    r = client.get(f"/identification/{item}")
    assert r.status_code == 200, r.text
    return r.text


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_on_the_queue_and_an_item(api: Api, screens: Screens, role: str) -> None:
    _, _, item = _arrest_item(api)
    b = screens.signed_in(role)
    for path in ("/identification", f"/identification/{item}"):
        r = b.get(path)
        assert r.status_code == (200 if role == "supervisor" else 403), (path, r.status_code)
    if role != "supervisor":
        assert (
            screens.post(b, f"/identification/{item}", {"resolution": "reject"}).status_code == 403
        )
        assert _queue(api)[0]["status"] == "open"


def test_the_queue_and_the_records_side_by_side(api: Api, screens: Screens) -> None:
    _, _, item = _arrest_item(api)
    b = screens.signed_in("supervisor")
    queue = b.get("/identification").text
    assert f'href="/identification/{item}"' in queue and "Arrestee and a person record" in queue
    page = _page(b, item)
    assert "The arrestee" in page and "The candidate person record" in page
    assert "Doe, Jon" in page and "Doe, John" in page
    assert "Local person ID: <strong>L1</strong>" in page
    assert "Monday, April 2, 1990" in page  # dates in words
    # The matcher's explanation, per field: the first names differ, the dates of birth agree.
    assert "Agrees" in page and "Disagrees" in page and "weight" in page
    assert "the matcher does not list this candidate now" not in page
    assert "123-45-6789" not in page  # the SSN is never shown or used for matching
    assert 'value="link"' in page and 'value="merge"' not in page
    assert any(a["action"] == "person:match" for a in rows(api.pars, "audit_log"))


def test_link_identifies_the_arrest(api: Api, screens: Screens) -> None:
    person, arrest, item = _arrest_item(api)
    b = screens.signed_in("supervisor")
    r = screens.post(b, f"/identification/{item}", {"resolution": "link"}, page=_page(b, item))
    assert r.status_code == 200 and r.url.path == f"/identification/{item}", r.text
    assert "The arrest is linked to the person record." in r.text
    assert "Decided: <strong>Linked</strong> by supervisor1" in r.text
    seen = api.as_("supervisor").get(f"/api/v1/arrests/{arrest}").json()
    assert seen["identification"]["person_id"] == person
    assert _queue(api) == []
    assert "The queue is empty" in b.get("/identification").text
    actions = [a["action"] for a in rows(api.pars, "audit_log")]
    assert "arrest:identified" in actions and "person:review_decided" in actions


def test_reject_changes_nothing_but_the_item(api: Api, screens: Screens) -> None:
    _, arrest, item = _arrest_item(api)
    b = screens.signed_in("supervisor")
    r = screens.post(b, f"/identification/{item}", {"resolution": "reject"}, page=_page(b, item))
    assert r.status_code == 200 and "The candidate is rejected" in r.text
    assert api.as_("supervisor").get(f"/api/v1/arrests/{arrest}").json()["identification"] is None
    assert _queue(api) == []


def test_merge_a_duplicate_and_undo_it(api: Api, screens: Screens) -> None:
    a, b_id, item = _duplicate_item(api)
    sup = screens.signed_in("supervisor")
    page = _page(sup, item)
    assert "Person record A" in page and "Person record B" in page
    assert 'value="merge"' in page and 'value="link"' not in page
    r = screens.post(sup, f"/identification/{item}", {"resolution": "merge"}, page=page)
    assert r.status_code == 200 and "The two person records are merged" in r.text, r.text
    view = api.as_("supervisor").get(f"/api/v1/persons/{a}").json()
    assert view["merged"] == [b_id]
    (merge,) = view["merges"]
    undo = f"/identification/{item}/undo/{merge['merge_id']}"
    assert f'action="{undo}"' in r.text
    r = screens.post(sup, undo, page=r.text)
    assert r.status_code == 200 and "The merge is undone" in r.text, r.text
    assert api.as_("supervisor").get(f"/api/v1/persons/{b_id}").json()["merged_into"] is None
    assert "Undo the merge" not in r.text
    assert "person:unmerged" in [x["action"] for x in rows(api.pars, "audit_log")]
    r = screens.post(sup, undo, page=r.text)  # a second undo is refused in words
    assert r.status_code == 409 and "already undone" in r.text


def test_csrf_is_required(api: Api, screens: Screens) -> None:
    a, _, item = _duplicate_item(api)
    sup = screens.signed_in("supervisor")
    assert sup.post(f"/identification/{item}", data={"resolution": "merge"}).status_code == 403
    assert _queue(api)[0]["status"] == "open"
    screens.post(sup, f"/identification/{item}", {"resolution": "merge"}, page=_page(sup, item))
    merge_id = api.as_("supervisor").get(f"/api/v1/persons/{a}").json()["merges"][0]["merge_id"]
    assert sup.post(f"/identification/{item}/undo/{merge_id}").status_code == 403
    assert api.as_("supervisor").get(f"/api/v1/persons/{a}").json()["merged"] != []


@pytest.mark.parametrize(
    ("resolution", "words"),
    [
        ("", "Choose link, merge or reject"),
        ("maybe", "Choose link, merge or reject"),
        ("merge", "only a duplicate pair can be merged"),
    ],
    ids=["none", "unknown", "merge_an_arrest"],
)
def test_bad_input_shows_the_error_and_changes_nothing(
    api: Api, screens: Screens, resolution: str, words: str
) -> None:
    _, arrest, item = _arrest_item(api)
    b = screens.signed_in("supervisor")
    r = screens.post(b, f"/identification/{item}", {"resolution": resolution}, page=_page(b, item))
    assert r.status_code == 422, r.text
    assert 'id="resolution-error"' in r.text and words in r.text
    assert _queue(api)[0]["status"] == "open"
    assert api.as_("supervisor").get(f"/api/v1/arrests/{arrest}").json()["identification"] is None


def test_an_item_decided_meanwhile_is_explained(api: Api, screens: Screens) -> None:
    _, _, item = _arrest_item(api)
    b = screens.signed_in("supervisor")
    page = _page(b, item)
    screens.post(b, f"/identification/{item}", {"resolution": "reject"}, page=page)
    r = screens.post(b, f"/identification/{item}", {"resolution": "link"}, page=page)
    assert r.status_code == 409 and "Nothing was changed" in r.text
    assert "Decided: <strong>Rejected</strong>" in r.text


def test_an_unknown_item_is_a_404_page(screens: Screens) -> None:
    r = screens.signed_in("supervisor").get("/identification/987654")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
