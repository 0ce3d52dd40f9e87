"""Release without arraignment (Pa.R.Crim.P. 519(B)), as a rule a jurisdiction can replace.

A rule is any callable `(charges) -> str | None`: None when release is allowed by the charges,
otherwise the reason it is not. The jurisdiction names its rule in settings
(`PARS_RELEASE_RULE=package.module:function`). The judgments the rule also requires (the defendant
poses no threat, and is likely to appear) are attested by the prosecutor in the command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pars.domain.charging import Charge, top_grade
from pars.domain.grades import Grade

__all__ = ["ReleaseRule", "pennsylvania_rule"]

ReleaseRule = Callable[[Sequence[Charge]], "str | None"]

_DUI_SECTION = "75 § 3802"


def pennsylvania_rule(charges: Sequence[Charge]) -> str | None:
    """Allowed when the most serious active charge is a misdemeanor of the second degree or less,
    or a first-degree misdemeanor DUI (75 Pa.C.S. § 3802) and nothing more serious."""
    active = [c for c in charges if c.active]
    top = top_grade(active)
    if top is None:
        return "no active charges"
    if top.severity <= Grade.M2.severity:
        return None
    if top is Grade.M1:
        m1s = [c for c in active if c.spec.grade is Grade.M1]
        if all(c.spec.statute.startswith(_DUI_SECTION) for c in m1s):
            return None
        return "an M1 charge other than DUI (75 § 3802) is present"
    return f"the most serious charge is {top.value}; only M2 or lower, or an M1 DUI, qualifies"
