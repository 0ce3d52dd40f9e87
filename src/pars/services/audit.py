"""The disclosure log's public side: signed checkpoints, proofs, receipts and the export.

Checkpoints are signed on demand and, by the relay, every `checkpoint_interval_seconds` when the
log grew. Proofs are answered against a checkpoint's size so that a client can check them
against a signed root; they carry hashes only. An entry's text is metadata only, but it names
staff and records, so the export is for auditors and a receipt only for the partner concerned.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from pars.audit.checkpoint import Signer, legacy_key_id, render_note, signed_note
from pars.audit.merkle import MerkleLog
from pars.domain.errors import Conflict, InvalidParameter, NotFound
from pars.services.app import Pars, Principal
from pars.store import audit as log
from pars.store.uow import AuditEntry

__all__ = [
    "checkpoint",
    "consistency_proof",
    "export_lines",
    "inclusion_proof",
    "latest_checkpoint",
    "log_origin",
    "maybe_checkpoint",
    "public_key",
    "receipt",
]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def log_origin(pars: Pars) -> str:
    """The checkpoints' origin line, also the signing key's name: "urn:pars:<jurisdiction
    slug>/disclosure-log" (a valid signed-note key name: no spaces, no "+")."""
    return f"{pars.source}/disclosure-log"


def _note_key_id(row: dict[str, Any], name: str, signer: Signer) -> bytes | None:
    """The spec's 4-byte key id for this checkpoint's signature line. Checkpoints store it
    (8 hex digits); older ones stored the legacy id, which names the current key only if it
    is this key's, and then the spec's id follows from the key. None for an older key's."""
    stored = str(row["key_id"])
    if len(stored) == 8:
        return bytes.fromhex(stored)
    if stored == legacy_key_id(signer.public_raw):
        return signer.key_id(name)
    return None


