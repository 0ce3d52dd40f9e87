"""The jurisdiction policy: who the owners are, how many must approve, and which field classes each
partner class may ever be granted. It wins over every agreement, at creation and at every
delivery, so tightening it takes effect at once.

Loaded from YAML; an unknown key, an unknown class or an impossible quorum is an error at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pars.sharing.fields import NEVER_DISCLOSED, SENSITIVE_CLASSES, FieldClass

__all__ = ["PARTNER_CLASSES", "JurisdictionPolicy", "PolicyError"]

PARTNER_CLASSES = (
    "prosecutor", "court", "defense", "pretrial", "state_repository", "federal", "research",
)  # fmt: skip
_KEYS = {"name", "owners", "quorum", "partner_classes"}


class PolicyError(ValueError):
    pass


@dataclass(frozen=True, eq=False)  # hashed by identity: loaded once, used as a cache key
class JurisdictionPolicy:
    name: str
    owners: tuple[str, ...]
    quorum: int
    allowed: Mapping[str, frozenset[FieldClass]]

    def may_grant(self, partner_class: str) -> frozenset[FieldClass]:
        """The classes this partner class may ever receive; nothing for an unknown class."""
        return self.allowed.get(partner_class, frozenset())

    def refusals(self, partner_class: str, classes: frozenset[FieldClass]) -> list[str]:
        """Why granting `classes` to `partner_class` is refused (empty when it is allowed)."""
        if partner_class not in self.allowed:
            return [f"partner class {partner_class!r} is not in the jurisdiction policy"]
        over = sorted(c.value for c in classes - self.allowed[partner_class])
        if not over:
            return []
        return [f"policy {self.name!r} forbids {', '.join(over)} to {partner_class!r} partners"]

    @classmethod
    def from_mapping(cls, data: Any, source: str = "policy") -> JurisdictionPolicy:
        if not isinstance(data, Mapping):
            raise PolicyError(f"{source}: must be a mapping")
        unknown = set(data) - _KEYS
        if unknown:
            raise PolicyError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        missing = _KEYS - set(data)
        if missing:
            raise PolicyError(f"{source}: missing key(s) {', '.join(sorted(missing))}")
        owners = data["owners"]
        if (
            not isinstance(owners, list)
            or not owners
            or not all(isinstance(o, str) and o for o in owners)
            or len(set(owners)) != len(owners)
        ):
            raise PolicyError(f"{source}: owners must be a list of distinct names")
        quorum = data["quorum"]
        if (
            not isinstance(quorum, int)
            or isinstance(quorum, bool)
            or not 1 <= quorum <= len(owners)
        ):
            raise PolicyError(f"{source}: quorum must be a whole number from 1 to {len(owners)}")
        classes = data["partner_classes"]
        if not isinstance(classes, Mapping):
            raise PolicyError(f"{source}: partner_classes must map a partner class to classes")
        allowed: dict[str, frozenset[FieldClass]] = {}
        for partner, granted in classes.items():
            if partner not in PARTNER_CLASSES:
                known = ", ".join(PARTNER_CLASSES)
                raise PolicyError(f"{source}: unknown partner class {partner!r}; one of {known}")
            if not isinstance(granted, list):
                raise PolicyError(f"{source}: partner_classes.{partner} must be a list")
            try:
                allowed[partner] = frozenset(FieldClass(g) for g in granted)
            except ValueError as e:
                raise PolicyError(f"{source}: partner_classes.{partner}: {e}") from None
            if allowed[partner] & NEVER_DISCLOSED:
                raise PolicyError(
                    f"{source}: partner_classes.{partner}: staff data is never disclosed"
                )
        return cls(str(data["name"]), tuple(owners), quorum, allowed)

    @classmethod
    def load(cls, path: str | Path) -> JurisdictionPolicy:
        text = Path(path).read_text()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise PolicyError(f"{path}: not YAML: {e}") from None
        return cls.from_mapping(data, str(path))

    @classmethod
    def shipped(cls, name: str = "default") -> JurisdictionPolicy:
        """A policy shipped with PARS: `default` or `sanctuary`."""
        ref = resources.files("pars.data.policies") / f"{name}.yaml"
        return cls.from_mapping(yaml.safe_load(ref.read_text()), f"shipped policy {name!r}")

    @property
    def sensitive_anywhere(self) -> bool:
        """Whether any partner class may ever receive a sensitive class."""
        return any(classes & SENSITIVE_CLASSES for classes in self.allowed.values())
