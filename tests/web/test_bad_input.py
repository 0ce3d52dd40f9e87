"""Bad input, field by field: every refusal is an RFC 9457 problem naming the field, and a refused
request writes nothing (at most an audit row recording the failure, without personal data)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api, rows
from tests.factories import approve_all, arraignment_body
from tests.factories import arrest_body as _factory_body

if TYPE_CHECKING:
    from httpx2 import Response

ARRESTS = "/api/v1/arrests"
PROBLEM = "application/problem+json"
# Tables a refused request must leave exactly as they were.
UNTOUCHED = ("arrests", "arrest_versions", "outbox", "otn_sequence", "docket_sequence", "persons")
# Values that must never come back in an error: the base body's SSN, victim and witness names.
# (Not the factory's 123-45-6789: that one is the example in the SSN format message.)
BASE_SSN = "234-56-7801"
VICTIM = "Jane Roe"
WITNESS = "Sam Poe"
NEVER_ECHOED = (BASE_SSN, VICTIM, WITNESS)
# Personal values of the base body that an audit row must not carry.
PERSONAL = (BASE_SSN, VICTIM, WITNESS, "Doe", "Kingston", "Elm St", "215-555-0100")
DELETE = object()


def arrest_body(**overrides: Any) -> dict[str, Any]:
    """The factory's valid arrest, with an SSN no error message contains by chance."""
    body = _factory_body(**overrides)
    if "person" not in overrides:
        body["person"]["ssn"] = BASE_SSN
    return body


# -- helpers -------------------------------------------------------------------------------


def _counts(api: Api) -> dict[str, int]:
    with api.pars.engine.connect() as conn:
        return {
            t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one()
            for t in UNTOUCHED
        }


def _audit_ids(api: Api) -> set[int]:
    return {r["id"] for r in rows(api.pars, "audit_log")}


def _assert_problem(r: Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0].strip() == PROBLEM, r.headers
    body = r.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, (key, body)
    assert body["status"] == status
    for key in ("type", "title"):
        assert isinstance(body[key], str), body
        assert body[key], body
    assert isinstance(body["detail"], str)
    return body


def _pointers(body: dict[str, Any]) -> list[str]:
    errors = body.get("errors")
    assert isinstance(errors, list), body
    assert errors, body
    for e in errors:
        assert set(e) >= {"pointer", "detail"}, e
    return [e["pointer"] for e in errors]


