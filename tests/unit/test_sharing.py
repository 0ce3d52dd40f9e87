"""The jurisdiction policy, the agreement lifecycle, and the projection: deny by default, policy
over agreement, sensitive classes only with quorum, time enforced to the second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pars.domain.errors import Conflict, Forbidden, InvalidInput
from pars.domain.events import EVENT_TYPES
from pars.sharing.agreements import Agreement, AgreementState, Transport
from pars.sharing.fields import (
    ARREST_FIELDS,
    NEVER_DISCLOSED,
    SENSITIVE_CLASSES,
    FieldClass,
    unclassified,
)
from pars.sharing.policy import PARTNER_CLASSES, JurisdictionPolicy, PolicyError
from pars.sharing.projection import Event, project
from tests.canaries import canary, canary_record, leaves_seen

T0 = datetime(2026, 9, 1, 4, 0, tzinfo=UTC)
T1 = datetime(2027, 8, 31, 4, 0, tzinfo=UTC)
DEFAULT = JurisdictionPolicy.shipped("default")
SANCTUARY = JurisdictionPolicy.shipped("sanctuary")


def _agreement(**kw: Any) -> Agreement:
    base: dict[str, Any] = {
        "id": "ag-1", "version": 1, "partner": "State Police", "partner_class": "state_repository",
        "purpose": "statewide criminal history", "legal_basis": "18 Pa.C.S. § 9112",
        "event_types": frozenset({"pars.arrest.submitted"}), "granted": frozenset({"case"}),
        "starts_at": T0, "ends_at": T1,
    }  # fmt: skip
    base.update(kw)
    return Agreement(**base)


def _active(a: Agreement, policy: JurisdictionPolicy = DEFAULT, **sensitive: Any) -> Agreement:
    a = a.submit(policy)
    for owner in policy.owners[: policy.quorum]:
        a = a.approve(
            owner, T0 - timedelta(days=1), policy, sensitive.get("sensitive", frozenset())
        )
    assert a.state is AgreementState.ACTIVE
    return a


# -- policy --------------------------------------------------------------------------------


def test_shipped_policies_forbid_sensitive_classes_everywhere() -> None:
    for policy in (DEFAULT, SANCTUARY):
        assert not policy.sensitive_anywhere
        assert set(policy.allowed) == set(PARTNER_CLASSES)
    assert SANCTUARY.may_grant("federal") == {FieldClass.CASE}


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("name: x\nowners: [a, b]\nquorum: 1\npartner_classes: {}\nextra: 1\n", "unknown key"),
        ("name: x\nowners: [a, b]\npartner_classes: {}\n", "missing key"),
        ("name: x\nowners: [a, b]\nquorum: 3\npartner_classes: {}\n", "quorum"),
        ("name: x\nowners: [a, a]\nquorum: 1\npartner_classes: {}\n", "distinct"),
        ("name: x\nowners: [a]\nquorum: 1\npartner_classes: {spies: [case]}\n", "spies"),
        ("name: x\nowners: [a]\nquorum: 1\npartner_classes: {federal: [dna]}\n", "dna"),
        ("name: x\nowners: [a]\nquorum: true\npartner_classes: {}\n", "quorum"),
        ("- not a mapping\n", "mapping"),
        ("{unclosed\n", "not YAML"),
    ],
)
def test_bad_policies_are_refused_at_load(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml_text)
    with pytest.raises(PolicyError, match=message):
        JurisdictionPolicy.load(path)


# -- agreements ----------------------------------------------------------------------------


def test_lifecycle_needs_the_quorum() -> None:
    a = _agreement().submit(DEFAULT)
    assert a.state is AgreementState.PENDING_APPROVAL
    a = a.approve("district_attorney", T0, DEFAULT)
    assert a.state is AgreementState.PENDING_APPROVAL
    with pytest.raises(Conflict, match="already approved"):
        a.approve("district_attorney", T0, DEFAULT)
    with pytest.raises(Forbidden):
        a.approve("police_commissioner", T0, DEFAULT)
    a = a.approve("courts", T0, DEFAULT)
    assert a.state is AgreementState.ACTIVE
    assert a.suspend("city", DEFAULT).state is AgreementState.SUSPENDED
    assert a.revoke("courts", DEFAULT).state is AgreementState.REVOKED


def test_renewal_is_a_new_version_that_needs_approval_again() -> None:
    a = _active(_agreement())
    renewed = a.renew(T1, T1 + timedelta(days=365))
    assert (renewed.version, renewed.previous_version) == (2, 1)
    assert renewed.state is AgreementState.DRAFT and renewed.approvals == ()
    assert not renewed.discloses_at(T1)


def test_time_is_enforced_to_the_second() -> None:
    a = _active(_agreement())
    assert not a.discloses_at(T0 - timedelta(microseconds=1))
    assert a.discloses_at(T0)
    assert a.discloses_at(T1 - timedelta(microseconds=1))
    assert not a.discloses_at(T1)
    assert a.effective_state(T1) is AgreementState.EXPIRED


@pytest.mark.parametrize(
    ("kw", "pointer", "text"),
    [
        ({"granted": frozenset({"protected"})}, "/granted", "forbids protected"),
        ({"granted": frozenset({"person.ssn"})}, "/granted", "forbids protected"),
        (
            {"granted": frozenset({"victims"}), "partner_class": "prosecutor"},
            "/granted",
            "victim_witness",
        ),
        ({"granted": frozenset({"person.immigration_status"})}, "/granted", "not a field"),
        ({"granted": frozenset()}, "/granted", "at least one"),
        ({"partner_class": "ice"}, "/partner_class", "one of"),
        ({"event_types": frozenset({"pars.arrest.searched"})}, "/event_types", "unknown"),
        ({"ends_at": T0}, "/ends_at", "after"),
        ({"transport": Transport.WEBHOOK}, "/webhook_url", "required"),
    ],
)
def test_invalid_agreements_are_refused(kw: dict[str, Any], pointer: str, text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        _agreement(**kw).submit(DEFAULT)
    assert any(e.pointer == pointer and text in e.detail for e in err.value.errors), err.value


def test_policy_change_is_enforced_at_approval_and_delivery() -> None:
    a = _agreement(partner_class="federal", granted=frozenset({"identity", "case"}))
    pending = a.submit(DEFAULT)
    with pytest.raises(InvalidInput, match="forbids identity"):
        pending.approve("district_attorney", T0, SANCTUARY)
    active = _active(a)
    event = _event({"id": "x", "juvenile": False, "person": {"last_name": "CANARY"}})
    assert project(active, event, T0, DEFAULT) is not None
    delivered = project(active, event, T0, SANCTUARY)
    assert delivered is not None
    assert "person" not in delivered["data"]


# -- projection ----------------------------------------------------------------------------


def _event(record: dict[str, Any], type_: str = "pars.arrest.submitted") -> Event:
    return Event("ev-1", type_, "urn:pars:test", "arrest-1", T0, 1, record)


def _canary_record() -> dict[str, Any]:
    """A record with a distinct canary value in every catalogued leaf, plus some the catalogue
    does not know, at the top, in an object and inside list elements."""
    record = canary_record()
    record["person"]["immigration_status"] = "CANARY<unclassified#0>"
    record["gps_trace"] = "CANARY<unclassified-top#0>"
    record["custody_changes"][0]["badge_scan"] = "CANARY<unclassified-list#0>"
    record["charges"][1]["recommended"]["officer_note"] = "CANARY<unclassified-deep#0>"
    return record


def test_unclassified_fields_are_found() -> None:
    assert unclassified(_canary_record()) == [
        "charges[].recommended.officer_note",
        "custody_changes[].badge_scan",
        "gps_trace",
        "person.immigration_status",
    ]


FIELD_NAMES = sorted(ARREST_FIELDS)
# Grants by subtree as well as by leaf and by class; `staff` is asked for too, and refused.
SUBTREES = sorted(
    {p.split(".")[0].removesuffix("[]") for p in ARREST_FIELDS if "." in p}
    | {
        "charges[].recommended",
        "person.aliases",
        "arraignment.bail",
    }
)
CLASS_NAMES = sorted(c.value for c in FieldClass)
POLICY_CLASSES = sorted(c.value for c in FieldClass if c not in NEVER_DISCLOSED)


@st.composite
def policies(draw: st.DrawFn) -> JurisdictionPolicy:
    allowed = {
        pc: draw(st.lists(st.sampled_from(POLICY_CLASSES), unique=True)) for pc in PARTNER_CLASSES
    }
    return JurisdictionPolicy.from_mapping(
        {"name": "random", "owners": ["a", "b", "c"], "quorum": draw(st.integers(1, 3)),
         "partner_classes": allowed}
    )  # fmt: skip


def _granted_leaf(path: str, granted: list[str]) -> bool:
    cls = ARREST_FIELDS[path]
    # A granted name that is a class's ("juvenile") names the class, not the leaf of that name.
    if cls.value in granted or (path in granted and path not in CLASS_NAMES):
        return True
    return any(path.startswith((f"{g}.", f"{g}[]")) for g in granted)


@settings(max_examples=400, deadline=None)
@given(
    policy=policies(),
    partner_class=st.sampled_from(PARTNER_CLASSES),
    granted=st.lists(
        st.sampled_from(FIELD_NAMES + CLASS_NAMES + SUBTREES), min_size=1, max_size=8, unique=True
    ),
    approvers=st.integers(0, 3),
    sensitive=st.lists(st.sampled_from(sorted(c.value for c in SENSITIVE_CLASSES)), unique=True),
    juvenile=st.booleans(),
    offset=st.integers(-5, 5),
)
def test_nothing_leaves_outside_grant_policy_and_quorum(
    policy: JurisdictionPolicy,
    partner_class: str,
    granted: list[str],
    approvers: int,
    sensitive: list[str],
    juvenile: bool,
    offset: int,
) -> None:
    agreement = _agreement(partner_class=partner_class, granted=frozenset(granted))
    try:
        agreement = agreement.submit(policy)
    except InvalidInput:
        return  # refused at creation: nothing can ever be delivered under it
    # Whatever was accepted asks for no staff data and nothing the policy forbids.
    assert not agreement.granted_classes() & NEVER_DISCLOSED
    assert agreement.granted_classes() <= policy.may_grant(partner_class)
    asked = agreement.granted_classes() & SENSITIVE_CLASSES
    approved = frozenset(FieldClass(s) for s in sensitive) & asked
    for owner in policy.owners[: min(approvers, policy.quorum)]:
        agreement = agreement.approve(owner, T0, policy, approved)
    record = _canary_record()
    record["juvenile"] = juvenile
    now = T1 + timedelta(seconds=offset)
    out = project(agreement, _event(record), now, policy)
    if approvers < policy.quorum or offset >= 0:
        assert out is None
        return
    quorum_ok = approved if approvers >= policy.quorum else frozenset()
    permitted = policy.may_grant(partner_class)
    if juvenile and not (FieldClass.JUVENILE in permitted and FieldClass.JUVENILE in quorum_ok):
        assert out is None
        return
    assert out is not None
    text = repr(out)
    assert "CANARY<unclassified" not in text
    seen = leaves_seen(text)
    for path, cls in ARREST_FIELDS.items():
        may = (
            _granted_leaf(path, granted)
            and cls in permitted
            and cls not in NEVER_DISCLOSED
            and (cls not in SENSITIVE_CLASSES or cls in quorum_ok)
        )
        if path == "juvenile":  # holds the real flag, not a canary
            assert ("juvenile" in out["data"]) == may
            continue
        assert (path in seen) == may, (path, may)
        if may and "[]" in path:  # every element of a list, not only the first
            assert canary(path, 1) in text, path
    assert not any(ARREST_FIELDS[p] is FieldClass.STAFF for p in seen)


def test_staff_usernames_cannot_be_granted() -> None:
    for granted in ({"staff"}, {"custody_changes[].by", "case"}, {"seal.by"}):
        with pytest.raises(InvalidInput) as e:
            _agreement(granted=frozenset(granted)).submit(DEFAULT)
        assert "staff usernames never leave" in str(e.value.errors)


def test_a_subtree_grant_names_what_the_policy_forbids_inside_it() -> None:
    a = _agreement(partner_class="pretrial", granted=frozenset({"custody_changes"}))
    with pytest.raises(InvalidInput) as e:
        a.submit(DEFAULT)
    assert "custody_changes[].note (narrative)" in str(e.value.errors)


def test_a_subtree_grant_gives_its_leaves_but_never_who_did_it() -> None:
    a = _active(_agreement(partner_class="court", granted=frozenset({"custody_changes"})))
    record = {
        "id": "x",
        "juvenile": False,
        **{"custody_changes": _canary_record()["custody_changes"]},
    }
    out = project(a, _event(record), T0, DEFAULT)
    assert out is not None
    changes = out["data"]["custody_changes"]
    assert len(changes) == 2
    assert all("by" not in c and "badge_scan" not in c for c in changes)
    assert {"from", "to", "reason", "at", "note"} <= set(changes[0])


def test_granting_juvenile_is_refused_where_the_policy_forbids_it() -> None:
    for pc in PARTNER_CLASSES:
        with pytest.raises(InvalidInput) as e:
            _agreement(partner_class=pc, granted=frozenset({"case", "juvenile"})).submit(DEFAULT)
        assert "forbids juvenile" in str(e.value.errors)


def test_a_record_that_does_not_say_it_is_an_adults_is_a_juveniles() -> None:
    a = _active(_agreement())
    assert project(a, _event({"id": "x", "state": "sealed"}), T0, DEFAULT) is None
    assert project(a, _event({"id": "x", "juvenile": None}), T0, DEFAULT) is None
    assert project(a, _event({"id": "x", "juvenile": False}), T0, DEFAULT) is not None


def test_a_value_of_another_shape_than_the_catalogue_says_is_dropped() -> None:
    a = _active(_agreement(granted=frozenset({"case"})))
    record = {
        "id": {"nested": "CANARY<x#0>"},  # an object where a leaf is expected
        "otn": ["CANARY<y#0>"],  # a list where a leaf is expected
        "juvenile": False,
        "charges": {"statute": "CANARY<z#0>"},  # an object where a list is expected
        "co_defendants": [{"name": "CANARY<w#0>"}],  # objects where values are expected
    }
    out = project(a, _event(record), T0, DEFAULT)
    assert out is not None
    assert "CANARY" not in repr(out)


def test_event_types_not_covered_are_not_sent() -> None:
    a = _active(_agreement())
    assert project(a, _event({"id": "x"}, "pars.custody.changed"), T0, DEFAULT) is None
    assert a.event_types <= EVENT_TYPES


def test_the_payload_is_a_cloudevent_naming_the_agreement() -> None:
    a = _active(_agreement())
    record = {"id": "arrest-1", "otn": "Q1", "narrative": "x", "juvenile": False}
    out = project(a, _event(record), T0, DEFAULT)
    assert out is not None
    assert out["specversion"] == "1.0"
    assert out["parsagreement"] == "ag-1/v1"
    assert out["data"] == {"id": "arrest-1", "otn": "Q1", "juvenile": False}


def test_the_compiled_projector_cuts_exactly_as_the_reference_walk() -> None:
    from pars.sharing.projection import _DROP, _keep, compile_projector

    odd = {
        "id": {"nested": "x"},
        "otn": ["y"],
        "charges": {"statute": "z"},
        "co_defendants": [{"name": "w"}],
        "juvenile": False,
    }
    for granted in ({"case"}, {"case", "identity", "contact", "officer", "narrative"}, {"otn"}):
        agreement = _agreement(partner_class="prosecutor", granted=frozenset(granted))
        projector = compile_projector(_active(agreement), DEFAULT)
        for record in (_canary_record(), odd, {}, {"charges": [1, None, {"statute": "s"}]}):
            reference = _keep(projector.shape, record)
            got = projector.apply(record)
            assert got == ({} if reference is _DROP else reference)
            assert list(got) == list({} if reference is _DROP else reference)  # same key order


def test_agreements_that_keep_the_same_leaves_share_one_cut_and_are_each_checked() -> None:
    first = _active(_agreement(id="ag-1", granted=frozenset({"case"})))
    second = _active(_agreement(id="ag-2", granted=frozenset({"case"})))
    wider = _active(_agreement(id="ag-3", granted=frozenset({"case", "identity"})))
    ended = _active(_agreement(id="ag-4", granted=frozenset({"case"}), ends_at=T0 + timedelta(1)))
    event = _event(_canary_record())
    shared: dict[Any, Any] = {}
    now = T0 + timedelta(days=2)
    a = project(first, event, now, DEFAULT, shared)
    b = project(second, event, now, DEFAULT, shared)
    c = project(wider, event, now, DEFAULT, shared)
    assert a is not None and b is not None and c is not None
    assert a["data"] is b["data"]  # one cut for both
    assert a["data"] == project(first, event, now, DEFAULT)["data"]  # type: ignore[index]
    assert c["data"] != a["data"] and len(shared) == 2
    assert (a["parsagreement"], b["parsagreement"]) == ("ag-1/v1", "ag-2/v1")
    assert project(ended, event, now, DEFAULT, shared) is None  # the term is checked each time
    juvenile = _event({**_canary_record(), "juvenile": True})
    assert project(first, juvenile, now, DEFAULT, {}) is None


def test_agreements_that_keep_the_same_part_share_its_cut_and_nothing_more() -> None:
    from pars.sharing.projection import Shared

    narrow = _active(_agreement(id="ag-1", granted=frozenset({"case"})))
    wider = _active(_agreement(id="ag-2", granted=frozenset({"case", "identity"})))
    event = _event(_canary_record())
    now = T0 + timedelta(days=2)
    shared = Shared()
    a = project(narrow, event, now, DEFAULT, shared)
    b = project(wider, event, now, DEFAULT, shared)
    alone_a, alone_b = project(narrow, event, now, DEFAULT), project(wider, event, now, DEFAULT)
    assert a is not None and b is not None and alone_a is not None and alone_b is not None
    assert a["data"] == alone_a["data"] and b["data"] == alone_b["data"]  # the same cuts
    assert list(b["data"]) == list(alone_b["data"])  # in the same key order
    assert a["data"] is not b["data"] and len(shared) == 2
    assert a["data"]["charges"] and a["data"]["charges"] is b["data"]["charges"]  # made once
    assert "person" not in a["data"] and b["data"]["person"]  # the rest is each agreement's


def test_stored_documents_read_back_as_the_standard_decoder_reads_them() -> None:
    import json

    from pars.store.bulk import loads_json

    for text in (
        '{"a": 1, "b": [1.5, "x", null, true], "c": {"d": "\\u00e9"}}',
        '{"big": 123456789012345678901234567890, "neg": -98765432109876543210}',
        '{"id": "1234567890123456789012"}',
        '{"n": NaN, "s": "\\ud800"}',
        # the edges of the 19-digit look: 18 digits, 19 (fits 64 bits), 20 (does not)
        '{"a": 123456789012345678, "b": 9223372036854775807, "c": 18446744073709551616}',
        '[-9223372036854775809, 1.2345678901234567e+300, "\u0661\u0662", "é12345678901234567890"]',
        '{"raw": "\ud800"}',  # a lone surrogate as it is, not escaped
    ):
        for stored in (text, text.encode("utf-8", "surrogatepass")):
            # repr: ints stay ints (not floats), NaN stays NaN (which equals nothing)
            assert repr(loads_json(stored)) == repr(json.loads(text))
