"""Records with a distinct canary in every catalogued leaf, and the check that reads them back.
The builder lives in `pars.sharing.canaries` (the agreements screen uses it too); this module keeps
the tests' import path."""

from __future__ import annotations

from pars.sharing.canaries import canary, canary_record, leaves_seen

__all__ = ["canary", "canary_record", "leaves_seen"]
