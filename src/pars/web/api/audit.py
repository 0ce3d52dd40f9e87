"""The disclosure log over HTTP. Checkpoints, the public key and proofs are public (hashes
only, as in Certificate Transparency); signing on demand and the export are for auditors. A
partner's receipt is on the partner feed (web/api/feed.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.roles import Role
from pars.services import audit
from pars.services.app import Pars
from pars.services.auth import require_role
from pars.web.deps import Caller, get_pars

router = APIRouter(prefix="/api/v1/audit", tags=["disclosure log"])
PARS = Annotated[Pars, Depends(get_pars)]
_SIGNERS = frozenset({Role.AUDITOR, Role.PRIVACY_OFFICER, Role.ADMIN})
_EXPORTERS = frozenset({Role.AUDITOR, Role.PRIVACY_OFFICER})
Index = Annotated[int, Query(ge=0, le=2**62)]


@router.get("/checkpoint")
def latest(pars: PARS) -> dict[str, Any]:
    """The latest signed tree head: size, root hash, time and the Ed25519 signature over `note`."""
    return audit.latest_checkpoint(pars)


@router.get("/checkpoints")
def every_checkpoint(pars: PARS) -> dict[str, Any]:
    """Every checkpoint, oldest first: keep them, and a later rewrite of the log cannot hide."""
    return {"items": audit.all_checkpoints(pars)}


@router.post("/checkpoint", status_code=201)
async def sign_now(who: Caller, pars: PARS) -> dict[str, Any]:
    """Sign a checkpoint of the log as it stands (auditors, privacy officers, admins)."""
    require_role(pars, who, _SIGNERS, "sign_a_checkpoint")
    result: dict[str, Any] = await run_in_threadpool(audit.checkpoint, pars, who)
    return result


@router.get("/public-key")
def key(pars: PARS) -> dict[str, str]:
    """The Ed25519 public key that checkpoints verify with."""
    return audit.public_key(pars)


@router.get("/proof/inclusion")
def inclusion(pars: PARS, index: Index, size: Index | None = None) -> dict[str, Any]:
    """The audit path of entry `index` in the tree of `size` entries (default: the latest
    checkpoint's), with that tree's root."""
    return audit.inclusion_proof(pars, index, size)


@router.get("/proof/consistency")
def consistency(pars: PARS, first: Index, second: Index | None = None) -> dict[str, Any]:
    """The proof that the tree of `second` entries (default: the latest checkpoint's) extends
    the tree of `first` entries."""
    return audit.consistency_proof(pars, first, second)


@router.get("/export", response_class=StreamingResponse)
def export(who: Caller, pars: PARS, start: Index = 0, end: Index | None = None) -> Any:
    """The log's entries as JSON lines, for `pars.audit.standalone` (auditors, privacy
    officers). Entries are metadata only."""
    require_role(pars, who, _EXPORTERS, "export_the_disclosure_log")
    lines: Iterator[str] = audit.export_lines(pars, who, start, end)
    return StreamingResponse(lines, media_type="application/x-ndjson")
