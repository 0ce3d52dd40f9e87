"""The disclosure log over HTTP. Checkpoints, the public key and proofs are public (hashes
only, as in Certificate Transparency); signing on demand and the export are for auditors. A
partner's receipt is on the partner feed (web/api/feed.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from pars.domain.errors import NotFound
from pars.domain.roles import Role
from pars.services import audit
from pars.services.app import Pars, Principal
from pars.web.deps import allowed, get_pars
from pars.web.routing import CheckedRoute

router = APIRouter(prefix="/api/v1/audit", tags=["disclosure log"], route_class=CheckedRoute)
PARS = Annotated[Pars, Depends(get_pars)]
_SIGNERS = frozenset({Role.AUDITOR, Role.PRIVACY_OFFICER, Role.ADMIN})
_EXPORTERS = frozenset({Role.AUDITOR, Role.PRIVACY_OFFICER})
Index = Annotated[int, Query(ge=0, le=2**62)]


def prefers_json(accept: str | None) -> bool:
    """Whether an Accept header asks for JSON before plain text. No header, `*/*`, `text/*`
    and browsers' headers get the signed note (what transparency-log tools fetch); JSON needs
    `application/json` ranked above `text/plain` (by q, then by being named rather than
    matched by a wildcard, then by coming first)."""

    def rank(kind: str, sub: str) -> tuple[float, int, int]:
        best = (0.0, -1, 0)
        for position, item in enumerate((accept or "").split(",")):
            media, *params = (p.strip() for p in item.split(";"))
            mtype, _, msub = media.lower().partition("/")
            q = 1.0
            for param in params:
                name, _, value = param.partition("=")
                if name.strip().lower() == "q":
                    try:
                        q = max(0.0, min(1.0, float(value)))
                    except ValueError:
                        q = 0.0
            if (mtype, msub) == (kind, sub):
                specific = 2
            elif mtype == kind and msub == "*":
                specific = 1
            elif (mtype, msub) == ("*", "*"):
                specific = 0
            else:
                continue
            if specific > best[1]:
                best = (q, specific, -position)
        return best if best[1] >= 0 else (0.0, -1, 0)

    json_rank, text_rank = rank("application", "json"), rank("text", "plain")
    return json_rank[0] > 0 and json_rank > text_rank


_NOTE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The latest checkpoint: by default the C2SP signed note itself "
        "(text/plain); with `Accept: application/json` the JSON view.",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.get("/checkpoint", response_class=Response, responses=_NOTE_RESPONSES)
def latest(request: Request, pars: PARS) -> Response:
    """The latest signed tree head. As `text/plain; charset=utf-8` (the default) the C2SP
    signed note: the checkpoint text (origin, size, base64 root, time), a blank line and the
    signature line `— <key name> <base64(key id || Ed25519 signature)>`. As JSON (send
    `Accept: application/json`): `id`, `size`, `root_hash`, `time`, `key_id`, `key_name`,
    `note`, `signature` and `signed_note`."""
    checkpoint = audit.latest_checkpoint(pars)
    vary = {"Vary": "Accept"}
    if prefers_json(request.headers.get("accept")):
        return JSONResponse(checkpoint, headers=vary)
    if checkpoint["signed_note"] is None:
        raise NotFound(
            "the latest checkpoint was signed by an earlier key before checkpoints were signed "
            "notes; ask for it with Accept: application/json"
        )
    return PlainTextResponse(checkpoint["signed_note"], headers=vary)


@router.get("/checkpoints")
def every_checkpoint(pars: PARS) -> dict[str, Any]:
    """Every checkpoint, oldest first, in the JSON view of `GET /checkpoint` (each with its
    `signed_note`): keep them, and a later rewrite of the log cannot hide."""
    return {"items": audit.all_checkpoints(pars)}


@router.post("/checkpoint", status_code=201)
async def sign_now(
    who: Annotated[Principal, allowed(_SIGNERS, "sign_a_checkpoint")], pars: PARS
) -> dict[str, Any]:
    """Sign a checkpoint of the log as it stands (auditors, privacy officers, admins)."""
    result: dict[str, Any] = await run_in_threadpool(audit.checkpoint, pars, who)
    return result


@router.get("/public-key")
def key(pars: PARS) -> dict[str, str]:
    """The Ed25519 public key that checkpoints verify with: `public_key` (raw, base64),
    `key_name`, `key_id` (the C2SP key id, 8 hex digits), `verifier_key` (the C2SP verifier key
    string `<name>+<key id>+<base64(0x01 || key)>`) and `legacy_key_id` (the id that
    checkpoints signed before the C2SP format carry)."""
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
def export(
    who: Annotated[Principal, allowed(_EXPORTERS, "export_the_disclosure_log")],
    pars: PARS,
    start: Index = 0,
    end: Index | None = None,
) -> Any:
    """The log's entries as JSON lines, for `pars.audit.standalone` (auditors, privacy
    officers). Entries are metadata only."""
    lines: Iterator[str] = audit.export_lines(pars, who, start, end)
    return StreamingResponse(lines, media_type="application/x-ndjson")
