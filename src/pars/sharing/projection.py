"""The one function through which arrest data leaves PARS.

`project(agreement, event, now, policy)` is pure and total: it returns the CloudEvent that may be
sent to the agreement's partner at `now`, holding only the fields the agreement grants AND the
jurisdiction's policy allows AND (for sensitive classes) the owners approved by quorum, or None
when nothing may be sent. Agreements are compiled once per version into a `Projector` (a set of
allowed leaf paths, shaped as a tree), so each delivery is one walk of the record that keeps
only the leaves the tree names, inside nested objects and lists too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pars.sharing.agreements import Agreement
from pars.sharing.fields import ARREST_FIELDS, NEVER_DISCLOSED, SENSITIVE_CLASSES, FieldClass
from pars.sharing.policy import JurisdictionPolicy

__all__ = [
    "AGREEMENT_ATTRIBUTE",
    "EVENT_FORMAT",
    "Event",
    "Projector",
    "Shared",
    "compile_projector",
    "project",
    "project_record",
]

# PARS's event format: CloudEvents 1.0 (JSON format) with these extension attributes. Version 2
# renamed `pars_agreement`, `pars_log_index` and `pars_log_salt` (names CloudEvents forbids:
# extension names are lower-case letters and digits only) to `parsagreement`, `parslogindex`
# and `parslogsalt`. docs/events.md describes it.
EVENT_FORMAT = 2
AGREEMENT_ATTRIBUTE = "parsagreement"  # String: "<agreement id>/v<version>"


@dataclass(frozen=True)
class Event:
    """A committed event with the record it carries (the arrest at the event's version, as the
    full staff view), before projection."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    version: int
    record: Mapping[str, Any]
    # `time` as RFC 3339 text in UTC, made once: an event goes to every partner it is due to.
    time_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_text", self.time.astimezone(UTC).isoformat())


# A compiled shape: LEAF keeps a plain value; a dict keeps those keys of an object; a one-item
# tuple keeps every element of a list, each shaped by its item.
_Shape = Any
LEAF = "leaf"
_DROP = object()
_SCALARS = (str, int, float, bool, type(None))


def _shape(paths: frozenset[str]) -> dict[str, _Shape]:
    """The tree of the allowed leaf paths (`a.b`, `a[].b`, `a[]`)."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node: Any = root
        parts = path.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part.endswith("[]"):
                key = part[:-2]
                fresh: list[Any] = [LEAF] if last else [{}]
                item: list[Any] = node.setdefault(key, fresh)
                node = item[0]
            elif last:
                node[part] = LEAF
            else:
                node = node.setdefault(part, {})
    shape: dict[str, _Shape] = _freeze(root)
    return shape


def _freeze(node: Any) -> Any:
    if isinstance(node, list):
        return (_freeze(node[0]),)
    if isinstance(node, dict):
        return {k: _freeze(v) for k, v in node.items()}
    return node


def _keep(shape: _Shape, value: Any) -> Any:
    """`value` cut to `shape`, or _DROP. A value whose type is not the shape's (an object where
    a leaf is expected, say) is dropped: only what the catalogue names can leave. (The
    reference for `_cutter`, which compiles the same walk once per shape.)"""
    if shape is LEAF:
        return value if isinstance(value, _SCALARS) else _DROP
    if isinstance(shape, tuple):
        if not isinstance(value, list):
            return _DROP
        kept = (_keep(shape[0], item) for item in value)
        return [item for item in kept if item is not _DROP]
    if not isinstance(value, Mapping):
        return _DROP
    out = {}
    for key, sub in shape.items():
        if key in value:
            kept = _keep(sub, value[key])
            if kept is not _DROP:
                out[key] = kept
    return out or _DROP


_Cut = Callable[[Any], Any]


def _leaf(value: Any) -> Any:
    return value if isinstance(value, _SCALARS) else _DROP


def _shape_key(shape: _Shape) -> Any:
    """A hashable form of a shape that keeps its key order: equal keys, equal cuts."""
    if isinstance(shape, tuple):
        return (_shape_key(shape[0]),)
    if isinstance(shape, dict):
        return tuple((k, _shape_key(v)) for k, v in shape.items())
    return shape


def _cutter(shape: _Shape) -> _Cut:
    """`_keep(shape, ...)` as a function built once per shape: the relay cuts every record for
    every agreement, and walking the shape's dictionaries each time was most of its cost. The
    leaves of an object are checked inline; a nested object or list gets its own cutter, the
    same function for every projector whose sub-shape there is the same (see `_Parts`)."""
    return _interned(_shape_key(shape), shape)


_CUTTERS: dict[Any, _Cut] = {}


def _interned(key: Any, shape: _Shape) -> _Cut:
    cut = _CUTTERS.get(key)
    if cut is None:
        cut = _CUTTERS[key] = _build_cutter(shape)
    return cut


def _build_cutter(shape: _Shape) -> _Cut:
    if shape is LEAF:
        return _leaf
    if isinstance(shape, tuple):
        item = _cutter(shape[0])

        def cut_list(value: Any) -> Any:
            if not isinstance(value, list):
                return _DROP
            kept = [item(v) for v in value]
            return [v for v in kept if v is not _DROP]

        return cut_list
    # In the shape's order, so that a projection's keys come out as before; None for a leaf.
    keys = tuple((k, None if sub is LEAF else _cutter(sub)) for k, sub in shape.items())
    scalars = _SCALARS

    def cut_object(value: Any) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            return _DROP
        out = {}
        for key, cut in keys:
            if key in value:
                v = value[key]
                if cut is None:
                    if isinstance(v, scalars):
                        out[key] = v
                elif (v := cut(v)) is not _DROP:
                    out[key] = v
        return out or _DROP

    return cut_object


_Parts = dict[tuple[_Cut, str], Any]
"""Cuts of one record's top-level parts already made (`charges`, `person`, ...), by the
cutter that made them: projectors whose sub-shape for a part is the same share one interned
cutter, so the part is cut once per record however many agreements keep it."""
_MISSING = object()


def _top_cutter(shape: Mapping[str, _Shape]) -> Callable[[Mapping[str, Any], _Parts | None], Any]:
    """The cutter of a whole record: `cut_object` of the shape's top level, where each nested
    part's cut is looked up in `parts` (when given) before it is made."""
    keys = tuple((k, None if sub is LEAF else _cutter(sub)) for k, sub in shape.items())
    scalars = _SCALARS

    def cut_record(value: Mapping[str, Any], parts: _Parts | None) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            return _DROP
        out = {}
        for key, cut in keys:
            if key in value:
                v = value[key]
                if cut is None:
                    if isinstance(v, scalars):
                        out[key] = v
                    continue
                if parts is None:
                    v = cut(v)
                else:
                    done = parts.get((cut, key), _MISSING)
                    if done is _MISSING:
                        done = parts[cut, key] = cut(v)
                    v = done
                if v is not _DROP:
                    out[key] = v
        return out or _DROP

    return cut_record