def _public(row: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """A checkpoint as the API shows it: the fields it always had (`note` the signed text,
    `signature` the bare Ed25519 signature, `key_id` as stored) and the C2SP signed note."""
    note = row["note"]
    name = note.split("\n", 1)[0]
    signature = bytes(row["signature"])
    try:
        kid = _note_key_id(row, name, signer)
        signed = None if kid is None else signed_note(note, name, kid, signature)
    except ValueError:  # a damaged stored note: `pars audit verify` names it
        signed = None
    return {
        "id": row["id"],
        "size": row["size"],
        "root_hash": _b64(row["root"]),
        "time": row["at"].isoformat(),
        "key_id": row["key_id"],
        "key_name": name,
        "note": note,
        "signature": _b64(signature),
        "signed_note": signed,
    }


def public_key(pars: Pars) -> dict[str, str]:
    """The log's key: raw (base64), its spec key id, the verifier key string that C2SP tools
    take, and the legacy key id that checkpoints signed before the C2SP format name."""
    signer, name = pars.signer, log_origin(pars)
    return {
        "algorithm": "Ed25519",
        "key_id": signer.key_id(name).hex(),
        "key_name": name,
        "verifier_key": signer.verifier_key(name),
        "public_key": signer.public_b64,
        "legacy_key_id": signer.legacy_key_id,
    }


def checkpoint(pars: Pars, requested_by: Principal | None = None) -> dict[str, Any]:
    """Sign the log as it stands now and store the checkpoint. A checkpoint someone asked for is
    a privileged action, logged first (so the checkpoint covers it); scheduled ones are not
    logged, or the log would grow by itself."""
    signer = pars.signer
    if requested_by is not None:
        pars.audit_now(
            AuditEntry(requested_by.username, "audit:checkpoint_requested", role=requested_by.role)
        )
    with pars.uow() as uow:
        size = log.log_size(uow.conn)
        root = log.prefetched(uow.conn, size, MerkleLog.root)
        now = pars.clock.now()
        origin = log_origin(pars)
        note = render_note(origin, size, root, now)
        row = {
            "size": size,
            "root": root,
            "at": now,
            "key_id": signer.key_id(origin).hex(),
            "note": note,
            "signature": signer.sign(note),
        }
        row["id"] = log.add_checkpoint(uow.conn, row)
        uow.commit()
    return _public(row, signer)


def maybe_checkpoint(pars: Pars) -> dict[str, Any] | None:
    """A new checkpoint if the log grew since the last one and the interval has passed."""
    interval = timedelta(seconds=pars.settings.checkpoint_interval_seconds)
    with pars.reader() as uow:
        size = log.log_size(uow.conn)
        latest = log.checkpoints(uow.conn, limit=1)
    if latest and (latest[0]["size"] == size or pars.clock.now() - latest[0]["at"] < interval):
        return None
    return checkpoint(pars)


def latest_checkpoint(pars: Pars) -> dict[str, Any]:
    with pars.reader() as uow:
        latest = log.checkpoints(uow.conn, limit=1)
    if not latest:
        raise NotFound("no checkpoint has been signed yet")
    return _public(latest[0], pars.signer)


def all_checkpoints(pars: Pars) -> list[dict[str, Any]]:
    with pars.reader() as uow:
        rows = log.checkpoints(uow.conn)
    signer = pars.signer
    return [_public(r, signer) for r in reversed(rows)]


def _size_arg(uow_conn: Any, size: int | None, field: str) -> int:
    head = log.log_size(uow_conn)
    if size is None:
        latest = log.checkpoints(uow_conn, limit=1)
        if not latest:
            raise NotFound("no checkpoint has been signed yet")
        return int(latest[0]["size"])
    if size > head:
        raise InvalidParameter(field, f"the log holds {head} entries")
    return size


def inclusion_proof(pars: Pars, index: int, size: int | None) -> dict[str, Any]:
    """The audit path of leaf `index` in the tree of `size` leaves (default: the latest
    checkpoint's size)."""
    with pars.reader() as uow:
        size = _size_arg(uow.conn, size, "size")
        if index >= size:
            raise InvalidParameter("index", f"must be below the tree size {size}")
        proof, leaf, root = log.prefetched(
            uow.conn,
            size,
            lambda t: (t.inclusion_proof(index, size), t.subtree(index, index + 1), t.root()),
        )
    return {
        "index": index,
        "tree_size": size,
        "leaf_hash": _b64(leaf),
        "root_hash": _b64(root),
        "proof": [_b64(p) for p in proof],
    }


def consistency_proof(pars: Pars, first: int, second: int | None) -> dict[str, Any]:
    """The proof that the tree of `second` leaves (default: the latest checkpoint's size)
    extends the tree of `first` leaves."""
    with pars.reader() as uow:
        second = _size_arg(uow.conn, second, "second")
        if first > second:
            raise InvalidParameter("first", f"must not exceed second ({second})")
        proof, *roots = log.prefetched(
            uow.conn,
            second,
            lambda t: (t.consistency_proof(first, second), t.root(first), t.root(second)),
        )
    return {
        "first": first,
        "second": second,
        "first_root_hash": _b64(roots[0]),
        "second_root_hash": _b64(roots[1]),
        "proof": [_b64(p) for p in proof],
    }


def receipt(pars: Pars, partner_id: str, index: int) -> dict[str, Any]:
    """For a partner: one of its own disclosure entries (by leaf index), the salt of its payload
    hash, and the inclusion proof against the latest checkpoint once one covers it."""
    with pars.reader() as uow:
        row = log.disclosure_at(uow.conn, index)
        if row is None or row.subject != partner_id or row.salt is None:
            raise NotFound("no disclosure to this partner at that log index")
        latest = log.checkpoints(uow.conn, limit=1)
    answer: dict[str, Any] = {
        "index": index,
        "entry": log.as_bytes(row.entry).decode("utf-8", "replace"),
        "salt": _b64(bytes(row.salt)),
        "checkpoint": _public(latest[0], pars.signer) if latest else None,
        "inclusion": None,
    }
    if latest and latest[0]["size"] > index:
        answer["inclusion"] = inclusion_proof(pars, index, int(latest[0]["size"]))
    return answer


def export_lines(
    pars: Pars, who: Principal, start: int = 0, end: int | None = None
) -> Iterator[str]:
    """The log as JSON lines {"index": i, "entry": "<entry text>"}, for the stand-alone
    verifier. Entries are metadata only. The export is logged before it starts."""
    import json

    pars.audit_now(
        AuditEntry(who.username, "audit:exported", role=who.role, details={"start": start})
    )
    with pars.reader() as uow:
        size = log.log_size(uow.conn)
        stop = size if end is None else min(end, size)
        if start > stop:
            raise Conflict(f"start {start} is past the end of the log ({size})")
        for row in log.leaf_entries(uow.conn, start, stop):
            entry = log.as_bytes(row.entry).decode("utf-8", "replace")
            yield json.dumps({"index": row.leaf_index, "entry": entry}) + "\n"
