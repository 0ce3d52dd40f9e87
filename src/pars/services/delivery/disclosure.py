"""One disclosure, one entry on the log: what every route and transport that sends data to a
partner writes BEFORE the data leaves, in the same transaction that records the delivery.

The entry holds the agreement, the record, the field classes sent and a salted hash of the exact
payload; never the payload. The partner gets the receipt with the payload: `parslogindex`
(the entry's leaf, a decimal string) and `parslogsalt` (base64), with which it recomputes the
hash SHA-256(salt || canonical JSON of the payload without those two attributes) and checks it
against the entry, and the entry against a signed checkpoint (`GET /api/v1/feed/receipts/{i}`).
If the entry cannot be written, the transaction fails and nothing is sent.
"""

from __future__ import annotations

import base64
from typing import Any

from pars.audit.entries import new_salt, payload_hash
from pars.sharing.agreements import Agreement
from pars.sharing.fields import disclosed_classes
from pars.store.uow import AuditEntry

__all__ = [
    "LOG_INDEX_ATTRIBUTE",
    "LOG_SALT_ATTRIBUTE",
    "disclosure",
    "partner_actor",
    "receipt",
    "with_receipt",
    "withheld",
]

# CloudEvents extension attributes (lower-case letters and digits only). The index is a String:
# the log grows past 2**31 - 1, the largest CloudEvents Integer, in the life of a deployment.
LOG_INDEX_ATTRIBUTE = "parslogindex"
LOG_SALT_ATTRIBUTE = "parslogsalt"  # Binary: 16 bytes, base64 in the JSON format


def partner_actor(partner: dict[str, Any]) -> str:
    """A partner as the actor of its log entries: its name (the log keeps it within bounds)."""
    return str(partner.get("name", ""))


def disclosure(
    action: str,
    partner: dict[str, Any],
    agreement: Agreement,
    record_id: str | None,
    payload: dict[str, Any],
    record: dict[str, Any],
    details: dict[str, Any],
) -> tuple[AuditEntry, bytes]:
    """The log entry for sending `payload` (whose record part is `record`) to `partner`, and the
    salt of its payload hash."""
    salt = new_salt()
    entry = AuditEntry(
        partner_actor(partner),
        action,
        "success",
        "partner",
        partner["id"],
        details,
        agreement_id=agreement.id,
        agreement_version=agreement.version,
        record_id=record_id,
        classes=disclosed_classes(record),
        payload_hash=payload_hash(salt, payload),
        salt=salt,
    )
    return entry, salt


def withheld(
    actor: str,
    partner_id: str | None,
    agreement: tuple[str, int] | None,
    count: int,
    reason: str,
    **details: Any,
) -> AuditEntry:
    """The log entry for `count` items that were due to a partner and did not leave. Without a
    partner id (the relay's sweep of an ended agreement) the agreement names the partner."""
    agreement_id, version = agreement if agreement is not None else (None, None)
    return AuditEntry(
        actor,
        "disclosure:withheld",
        "success",
        None if partner_id is None else "partner",
        partner_id,
        {"count": count, "reason": reason, **details},
        agreement_id=agreement_id,
        agreement_version=version,
    )


def receipt(index: int, salt: bytes) -> dict[str, Any]:
    """What the recipient needs to find its entry and check its payload hash."""
    return {LOG_INDEX_ATTRIBUTE: str(index), LOG_SALT_ATTRIBUTE: base64.b64encode(salt).decode()}


def with_receipt(payload: dict[str, Any], index: int, salt: bytes) -> dict[str, Any]:
    return {**payload, **receipt(index, salt)}
