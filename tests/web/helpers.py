"""Bring an arrest to a given state through the API."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.factories import approve_all, arrest_body


def arrest_in(api: Api, state: str, **body: Any) -> dict[str, Any]:
    """A new arrest, moved through the API to `state` (draft, submitted, charged)."""
    submit = state != "draft"
    r = api.as_("officer").post(
        f"/api/v1/arrests?submit={str(submit).lower()}", json=arrest_body(**body)
    )
    assert r.status_code == 201, r.text
    arrest: dict[str, Any] = r.json()
    if state in ("draft", "submitted"):
        return arrest
    r = api.as_("prosecutor").post(
        f"/api/v1/arrests/{arrest['id']}/charging-decision", json=approve_all(arrest)
    )
    assert r.status_code == 200, r.text
    assert state == "charged", state
    charged: dict[str, Any] = r.json()
    return charged


def identify(api: Api, arrest_id: str, **identifier: str) -> str:
    """Identify an arrest (as the booking supervisor) by `local_person_id=` or `state_id=`;
    returns the person id."""
    r = api.as_("supervisor").post(f"/api/v1/arrests/{arrest_id}/identification", json=identifier)
    assert r.status_code == 200, r.text
    person_id: str = r.json()["identification"]["person_id"]
    return person_id
