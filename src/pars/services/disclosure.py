"""One disclosure, one entry on the log: what every route and transport that sends data to a
partner writes BEFORE the data leaves, in the same transaction that records the delivery.

The entry holds the agreement, the record, the field classes sent and a salted hash of the exact
payload; never the payload. The partner gets the receipt with the payload: `pars_log_index`
(the entry's leaf) and `pars_log_salt`, with which it recomputes the hash
SHA-256(salt || canonical JSON of the payload without those two attributes) and checks it
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

__all__ = ["RECEIPT_KEYS", "disclosure", "with_receipt"]

RECEIPT_KEYS = ("pars_log_index", "pars_log_salt")


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
        str(partner.get("name", ""))[:60],
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


def with_receipt(payload: dict[str, Any], index: int, salt: bytes) -> dict[str, Any]:
    return {**payload, "pars_log_index": index, "pars_log_salt": base64.b64encode(salt).decode()}
