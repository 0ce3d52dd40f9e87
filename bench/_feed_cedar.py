"""The partner projection next to the same field mask decided by Cedar (cedarpy), for bench/feed.py.

`cedar_model(agreements, policy)` writes a Cedar policy set and entity graph that encode what
`pars.sharing.projection` enforces: the agreement grants fields or classes to one partner, for some
event types, while it is active and within its term; the jurisdiction policy caps the classes each
partner class may ever receive; sensitive classes (and juvenile records) leave only with a quorum
of owners' explicit approvals. `cedar_mask` asks "may partner P read field F (of class C) of this
record under agreement A?" once for every field of the record, in one batch, and keeps the fields
allowed. `compare` checks that both give the same masked record, pair by pair; `measure` times
both on one core.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cedarpy

from pars.sharing.agreements import Agreement
from pars.sharing.fields import (
    ARREST_FIELDS,
    SENSITIVE_CLASSES,
    FieldClass,
    field_paths,
    leaves_under,
)
from pars.sharing.policy import JurisdictionPolicy
from pars.sharing.projection import Event, compile_projector, project

__all__ = ["CedarModel", "Rate", "cedar_mask", "cedar_model", "compare", "measure"]

_READ = 'Action::"read"'


def _uid(kind: str, ident: str) -> dict[str, str]:
    return {"type": kind, "id": ident}


def _ref(kind: str, ident: str) -> str:
    return f"{kind}::{json.dumps(ident)}"


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def _agreement_uid(a: Agreement) -> str:
    return f"{a.id}/v{a.version}"


@dataclass(frozen=True)
class CedarModel:
    text: str  # the policy set, as Cedar source
    policies: cedarpy.PolicySet
    entities: cedarpy.Entities
    size: int  # policies in the set


def _policy_text(agreements: list[Agreement], policy: JurisdictionPolicy) -> list[str]:
    q = policy.quorum
    out = [
        f"// Jurisdiction policy {policy.name!r}: the classes each partner class may ever receive.",
        "forbid (principal, action == " + _READ + ", resource)\nunless { principal in ["
        + ", ".join(_ref("PartnerClass", c) for c in policy.allowed) + "] };",
    ]  # fmt: skip
    for partner_class, classes in policy.allowed.items():
        kinds = ", ".join(_ref("FieldClass", c.value) for c in sorted(classes))
        out.append(
            f"forbid (principal in {_ref('PartnerClass', partner_class)}, action == {_READ}, "
            f"resource)\nunless {{ resource in [{kinds}] }};"
        )
    out.append("// Sensitive classes: only with a quorum of owners' explicit approvals.")
    for c in sorted(SENSITIVE_CLASSES):
        out.append(
            f"forbid (principal, action == {_READ}, resource in {_ref('FieldClass', c.value)})\n"
            f"unless {{ context.agreement.approved.{c.value} >= {q} }};"
        )
    juvenile_ok = [c for c, classes in policy.allowed.items() if FieldClass.JUVENILE in classes]
    rule = f"forbid (principal, action == {_READ}, resource)\nwhen {{ context.juvenile }}"
    if juvenile_ok:
        kinds = ", ".join(_ref("PartnerClass", c) for c in juvenile_ok)
        approved = f"context.agreement.approved.juvenile >= {q}"
        rule += f"\nunless {{ principal in [{kinds}] && {approved} }}"
    out += ["// A juvenile's record: only where allowed and approved.", rule + ";"]
    for a in agreements:
        grants = ", ".join(sorted(_grant_refs(a.granted)))
        out.append(
            f"// Agreement {_agreement_uid(a)}\n"
            f"permit (principal == {_ref('Partner', a.partner)}, action == {_READ}, resource)\n"
            "when {\n"
            f"  context.agreement == {_ref('Agreement', _agreement_uid(a))} &&\n"
            '  context.agreement.state == "active" &&\n'
            "  context.agreement.starts_at <= context.now &&\n"
            "  context.now < context.agreement.ends_at &&\n"
            "  context.agreement.event_types.contains(context.event_type) &&\n"
            f"  resource in [{grants}]\n}};"
        )
    return out


def _entities(agreements: list[Agreement], policy: JurisdictionPolicy) -> list[dict[str, Any]]:
    ents: list[dict[str, Any]] = [
        {"uid": _uid("PartnerClass", c), "attrs": {}, "parents": []} for c in policy.allowed
    ]
    ents += [{"uid": _uid("FieldClass", c.value), "attrs": {}, "parents": []} for c in FieldClass]
    ents += [
        {"uid": _uid("Field", path), "attrs": {}, "parents": [_uid("FieldClass", cls.value)]}
        for path, cls in ARREST_FIELDS.items()
    ]
    for a in agreements:
        ents.append(
            {
                "uid": _uid("Partner", a.partner),
                "attrs": {},
                "parents": [_uid("PartnerClass", a.partner_class)],
            }
        )
        approved = {
            c.value: sum(1 for p in a.approvals if c in p.sensitive) for c in SENSITIVE_CLASSES
        }
        ents.append(
            {
                "uid": _uid("Agreement", _agreement_uid(a)),
                "attrs": {
                    "partner": {"__entity": _uid("Partner", a.partner)},
                    "state": a.state.value,
                    "starts_at": _micros(a.starts_at),
                    "ends_at": _micros(a.ends_at),
                    "event_types": sorted(a.event_types),
                    "approved": approved,
                },
                "parents": [],
            }
        )
    return ents


def cedar_model(agreements: list[Agreement], policy: JurisdictionPolicy) -> CedarModel:
    """Cedar policies and entities that encode these agreements under this policy."""
    text = "\n\n".join(_policy_text(agreements, policy)) + "\n"
    return CedarModel(
        text=text,
        policies=cedarpy.PolicySet.from_str(text),
        entities=cedarpy.Entities.from_json_str(json.dumps(_entities(agreements, policy))),
        size=text.count("permit (") + text.count("forbid ("),
    )


def _grant_refs(granted: frozenset[str]) -> set[str]:
    """A grant names a field class, a leaf, or a subtree (`charges`, `person`): the Cedar
    resources it covers."""
    classes = {c.value for c in FieldClass}
    refs: set[str] = set()
    for g in granted:
        if g in classes:
            refs.add(_ref("FieldClass", g))
        else:
            refs.update(_ref("Field", leaf) for leaf in leaves_under(g))
    return refs


def _paths(record: Mapping[str, Any]) -> list[str]:
    """Every catalogued leaf path present in the record (`person.ssn`, `charges[].statute`,
    `co_defendants[]`): one authorization request each."""
    present = {p for p in field_paths(record) if p in ARREST_FIELDS}
    # An empty list has no leaf to ask for; the projection keeps it where a leaf under it
    # may leave, so ask for the catalogue's leaves under it.
    for path in _empty_lists(record, ""):
        present.update(p for p in ARREST_FIELDS if p.startswith(f"{path}[]"))
    return sorted(present)


def _empty_lists(value: Any, path: str) -> list[str]:
    if isinstance(value, Mapping):
        return [e for k, v in value.items() for e in _empty_lists(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        if not value:
            return [path]
        return [e for item in value for e in _empty_lists(item, f"{path}[]")]
    return []


_NONE = object()


def _leaves(record: Mapping[str, Any]) -> set[str]:
    """Each leaf path with its value, to name what differs."""
    out: set[str] = set()

    def walk(path: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{path}.{k}" if path else k, v)
        elif isinstance(value, list):
            out.add(f"{path}: list of {len(value)}")
            for v in value:
                walk(f"{path}[]", v)
        else:
            out.add(f"{path}={value!r}"[:80])

    walk("", record)
    return out


def _cut(value: Any, path: str, allowed: set[str]) -> Any:
    """`value` (at `path`) cut to the allowed leaves: an object keeps its allowed keys (and is
    dropped when none is left), a list keeps its allowed elements when any leaf under it is
    allowed, a plain value stays when its path is allowed."""
    if isinstance(value, Mapping):
        out = {}
        for key, sub in value.items():
            kept = _cut(sub, f"{path}.{key}" if path else key, allowed)
            if kept is not _NONE:
                out[key] = kept
        return out or _NONE
    if isinstance(value, list):
        if not any(p.startswith(f"{path}[]") for p in allowed):
            return _NONE
        items = (_cut(item, f"{path}[]", allowed) for item in value)
        return [item for item in items if item is not _NONE]
    return value if path in allowed else _NONE


def cedar_mask(model: CedarModel, a: Agreement, event: Event, now: datetime) -> dict[str, Any]:
    """The record masked by Cedar: one authorization request per field, in one batch."""
    record = event.record
    context = json.dumps(
        {
            "agreement": {"__entity": _uid("Agreement", _agreement_uid(a))},
            "now": _micros(now),
            "event_type": event.type,
            "juvenile": bool(record.get("juvenile")),
        }
    )
    principal = _ref("Partner", a.partner)
    paths = _paths(record)
    requests = [
        {"principal": principal, "action": _READ, "resource": _ref("Field", p), "context": context}
        for p in paths
    ]
    results = cedarpy.is_authorized_batch(requests, model.policies, model.entities)
    allowed = {p for p, r in zip(paths, results, strict=True) if r.allowed}
    kept = _cut(record, "", allowed)
    return {} if kept is _NONE else dict(kept)


Pair = tuple[Agreement, Event]


def compare(
    model: CedarModel, pairs: list[Pair], now: datetime, policy: JurisdictionPolicy
) -> tuple[int, list[str]]:
    """(pairs checked, differences): Cedar's mask against the data of `project` (nothing when it
    returns None) for every pair."""
    diffs: list[str] = []
    for a, event in pairs:
        ours = (project(a, event, now, policy) or {}).get("data", {})
        theirs = cedar_mask(model, a, event, now)
        if ours != theirs:
            only_ours = sorted(_leaves(ours) - _leaves(theirs))
            only_cedar = sorted(_leaves(theirs) - _leaves(ours))
            diffs.append(
                f"agreement {_agreement_uid(a)} ({a.partner_class}), record {event.subject}: "
                f"only projection {only_ours}, only Cedar {only_cedar}"
            )
    return len(pairs), diffs


@dataclass(frozen=True)
class Rate:
    name: str
    calls: int
    cpu: float  # seconds of this thread's CPU
    wall: float

    @property
    def per_second(self) -> float:
        return self.calls / self.cpu if self.cpu > 0 else 0.0


def _timed(name: str, pairs: list[Pair], one: Callable[[Pair], object], seconds: float) -> Rate:
    for pair in pairs[:50]:  # warm: caches, first calls
        one(pair)
    calls = 0
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    while True:
        for pair in pairs:
            one(pair)
        calls += len(pairs)
        if time.perf_counter() - wall0 >= seconds:
            break
    return Rate(name, calls, time.thread_time() - cpu0, time.perf_counter() - wall0)


def measure(
    model: CedarModel, pairs: list[Pair], now: datetime, policy: JurisdictionPolicy, seconds: float
) -> list[Rate]:
    """Masks per CPU second on this thread: the compiled projector's `apply`, the whole
    `project` (term, event type, juvenile check and the CloudEvent), and Cedar."""
    return [
        _timed(
            "compile_projector(agreement, policy).apply(data)",
            pairs,
            lambda p: compile_projector(p[0], policy).apply(p[1].record),
            seconds,
        ),
        _timed(
            "project(agreement, event, now, policy)",
            pairs,
            lambda p: project(p[0], p[1], now, policy),
            seconds,
        ),
        _timed(
            "cedarpy: is_authorized_batch, one request per field",
            pairs,
            lambda p: cedar_mask(model, p[0], p[1], now),
            seconds,
        ),
    ]