def _assert_nothing_written(
    api: Api, before: dict[str, int], audit_before: set[int], secrets: tuple[str, ...] = ()
) -> None:
    assert _counts(api) == before
    new = [r for r in rows(api.pars, "audit_log") if r["id"] not in audit_before]
    for row in new:
        assert row["outcome"] == "failure", row
        text = json.dumps(row, default=str)
        for value in PERSONAL + secrets:
            assert value not in text, (value, row)


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`body` with the value at the slash-separated `path` replaced (or removed: DELETE)."""
    out = copy.deepcopy(body)
    *parents, last = path.split("/")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        if value is DELETE:
            del node[int(last)]
        else:
            node[int(last)] = value
    elif value is DELETE:
        del node[last]
    else:
        node[last] = value
    return out


# -- POST /api/v1/arrests --------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    """One bad request: a JSON body, or raw bytes with a content type."""

    json: Any = None
    content: bytes | None = None
    content_type: str = "application/json"
    query: str = ""
    secrets: tuple[str, ...] = field(default=())


def _body(path: str, value: Any, *, secret: str | None = None) -> Req:
    return Req(json=_set(arrest_body(), path, value), secrets=(secret,) if secret else ())


def _with(**top: Any) -> Req:
    return Req(json=arrest_body(**top))


def _raw(content: bytes, content_type: str = "application/json") -> Req:
    return Req(content=content, content_type=content_type)


def _case(case_id: str, req: Req, status: int, pointer: str | None = None) -> Any:
    return pytest.param(req, status, pointer, id=case_id)


_CONTROL_VALUES = {
    "empty": "",
    "whitespace_only": "   \t ",
    "oversize": "x" * 61,
    "control_char": "Do\x07e",
    "newline": "Do\ne",
    "nul_byte": "Do\x00e",
    "number": 42,
    "list": ["Doe"],
}
_NAME_CASES = [
    _case(f"person.{name}-{kind}", _body(f"person/{name}", value), 422, f"/person/{name}")
    for name in ("last_name", "first_name", "middle_name")
    for kind, value in _CONTROL_VALUES.items()
]

_SSN_CASES = [
    _case(f"person.ssn-{kind}", _body("person/ssn", ssn, secret=ssn), 422, "/person/ssn")
    for kind, ssn in (
        ("eight_digits", "234-56-780"),
        ("ten_digits", "2345678012"),
        ("letters", "23A-56-7801"),
        ("oversize", "234-56-7801-0000"),
        ("area_000", "000-12-3456"),
        ("area_666", "666-12-3456"),
        ("area_9xx", "912-34-5678"),
        ("group_00", "234-00-4567"),
        ("serial_0000", "234-56-0000"),
        ("spaces", "234 56 7801"),
    )
] + [
    _case(
        "person.ssn-number", _body("person/ssn", 234567801, secret="234567801"), 422, "/person/ssn"
    ),
]

_TOO_MANY_CHARGES = [{"statute": "18 § 2701 §§ A1"}] * 51
_TOO_MANY_ALIASES = [{"last_name": "Dough", "first_name": "J"}] * 21

ARREST_CASES = [
    # arrested_at
    _case("arrested_at-no_offset", _with(arrested_at="2026-11-20T09:30:00"), 422, "/arrested_at"),
    _case("arrested_at-not_a_date", _with(arrested_at="yesterday"), 422, "/arrested_at"),
    _case(
        "arrested_at-impossible",
        _with(arrested_at="2026-02-30T09:30:00-05:00"),
        422,
        "/arrested_at",
    ),
    _case(
        "arrested_at-future", _with(arrested_at="2026-11-21T09:30:00-05:00"), 422, "/arrested_at"
    ),
    _case("arrested_at-missing", _body("arrested_at", DELETE), 422, "/arrested_at"),
    _case("arrested_at-unix_number", _with(arrested_at=1763650200), 422, "/arrested_at"),
    _case(
        "arrested_at-before_1900",
        _with(arrested_at="1899-12-31T09:30:00-05:00"),
        422,
        "/arrested_at",
    ),
    _case(
        "arrested_at-year_1_east_of_utc",
        _with(arrested_at="0001-01-01T00:00:00+05:00"),
        422,
        "/arrested_at",
    ),
    _case(
        "arrested_at-year_9999", _with(arrested_at="9999-12-31T23:59:59-12:00"), 422, "/arrested_at"
    ),
    # arrest_type
    _case("arrest_type-unknown", _with(arrest_type="citizen"), 422, "/arrest_type"),
    _case("arrest_type-missing", _body("arrest_type", DELETE), 422, "/arrest_type"),
    # location
    _case("location-missing", _body("location", DELETE), 422, "/location"),
    _case("location-null", _with(location=None), 422, "/location"),
    _case(
        "location.district-bad_chars",
        _body("location/district", "6th; DROP"),
        422,
        "/location/district",
    ),
    _case(
        "location.district-missing", _body("location/district", DELETE), 422, "/location/district"
    ),
    _case(
        "location.address-oversize", _body("location/address", "x" * 201), 422, "/location/address"
    ),
    _case("location.address-empty", _body("location/address", " "), 422, "/location/address"),
    _case("location-unknown_key", _body("location/zip", "19107"), 422, "/location/zip"),
    # arresting officer, units, numbers
    _case(
        "arresting_officer.badge-bad_chars",
        _body("arresting_officer/badge", "45 12!"),
        422,
        "/arresting_officer/badge",
    ),
    _case(
        "arresting_officer.badge-number",
        _body("arresting_officer/badge", 4512),
        422,
        "/arresting_officer/badge",
    ),
    _case(
        "arresting_officer.name-missing",
        _body("arresting_officer/name", DELETE),
        422,
        "/arresting_officer/name",
    ),
    _case(
        "arresting_officer-missing", _body("arresting_officer", DELETE), 422, "/arresting_officer"
    ),
    _case("units.arresting-oversize", _body("units/arresting", "x" * 61), 422, "/units/arresting"),
    _case("report_number-bad_chars", _with(report_number="2026/06 012345"), 422, "/report_number"),
    _case("incident_number-oversize", _with(incident_number="1" * 21), 422, "/incident_number"),
    # person
    _case("person-missing", _body("person", DELETE), 422, "/person"),
    *_NAME_CASES,
    _case("person.last_name-missing", _body("person/last_name", DELETE), 422, "/person/last_name"),
    _case("person.suffix-unknown", _body("person/suffix", "ESQ"), 422, "/person/suffix"),
    _case(
        "person.date_of_birth-impossible",
        _body("person/date_of_birth", "1990-02-30"),
        422,
        "/person/date_of_birth",
    ),
    _case(
        "person.date_of_birth-not_a_date",
        _body("person/date_of_birth", "04/02/1990"),
        422,
        "/person/date_of_birth",
    ),
    _case(
        "person.date_of_birth-future",
        _body("person/date_of_birth", "2027-01-01"),
        422,
        "/person/date_of_birth",
    ),
    _case(
        "person.date_of_birth-after_arrest",
        Req(
            json=_set(
                arrest_body(arrested_at="2026-11-10T09:30:00-05:00"),
                "person/date_of_birth",
                "2026-11-15",
            )
        ),
        422,
        "/person/date_of_birth",
    ),
    _case(
        "person.date_of_birth-over_120_years",
        _body("person/date_of_birth", "1900-01-01"),
        422,
        "/person/date_of_birth",
    ),
    _case(
        "person.date_of_birth-year_1",
        _body("person/date_of_birth", "0001-01-01"),
        422,
        "/person/date_of_birth",
    ),
    _case("person.sex-unknown", _body("person/sex", "Q"), 422, "/person/sex"),
    _case("person.sex-lowercase", _body("person/sex", "m"), 422, "/person/sex"),
    _case("person.race-unknown", _body("person/race", "Z"), 422, "/person/race"),
    _case("person.ethnicity-unknown", _body("person/ethnicity", "X"), 422, "/person/ethnicity"),
    _case("person.aliases-string", _body("person/aliases", "Dough"), 422, "/person/aliases"),
    _case(
        "person.aliases-object",
        _body("person/aliases", {"last_name": "Dough"}),
        422,
        "/person/aliases",
    ),
    _case(
        "person.aliases-item_string", _body("person/aliases", ["Dough"]), 422, "/person/aliases/0"
    ),
    _case(
        "person.aliases-item_missing_first_name",
        _body("person/aliases/0/first_name", DELETE),
        422,
        "/person/aliases/0/first_name",
    ),
    _case(
        "person.aliases-item_unknown_key",
        _body("person/aliases/0/dob", "1990-01-01"),
        422,
        "/person/aliases/0/dob",
    ),
    _case(
        "person.aliases-too_many",
        _body("person/aliases", _TOO_MANY_ALIASES),
        422,
        "/person/aliases",
    ),
    _case(
        "person.height_inches-too_low",
        _body("person/height_inches", 23),
        422,
        "/person/height_inches",
    ),
    _case(
        "person.height_inches-too_high",
        _body("person/height_inches", 109),
        422,
        "/person/height_inches",
    ),
    _case(
        "person.height_inches-string",
        _body("person/height_inches", "70"),
        422,
        "/person/height_inches",
    ),
    _case(
        "person.height_inches-float",
        _body("person/height_inches", 70.5),
        422,
        "/person/height_inches",
    ),
    _case(
        "person.weight_pounds-too_low",
        _body("person/weight_pounds", 19),
        422,
        "/person/weight_pounds",
    ),
    _case(
        "person.weight_pounds-too_high",
        _body("person/weight_pounds", 1001),
        422,
        "/person/weight_pounds",
    ),
    _case(
        "person.weight_pounds-string",
        _body("person/weight_pounds", "180"),
        422,
        "/person/weight_pounds",
    ),
    _case(
        "person.weight_pounds-bool",
        _body("person/weight_pounds", True),
        422,
        "/person/weight_pounds",
    ),
    *_SSN_CASES,
    _case("person.phone-letters", _body("person/phone", "215-CALL-NOW"), 422, "/person/phone"),
    _case("person.phone-too_short", _body("person/phone", "555"), 422, "/person/phone"),
    _case("person.address-oversize", _body("person/address", "x" * 201), 422, "/person/address"),
    _case(
        "person.place_of_birth-oversize",
        _body("person/place_of_birth", "x" * 101),
        422,
        "/person/place_of_birth",
    ),
    _case(
        "person.citizenship-oversize",
        _body("person/citizenship", "x" * 61),
        422,
        "/person/citizenship",
    ),
    _case(
        "person.eye_color-oversize", _body("person/eye_color", "x" * 21), 422, "/person/eye_color"
    ),
    _case(
        "person.scars_marks_tattoos-item_oversize",
        _body("person/scars_marks_tattoos", ["x" * 101]),
        422,
        "/person/scars_marks_tattoos/0",
    ),
    _case("person.state_id-bad_chars", _body("person/state_id", "SID 1"), 422, "/person/state_id"),
    _case("person-unknown_key", _body("person/nickname", "JD"), 422, "/person/nickname"),
    _case("person-string", _with(person="John Doe"), 422, "/person"),
    # charges
    _case(
        "charges.0.statute-unknown",
        _body("charges/0/statute", "18 § 9999 §§ Z"),
        422,
        "/charges/0/statute",
    ),
    _case(
        "charges.1.statute-unknown", _body("charges/1/statute", "99 § 1"), 422, "/charges/1/statute"
    ),
    _case(
        "charges.0.statute-missing", _body("charges/0/statute", DELETE), 422, "/charges/0/statute"
    ),
    _case("charges.0.statute-empty", _body("charges/0/statute", ""), 422, "/charges/0/statute"),
    _case("charges.0.grade-unknown", _body("charges/0/grade", "F9"), 422, "/charges/0/grade"),
    _case("charges.0.counts-zero", _body("charges/0/counts", 0), 422, "/charges/0/counts"),
    _case("charges.0.counts-negative", _body("charges/0/counts", -1), 422, "/charges/0/counts"),
    _case("charges.0.counts-string", _body("charges/0/counts", "3"), 422, "/charges/0/counts"),
    _case("charges.0.counts-10000", _body("charges/0/counts", 10000), 422, "/charges/0/counts"),
    _case(
        "charges.0.modifier-unknown",
        _body("charges/0/modifier", "accessory"),
        422,
        "/charges/0/modifier",
    ),
    _case("charges.0-unknown_key", _body("charges/0/severity", "high"), 422, "/charges/0/severity"),
    _case("charges-too_many", _with(charges=_TOO_MANY_CHARGES), 422, "/charges"),
    _case("charges.0-not_an_object", _with(charges=["18 § 2701 §§ A1"]), 422, "/charges/0"),
    _case("charges.1-not_an_object", _body("charges/1", 3921), 422, "/charges/1"),
    _case("charges-object", _with(charges={"statute": "18 § 2701 §§ A1"}), 422, "/charges"),
    # narrative
    _case("narrative-oversize", _with(narrative="x" * 20_001), 422, "/narrative"),
    _case("narrative-nul_byte", _with(narrative="Officer\x00observed"), 422, "/narrative"),
    _case("narrative-control_char", _with(narrative="Officer\x1bobserved"), 422, "/narrative"),
    _case("narrative-empty", _with(narrative="  "), 422, "/narrative"),
    # victims and witnesses
    _case("victims-string", _with(victims=VICTIM), 422, "/victims"),
    _case("victims-item_string", _with(victims=[VICTIM]), 422, "/victims/0"),
    _case("victims-missing_name", _body("victims/0/name", DELETE), 422, "/victims/0/name"),
    _case("victims.phone-letters", _body("victims/0/phone", "call Jane"), 422, "/victims/0/phone"),
    _case("victims-unknown_key", _body("victims/0/ssn", BASE_SSN), 422, "/victims/0/ssn"),
    _case(
        "victims.name-control_char", _body("victims/0/name", "Jane\x00Roe"), 422, "/victims/0/name"
    ),
    _case("witnesses-string", _with(witnesses=WITNESS), 422, "/witnesses"),
    _case("witnesses-item_string", _with(witnesses=[WITNESS]), 422, "/witnesses/0"),
    _case(
        "witnesses-missing_name",
        _with(witnesses=[{"phone": "215-555-0102"}]),
        422,
        "/witnesses/0/name",
    ),
    # co-defendants
    _case(
        "co_defendants-nonexistent",
        _with(co_defendants=["00000000-0000-0000-0000-000000000000"]),
        422,
        "/co_defendants/0",
    ),
    _case("co_defendants-oversize", _with(co_defendants=["x" * 41]), 422, "/co_defendants/0"),
    _case("co_defendants-not_a_list", _with(co_defendants="abc"), 422, "/co_defendants"),
    # the body as a whole
    _case("top_level-unknown_key", _with(shoe_size=11), 422, "/shoe_size"),
    _case(
        "submit-without_charges",
        Req(json=arrest_body(charges=[]), query="?submit=true"),
        422,
        "/charges",
    ),
    _case("body-array", Req(json=[arrest_body()]), 400),
    _case("body-string", Req(json="arrest"), 400),
    _case("body-null", _raw(b"null"), 400),
    _case("body-number", _raw(b"42"), 400),
    _case("body-empty", _raw(b""), 400),
    _case("body-broken_json", _raw(b'{"arrested_at": "2026-11-20T09:30:00-05:00",'), 400),
    _case("body-trailing_garbage", _raw(json.dumps(arrest_body()).encode() + b"}"), 400),
    _case("body-not_utf8", _raw(b'{"narrative": "\xff\xfe"}'), 400),
    _case("content_type-text_plain", _raw(json.dumps(arrest_body()).encode(), "text/plain"), 415),
    _case(
        "content_type-form",
        _raw(b"arrest_type=on_view&district=6", "application/x-www-form-urlencoded"),
        415,
    ),
    _case("content_type-missing", _raw(json.dumps(arrest_body()).encode(), ""), 415),
    _case("body-oversize", _with(narrative="x" * 1_000_001), 413),
]


def _send(api: Api, role: str, url: str, req: Req) -> Response:
    client = api.as_(role)
    if req.content is None:
        return client.post(url + req.query, json=req.json)
    headers = {"content-type": req.content_type} if req.content_type else {}
    if not req.content_type:
        # httpx adds no content type for raw bytes; make sure none is sent.
        client.headers.pop("content-type", None)
    return client.post(url + req.query, content=req.content, headers=headers)


@pytest.mark.parametrize(("req", "status", "pointer"), ARREST_CASES)
def test_create_arrest_refuses_bad_input(
    api: Api, req: Req, status: int, pointer: str | None
) -> None:
    api.as_("officer")  # issue the token (an audit row of its own) before counting
    before, audit_before = _counts(api), _audit_ids(api)

    r = _send(api, "officer", ARRESTS, req)

    body = _assert_problem(r, status)
    if status == 422:
        assert pointer in _pointers(body), body
    else:
        assert "errors" not in body or body["errors"], body
    assert "location" not in r.headers
    for secret in NEVER_ECHOED + req.secrets:
        assert secret not in r.text, secret
    _assert_nothing_written(api, before, audit_before, req.secrets)


def test_oversize_body_without_content_length(api: Api) -> None:
    """A chunked body that never declares its length is cut off at the limit too."""
    client = api.as_("officer")
    before, audit_before = _counts(api), _audit_ids(api)
    payload = json.dumps(arrest_body(narrative="x" * 1_000_001)).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    r = client.post(ARRESTS, content=chunks(), headers={"content-type": "application/json"})
    _assert_problem(r, 413)
    _assert_nothing_written(api, before, audit_before)


def test_every_bad_field_is_named_at_once(api: Api) -> None:
    """Several wrong fields: one 422 listing each of them, echoing none of the values."""
    body = arrest_body(arrest_type="citizen", narrative="a\x00b")
    body["person"].update(sex="Q", ssn="666-12-3456", height_inches="70")
    body["charges"][1]["counts"] = 0
    body["victims"][0]["phone"] = "x"
    client = api.as_("officer")
    before, audit_before = _counts(api), _audit_ids(api)

    r = client.post(ARRESTS, json=body)

    pointers = _pointers(_assert_problem(r, 422))
    for expected in (
        "/arrest_type",
        "/narrative",
        "/person/sex",
        "/person/ssn",
        "/person/height_inches",
        "/charges/1/counts",
        "/victims/0/phone",
    ):
        assert expected in pointers, (expected, pointers)
    assert "666-12-3456" not in r.text
    assert VICTIM not in r.text
    _assert_nothing_written(api, before, audit_before, ("666-12-3456",))


def test_domain_checks_name_every_field_and_write_only_a_failure_audit(api: Api) -> None:
    """The checks that need the catalogue and the clock run together and are audited as a
    failure, without the submitted values."""
    body = arrest_body(arrested_at="2026-11-22T09:30:00-05:00")
    body["person"]["date_of_birth"] = "2027-03-01"
    body["charges"][0]["statute"] = "18 § 9999 §§ Z"
    client = api.as_("officer")
    before, audit_before = _counts(api), _audit_ids(api)

    r = client.post(ARRESTS, json=body)

    pointers = _pointers(_assert_problem(r, 422))
    assert {"/arrested_at", "/person/date_of_birth", "/charges/0/statute"} <= set(pointers)
    _assert_nothing_written(api, before, audit_before)
    new = [a for a in rows(api.pars, "audit_log") if a["id"] not in audit_before]
    assert [(a["action"], a["outcome"]) for a in new] == [("arrest:created", "failure")]


# -- the workflow steps on an existing arrest ------------------------------------------------


@pytest.fixture
def submitted(api: Api) -> dict[str, Any]:
    r = api.as_("officer").post(f"{ARRESTS}?submit=true", json=arrest_body())
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def charged(api: Api, submitted: dict[str, Any]) -> dict[str, Any]:
    aid = submitted["id"]
    r = api.as_("prosecutor").post(
        f"{ARRESTS}/{aid}/charging-decision", json=approve_all(submitted)
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "charged"
    return r.json()


@pytest.fixture
def released(api: Api, submitted: dict[str, Any]) -> dict[str, Any]:
    aid = submitted["id"]
    r = api.as_("clerk").post(
        f"{ARRESTS}/{aid}/custody", json={"status": "released", "reason": "other"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["custody"] == "released"
    return r.json()


def _decisions(*items: dict[str, Any]) -> dict[str, Any]:
    return {"charges": list(items)}


def _approve(cid: int) -> dict[str, Any]:
    return {"charge_id": cid, "action": "approve"}


def _arraign(**overrides: Any) -> dict[str, Any]:
    body = arraignment_body()
    for key, value in overrides.items():
        if value is DELETE:
            body.pop(key)
        else:
            body[key] = value
    return body


def _bail(**bail: Any) -> dict[str, Any]:
    return _arraign(bail=bail)


def _pretrial(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "address": {"verified": True, "method": "phone"},
        "recommendation": "ror",
        "reasons": ["address_verified", "community_ties"],
    }
    body.update(overrides)
    return body


def _step(
    case_id: str,
    stage: str,
    role: str,
    path: str,
    body: Any,
    status: int,
    pointer: str | None = None,
) -> Any:
    return pytest.param(stage, role, path, body, status, pointer, id=case_id)


STEP_CASES = [
    # charging decision, on a submitted arrest whose charges are 1 and 2
    _step(
        "decision-unknown_action",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions({"charge_id": 1, "action": "dismiss"}, _approve(2)),
        422,
        "/charges/0/action",
    ),
    _step(
        "decision-unknown_outcome",
        "submitted",
        "prosecutor",
        "charging-decision",
        {"outcome": "dismiss", "reason": "x"},
        422,
        "/outcome",
    ),
    _step(
        "decision-charge_id_nonexistent",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions(_approve(1), _approve(2), _approve(99)),
        422,
        "/charges/2/charge_id",
    ),
    _step(
        "decision-charge_id_string",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions({"charge_id": "1", "action": "approve"}, _approve(2)),
        422,
        "/charges/0/charge_id",
    ),
    _step(
        "decision-charge_decided_twice",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions(_approve(1), {"charge_id": 1, "action": "withdraw"}, _approve(2)),
        422,
        "/charges/1/charge_id",
    ),
    _step(
        "decision-missing_decision",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions(_approve(1)),
        422,
        "/charges",
    ),
    _step(
        "decision-no_decisions",
        "submitted",
        "prosecutor",
        "charging-decision",
        {"outcome": "charge"},
        422,
        "/charges",
    ),
    _step(
        "decision-approve_without_charge_id",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions({"action": "approve"}, _approve(1), _approve(2)),
        422,
        "/charges/0/charge_id",
    ),
    _step(
        "decision-amend_without_statute",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions({"charge_id": 1, "action": "amend", "grade": "M3"}, _approve(2)),
        422,
        "/charges/0/statute",
    ),
    _step(
        "decision-amend_unknown_statute",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions({"charge_id": 1, "action": "amend", "statute": "18 § 9999"}, _approve(2)),
        422,
        "/charges/0/statute",
    ),
    _step(
        "decision-approve_with_statute",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions(
            {"charge_id": 1, "action": "approve", "statute": "18 § 2701 §§ A1"}, _approve(2)
        ),
        422,
        "/charges/0/statute",
    ),
    _step(
        "decision-withdraw_with_grade",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions(_approve(1), {"charge_id": 2, "action": "withdraw", "grade": "M3"}),
        422,
        "/charges/1/grade",
    ),
    _step(
        "decision-add_with_charge_id",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions(
            _approve(1), _approve(2), {"action": "add", "charge_id": 3, "statute": "18 § 907 §§ A"}
        ),
        422,
        "/charges/2/charge_id",
    ),
    _step(
        "decision-add_without_statute",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions(_approve(1), _approve(2), {"action": "add"}),
        422,
        "/charges/2/statute",
    ),
    _step(
        "decision-add_counts_zero",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions(
            _approve(1), _approve(2), {"action": "add", "statute": "18 § 907 §§ A", "counts": 0}
        ),
        422,
        "/charges/2/counts",
    ),
    _step(
        "decision-all_withdrawn",
        "submitted",
        "prosecutor",
        "charging-decision",
        _decisions({"charge_id": 1, "action": "withdraw"}, {"charge_id": 2, "action": "withdraw"}),
        422,
        "/charges",
    ),
    _step(
        "decision-decline_without_reason",
        "submitted",
        "prosecutor",
        "charging-decision",
        {"outcome": "decline"},
        422,
        "/reason",
    ),
    _step(
        "decision-divert_blank_reason",
        "submitted",
        "prosecutor",
        "charging-decision",
        {"outcome": "divert", "reason": "   "},
        422,
        "/reason",
    ),
    _step(
        "decision-decline_with_charges",
        "submitted",
        "prosecutor",
        "charging-decision",
        {
            "outcome": "decline",
            "reason": "insufficient evidence",
            "charges": [_approve(1), _approve(2)],
        },
        422,
        "/charges",
    ),
    _step(
        "decision-charges_not_objects",
        "submitted",
        "prosecutor",
        "charging-decision",
        {"charges": [1, 2]},
        422,
        "/charges/0",
    ),
    _step(
        "decision-after_decision",
        "charged",
        "prosecutor",
        "charging-decision",
        {"outcome": "decline", "reason": "second thoughts"},
        409,
    ),
    # arraignment, on a charged arrest
    _step(
        "arraign-pc_found_without_bail",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(bail=DELETE),
        422,
        "/bail",
    ),
    _step(
        "arraign-pc_found_without_hearing_date",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(preliminary_hearing_date=DELETE),
        422,
        "/preliminary_hearing_date",
    ),
    _step(
        "arraign-no_pc_with_bail",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(probable_cause_found=False, preliminary_hearing_date=DELETE),
        422,
        "/bail",
    ),
    _step(
        "arraign-monetary_without_amount",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="monetary"),
        422,
        "/bail/amount",
    ),
    _step(
        "arraign-monetary_amount_zero",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="monetary", amount="0"),
        422,
        "/bail/amount",
    ),
    _step(
        "arraign-amount_negative",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="monetary", amount="-5"),
        422,
        "/bail/amount",
    ),
    _step(
        "arraign-amount_3_decimals",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="monetary", amount="5000.125"),
        422,
        "/bail/amount",
    ),
    _step(
        "arraign-amount_not_a_number",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="monetary", amount="five grand"),
        422,
        "/bail/amount",
    ),
    _step(
        "arraign-ror_with_amount",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="ror", amount="100.00"),
        422,
        "/bail/amount",
    ),
    _step(
        "arraign-unsecured_with_deposit",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="unsecured", amount="100.00", deposit_percent="10"),
        422,
        "/bail/deposit_percent",
    ),
    _step(
        "arraign-deposit_percent_0",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="monetary", amount="5000.00", deposit_percent="0"),
        422,
        "/bail/deposit_percent",
    ),
    _step(
        "arraign-deposit_percent_150",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="monetary", amount="5000.00", deposit_percent="150"),
        422,
        "/bail/deposit_percent",
    ),
    _step(
        "arraign-non_monetary_without_conditions",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="non_monetary"),
        422,
        "/bail/conditions",
    ),
    _step(
        "arraign-bail_type_unknown",
        "charged",
        "magistrate",
        "arraignment",
        _bail(type="cash_only", amount="100.00"),
        422,
        "/bail/type",
    ),
    _step(
        "arraign-hearing_2_days_after",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(preliminary_hearing_date="2026-11-22"),
        422,
        "/preliminary_hearing_date",
    ),
    _step(
        "arraign-hearing_11_days_after",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(preliminary_hearing_date="2026-12-01"),
        422,
        "/preliminary_hearing_date",
    ),
    _step(
        "arraign-hearing_impossible_date",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(preliminary_hearing_date="2026-11-31"),
        422,
        "/preliminary_hearing_date",
    ),
    _step(
        "arraign-probable_cause_string",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(probable_cause_found="yes"),
        422,
        "/probable_cause_found",
    ),
    _step(
        "arraign-probable_cause_int",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(probable_cause_found=1),
        422,
        "/probable_cause_found",
    ),
    _step(
        "arraign-session_in_future",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(session_at="2026-11-21T11:30:00-05:00", preliminary_hearing_date="2026-11-28"),
        422,
        "/session_at",
    ),
    _step(
        "arraign-session_before_arrest",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(session_at="2026-11-20T08:00:00-05:00"),
        422,
        "/session_at",
    ),
    _step(
        "arraign-session_without_offset",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(session_at="2026-11-20T11:30:00"),
        422,
        "/session_at",
    ),
    _step(
        "arraign-session_year_1",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(session_at="0001-01-01T00:00:00+05:00"),
        422,
        "/session_at",
    ),
    _step(
        "arraign-hearing_year_9999",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(preliminary_hearing_date="9999-12-31"),
        422,
        "/preliminary_hearing_date",
    ),
    _step(
        "arraign-magistrate_missing",
        "charged",
        "magistrate",
        "arraignment",
        _arraign(magistrate=DELETE),
        422,
        "/magistrate",
    ),
    _step("arraign-before_charging", "submitted", "magistrate", "arraignment", _arraign(), 409),
    # custody
    _step(
        "custody-unknown_status",
        "submitted",
        "clerk",
        "custody",
        {"status": "escaped", "reason": "other"},
        422,
        "/status",
    ),
    _step(
        "custody-unknown_reason",
        "submitted",
        "clerk",
        "custody",
        {"status": "released", "reason": "paroled"},
        422,
        "/reason",
    ),
    _step(
        "custody-missing_reason",
        "submitted",
        "clerk",
        "custody",
        {"status": "released"},
        422,
        "/reason",
    ),
    _step(
        "custody-note_oversize",
        "submitted",
        "clerk",
        "custody",
        {"status": "released", "reason": "other", "note": "x" * 301},
        422,
        "/note",
    ),
    _step(
        "custody-released_to_held",
        "released",
        "clerk",
        "custody",
        {"status": "held", "reason": "other"},
        409,
    ),
    _step(
        "custody-held_to_held",
        "submitted",
        "clerk",
        "custody",
        {"status": "held", "reason": "other"},
        409,
    ),
    # arraignment session
    _step(
        "session-before_arrest",
        "charged",
        "clerk",
        "arraignment-session",
        {"session_at": "2026-11-20T08:00:00-05:00"},
        422,
        "/session_at",
    ),
    _step(
        "session-without_offset",
        "charged",
        "clerk",
        "arraignment-session",
        {"session_at": "2026-11-20T11:30:00"},
        422,
        "/session_at",
    ),
    _step("session-missing", "charged", "clerk", "arraignment-session", {}, 422, "/session_at"),
    _step(
        "session-before_charging",
        "submitted",
        "clerk",
        "arraignment-session",
        {"session_at": "2026-11-20T11:30:00-05:00"},
        409,
    ),
    # corrections
    _step(
        "correct-reason_missing",
        "submitted",
        "clerk",
        "corrections",
        {"changes": {"narrative": "Corrected."}},
        422,
        "/reason",
    ),
    _step(
        "correct-reason_blank",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "  ", "changes": {"narrative": "Corrected."}},
        422,
        "/reason",
    ),
    _step(
        "correct-changes_missing",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo"},
        422,
        "/changes",
    ),
    _step(
        "correct-changes_empty",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {}},
        422,
        "/changes",
    ),
    _step(
        "correct-person_last_name_null",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"person": {"last_name": None}}},
        422,
        "/changes/person/last_name",
    ),
    _step(
        "correct-arrested_at_null",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"arrested_at": None}},
        422,
        "/changes/arrested_at",
    ),
    _step(
        "correct-arrested_at_future",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"arrested_at": "2026-11-22T09:30:00-05:00"}},
        422,
        "/changes/arrested_at",
    ),
    _step(
        "correct-person_ssn_area_000",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"person": {"ssn": "000-12-3456"}}},
        422,
        "/changes/person/ssn",
    ),
    _step(
        "correct-person_dob_future",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"person": {"date_of_birth": "2027-01-01"}}},
        422,
        "/changes/person/date_of_birth",
    ),
    _step(
        "correct-charges_empty",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"charges": []}},
        422,
        "/changes/charges",
    ),
    _step(
        "correct-charges_unknown_statute",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"charges": [{"statute": "18 § 9999"}]}},
        422,
        "/changes/charges/0/statute",
    ),
    _step(
        "correct-unknown_field",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"state": "dismissed"}},
        422,
        "/changes/state",
    ),
    _step(
        "correct-co_defendant_nonexistent",
        "submitted",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"co_defendants": ["00000000-0000-0000-0000-000000000000"]}},
        422,
        "/changes/co_defendants/0",
    ),
    _step(
        "correct-charges_after_decision",
        "charged",
        "clerk",
        "corrections",
        {"reason": "typo", "changes": {"charges": [{"statute": "18 § 2701 §§ A1"}]}},
        409,
    ),
    # identification
    _step("identify-empty_body", "submitted", "supervisor", "identification", {}, 422),
    _step(
        "identify-unknown_person",
        "submitted",
        "supervisor",
        "identification",
        {"person_id": "00000000-0000-0000-0000-000000000000"},
        422,
        "/person_id",
    ),
    _step(
        "identify-state_id_bad_chars",
        "submitted",
        "supervisor",
        "identification",
        {"state_id": "SID 123!"},
        422,
        "/state_id",
    ),
    # summons release
    _step(
        "summons-attestation_false",
        "charged",
        "prosecutor",
        "summons-release",
        {"reason": "M2", "no_threat": False, "likely_to_appear": True},
        422,
        "/no_threat",
    ),
    # pretrial interview
    _step(
        "pretrial-unknown_recommendation",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(recommendation="detain"),
        422,
        "/recommendation",
    ),
    _step(
        "pretrial-unknown_reason",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(reasons=["likes_him"]),
        422,
        "/reasons/0",
    ),
    _step(
        "pretrial-no_reason",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(reasons=[]),
        422,
        "/reasons",
    ),
    _step(
        "pretrial-unknown_method",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(address={"verified": True, "method": "telepathy"}),
        422,
        "/address/method",
    ),
    _step(
        "pretrial-verified_without_method",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(address={"verified": True}),
        422,
        "/address/method",
    ),
    _step(
        "pretrial-verified_as_string",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(address={"verified": "yes", "method": "phone"}),
        422,
        "/address/verified",
    ),
    _step(
        "pretrial-other_without_note",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(reasons=["other"]),
        422,
        "/note",
    ),
    _step(
        "pretrial-reason_twice",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(reasons=["prior_record", "prior_record"]),
        422,
        "/reasons/1",
    ),
    _step(
        "pretrial-unknown_field",
        "submitted",
        "pretrial",
        "pretrial",
        _pretrial(risk_score=3),
        422,
        "/risk_score",
    ),
    # a body the API cannot read at all, on a step
    _step("step-body_array", "submitted", "clerk", "custody", [], 400),
]


@pytest.mark.parametrize(("stage", "role", "path", "body", "status", "pointer"), STEP_CASES)
def test_step_refuses_bad_input(
    api: Api,
    request: pytest.FixtureRequest,
    stage: str,
    role: str,
    path: str,
    body: Any,
    status: int,
    pointer: str | None,
) -> None:
    arrest = request.getfixturevalue(stage)
    aid = arrest["id"]
    api.as_("supervisor")  # issue the reader's token before counting
    client = api.as_(role)
    before, audit_before = _counts(api), _audit_ids(api)
    stored = {r["id"]: r["version"] for r in rows(api.pars, "arrests")}

    r = client.post(f"{ARRESTS}/{aid}/{path}", json=body)

    problem = _assert_problem(r, status)
    if status == 422:
        pointers = _pointers(problem)
        if pointer is None:  # a rule about the body as a whole
            assert set(pointers) <= {"", "/"}, pointers
        else:
            assert pointer in pointers, problem
    if status == 409:
        assert problem["title"], problem
    for secret in (*NEVER_ECHOED, "000-12-3456"):
        assert secret not in r.text, secret
    _assert_nothing_written(api, before, audit_before, ("000-12-3456",))
    assert {r["id"]: r["version"] for r in rows(api.pars, "arrests")} == stored

    now = api.as_("supervisor").get(f"{ARRESTS}/{aid}")
    assert now.status_code == 200, now.text
    assert (now.json()["state"], now.json()["version"], now.json()["custody"]) == (
        arrest["state"],
        arrest["version"],
        arrest["custody"],
    )


# -- unknown arrests and routes --------------------------------------------------------------

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        pytest.param("GET", f"{ARRESTS}/{UNKNOWN_ID}", None, 404, id="get-unknown_id"),
        pytest.param(
            "GET", f"{ARRESTS}/{UNKNOWN_ID}/versions", None, 404, id="versions-unknown_id"
        ),
        pytest.param(
            "POST",
            f"{ARRESTS}/{UNKNOWN_ID}/custody",
            {"status": "released", "reason": "other"},
            404,
            id="custody-unknown_id",
        ),
        pytest.param("POST", f"{ARRESTS}/{UNKNOWN_ID}/submit", None, 404, id="submit-unknown_id"),
        pytest.param(
            "POST",
            f"{ARRESTS}/{UNKNOWN_ID}/corrections",
            {"reason": "typo", "changes": {"narrative": "x"}},
            404,
            id="corrections-unknown_id",
        ),
        pytest.param("GET", f"{ARRESTS}/x/nonexistent", None, 404, id="get-unknown_route"),
        pytest.param("POST", f"{ARRESTS}/x/nonexistent", {}, 404, id="post-unknown_route"),
        pytest.param("DELETE", f"{ARRESTS}/x", None, 405, id="delete-arrest"),
        pytest.param("PUT", ARRESTS, {}, 405, id="put-collection"),
        pytest.param("GET", "/api/v1/nothing-here", None, 404, id="get-unknown_prefix"),
    ],
)
def test_unknown_arrest_or_route_is_a_problem(
    api: Api, method: str, url: str, body: Any, status: int
) -> None:
    client = api.as_("supervisor")
    before, audit_before = _counts(api), _audit_ids(api)
    r = client.request(method, url, json=body)
    _assert_problem(r, status)
    assert _counts(api) == before
    new = [a for a in rows(api.pars, "audit_log") if a["id"] not in audit_before]
    assert all(a["outcome"] == "failure" for a in new), new


def test_unknown_version_is_a_problem(api: Api, submitted: dict[str, Any]) -> None:
    aid = submitted["id"]
    _assert_problem(api.as_("clerk").get(f"{ARRESTS}/{aid}/versions/9"), 404)
    body = _assert_problem(api.as_("clerk").get(f"{ARRESTS}/{aid}/versions/0"), 422)
    assert [e["parameter"] for e in body["errors"]] == ["version"]
    body = _assert_problem(api.as_("clerk").get(f"{ARRESTS}/{aid}/versions/abc"), 422)
    assert [e["parameter"] for e in body["errors"]] == ["version"]


# -- query parameters of the list ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [
        pytest.param("limit=0", "limit", id="limit-zero"),
        pytest.param("limit=-1", "limit", id="limit-negative"),
        pytest.param("limit=201", "limit", id="limit-over_max"),
        pytest.param("limit=abc", "limit", id="limit-not_a_number"),
        pytest.param("state=bogus", "state", id="state-unknown"),
        pytest.param("state=draft&state=bogus", "state", id="state-second_unknown"),
        pytest.param("custody=escaped", "custody", id="custody-unknown"),
        pytest.param("order=sideways", "order", id="order-unknown"),
        pytest.param(
            "arrested_from=2026-11-20T00:00:00", "arrested_from", id="arrested_from-no_offset"
        ),
        pytest.param("arrested_to=tomorrow", "arrested_to", id="arrested_to-not_a_date"),
        pytest.param(
            "arrested_from=0001-01-01T00:00:00%2B05:00",
            "arrested_from",
            id="arrested_from-year_1_east_of_utc",
        ),
        pytest.param(
            "arrested_to=9999-12-31T23:59:59-12:00", "arrested_to", id="arrested_to-year_9999"
        ),
        pytest.param("district=" + "1" * 11, "district", id="district-oversize"),
        pytest.param("cursor=" + "c" * 201, "cursor", id="cursor-oversize"),
    ],
)
def test_list_refuses_bad_parameters(api: Api, query: str, name: str) -> None:
    r = api.as_("clerk").get(f"{ARRESTS}?{query}")
    body = _assert_problem(r, 422)
    errors = body["errors"]
    assert errors, body
    assert any(
        e.get("parameter", "").split(".")[0] == name and e.get("in") == "query" for e in errors
    ), errors


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        pytest.param("cursor=garbage", "/cursor", id="cursor-garbage"),
        pytest.param("cursor=!!!!", "/cursor", id="cursor-not_base64"),
        pytest.param("cursor=WzFd", "/cursor", id="cursor-json_one_item"),  # [1]
        pytest.param("cursor=WyJ4IiwgInkiXQ", "/cursor", id="cursor-json_not_a_time"),  # ["x","y"]
        pytest.param("cursor=e30", "/cursor", id="cursor-json_object"),  # {}
        pytest.param("cursor=MQ", "/cursor", id="cursor-json_number"),  # 1
        pytest.param("cursor=WzEsMl0", "/cursor", id="cursor-json_numbers"),  # [1,2]
        pytest.param(
            "arrested_from=2026-11-21T00:00:00Z&arrested_to=2026-11-20T00:00:00Z",
            "/arrested_to",
            id="arrested_to-before_from",
        ),
    ],
)
def test_list_refuses_bad_cursor_or_range(api: Api, query: str, pointer: str) -> None:
    r = api.as_("clerk").get(f"{ARRESTS}?{query}")
    body = _assert_problem(r, 422)
    errors = body["errors"]
    assert any(
        e.get("pointer") == pointer or e.get("parameter") == pointer.lstrip("/") for e in errors
    ), errors


# -- corrections must keep the record consistent with what is already stored ------------------


@pytest.mark.parametrize(
    ("changes", "pointers"),
    [
        pytest.param(
            {"person": {"date_of_birth": "2026-11-15"}},
            {"/changes/person/date_of_birth"},
            id="birth_after_stored_arrest",
        ),
        pytest.param(
            {"arrested_at": "1985-01-01T09:30:00-05:00"},
            {"/changes/arrested_at", "/changes/person/date_of_birth"},
            id="arrest_before_stored_birth",
        ),
    ],
)
def test_correction_cannot_put_birth_after_arrest(
    api: Api, changes: dict[str, Any], pointers: set[str]
) -> None:
    """The rule 'date of birth not after the arrest' holds against the stored record when a
    correction changes only one of the two dates."""
    created = api.as_("officer").post(
        f"{ARRESTS}?submit=true", json=arrest_body(arrested_at="2026-11-10T09:30:00-05:00")
    )
    assert created.status_code == 201, created.text
    arrest = created.json()
    api.as_("supervisor")
    client = api.as_("clerk")
    before, audit_before = _counts(api), _audit_ids(api)

    r = client.post(
        f"{ARRESTS}/{arrest['id']}/corrections", json={"reason": "typo", "changes": changes}
    )

    body = _assert_problem(r, 422)
    assert pointers & set(_pointers(body)), body
    _assert_nothing_written(api, before, audit_before)
    now = api.as_("supervisor").get(f"{ARRESTS}/{arrest['id']}").json()
    assert (now["version"], now["person"]["date_of_birth"], now["arrested_at"]) == (
        arrest["version"],
        arrest["person"]["date_of_birth"],
        arrest["arrested_at"],
    )
