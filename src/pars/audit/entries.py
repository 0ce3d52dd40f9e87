"""The bytes of one disclosure-log entry, and the salted hash of a disclosed payload.

An entry is the canonical JSON (sorted keys, no spaces, ASCII) of a flat object of metadata:

    {"v": 1, "i": leaf index, "at": "2026-11-22T07:00:00.123456Z", "actor": ..., "role": ...,
     "action": "disclosure:delivered", "subject": ..., "outcome": "success",
     "agreement": "id/v3" | null, "record": arrest id | null, "classes": ["case", ...],
     "payload_hash": hex | null, "details": {...}}

The leaf hash is RFC 6962's SHA-256(0x00 || entry). An entry never holds personal data: the
payload it speaks of is represented by SHA-256(salt || canonical JSON of the payload), with a
random per-entry salt that is kept off the log and given only to the recipient (its receipt),
so nobody can confirm a guess of the payload from the public log.

Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ENTRY_VERSION",
    "SALT_BYTES",
    "canonical_json",
    "decode_entry",
    "encode_entry",
    "instant",
    "new_salt",
    "payload_hash",
]

ENTRY_VERSION = 1
SALT_BYTES = 16


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, ASCII only: the same value, the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def payload_hash(salt: bytes, payload: Any) -> str:
    """Hex SHA-256(salt || canonical JSON of payload)."""
    return hashlib.sha256(salt + canonical_json(payload)).hexdigest()


def instant(at: datetime) -> str:
    """An aware instant as UTC with microseconds and a Z, the only form entries use."""
    if at.tzinfo is None:
        raise ValueError("entry times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_entry(
    *,
    index: int,
    at: datetime | str,
    actor: str,
    role: str | None,
    action: str,
    subject: str | None,
    outcome: str,
    agreement: str | None,
    record: str | None,
    classes: list[str],
    payload_hash: str | None,
    details: dict[str, Any],
) -> bytes:
    return canonical_json(
        {
            "v": ENTRY_VERSION,
            "i": index,
            "at": at if isinstance(at, str) else instant(at),
            "actor": actor,
            "role": role,
            "action": action,
            "subject": subject,
            "outcome": outcome,
            "agreement": agreement,
            "record": record,
            "classes": sorted(classes),
            "payload_hash": payload_hash,
            "details": details,
        }
    )


def decode_entry(entry: bytes) -> dict[str, Any]:
    """The object of an entry; ValueError if it is not one (or not in canonical form)."""
    try:
        value = json.loads(entry)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError("entry is not JSON") from e
    if not isinstance(value, dict) or value.get("v") != ENTRY_VERSION:
        raise ValueError("entry is not a version-1 log entry")
    if canonical_json(value) != entry:
        raise ValueError("entry is not in canonical form")
    return value