@dataclass(frozen=True)
class Projector:
    """An agreement version compiled against a policy: the leaf paths that may leave."""

    allowed: frozenset[str]
    shape: Mapping[str, _Shape]
    juvenile_allowed: bool
    _cut: Callable[[Mapping[str, Any], _Parts | None], Any] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cut", _top_cutter(self.shape))

    def apply(self, record: Mapping[str, Any], parts: _Parts | None = None) -> dict[str, Any]:
        """`record` cut to the allowed leaves. `parts`, if given, is kept for this one record
        (see `_Parts`): the cut then shares the nested values it holds with other cuts of the
        same record, which no caller may change."""
        kept = self._cut(record, parts)
        return {} if kept is _DROP else dict(kept)


def compile_projector(agreement: Agreement, policy: JurisdictionPolicy) -> Projector:
    """The allowed leaves: granted ∩ policy-allowed for the partner class, minus sensitive
    classes that a quorum of owners has not explicitly approved, minus staff leaves always.
    Cached by agreement version (every field of it), and kept on the agreement object for the
    policy it was compiled against: the relay asks for every event it projects, and looking a
    freshly loaded agreement up in the cache hashes and compares all its fields each time (7%
    of the relay's CPU)."""
    kept = agreement.__dict__.get(_PROJECTOR)
    if kept is not None and kept[0] is policy:
        return kept[1]  # type: ignore[no-any-return]
    projector = _compiled(agreement, policy)
    object.__setattr__(agreement, _PROJECTOR, (policy, projector))  # a frozen value's cache
    return projector


_PROJECTOR = "_projector"


@lru_cache(maxsize=1024)
def _compiled(agreement: Agreement, policy: JurisdictionPolicy) -> Projector:
    permitted = policy.may_grant(agreement.partner_class) - NEVER_DISCLOSED
    sensitive_ok = agreement.approved_sensitive(policy)
    allowed = frozenset(
        path
        for path in agreement.granted_fields()
        if ARREST_FIELDS[path] in permitted
        and (ARREST_FIELDS[path] not in SENSITIVE_CLASSES or ARREST_FIELDS[path] in sensitive_ok)
    )
    return Projector(
        allowed=allowed,
        shape=_shape(allowed),
        juvenile_allowed=FieldClass.JUVENILE in permitted and FieldClass.JUVENILE in sensitive_ok,
    )


class Shared(dict[frozenset[str], dict[str, Any]]):
    """Cuts of one record already made, by the leaves they kept (see `project_record`), and
    the cuts of its top-level parts (`parts`, see `_Parts`). Keep one per record."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        super().__init__()
        self.parts: _Parts = {}


def project_record(
    agreement: Agreement,
    record: Mapping[str, Any],
    now: datetime,
    policy: JurisdictionPolicy,
    shared: dict[frozenset[str], dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """What of `record` may leave to this agreement's partner at `now`, or None: the agreement
    is not in force, or the record is a juvenile's and juvenile records are not allowed and
    approved. A record that does not say whether it is a juvenile's counts as one (deny by
    default). Used directly for look-ups, and by `project` for events.

    `shared`, if given, is a dictionary kept for this one record: agreements whose compiled
    projectors allow the same leaves get the same cut, made once (the same object, which the
    callers must not change); a `Shared` also shares the cuts of the record's parts between
    agreements whose leaves differ elsewhere. Every check above is still made for each
    agreement."""
    if not agreement.discloses_at(now):
        return None
    projector = compile_projector(agreement, policy)
    if record.get("juvenile", True) is not False and not projector.juvenile_allowed:
        return None
    if shared is None:
        return projector.apply(record)
    data = shared.get(projector.allowed)
    if data is None:
        parts = shared.parts if isinstance(shared, Shared) else None
        data = shared[projector.allowed] = projector.apply(record, parts)
    return data


def project(
    agreement: Agreement,
    event: Event,
    now: datetime,
    policy: JurisdictionPolicy,
    shared: dict[frozenset[str], dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """The CloudEvent for this agreement's partner, or None if nothing of `event` may leave at
    `now` (see `project_record`), or the agreement does not cover the event type. `shared`:
    as for `project_record`, kept for this one event."""
    if event.type not in agreement.event_types:
        return None
    data = project_record(agreement, event.record, now, policy, shared)
    if data is None:
        return None
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": event.time_text,  # RFC 3339, always with its offset
        "datacontenttype": "application/json",
        AGREEMENT_ATTRIBUTE: f"{agreement.id}/v{agreement.version}",
        "data": data,
    }
