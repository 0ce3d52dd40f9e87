"""Webhook delivery in the Standard Webhooks style (https://www.standardwebhooks.com/).

Each partner's queued items go out one at a time, oldest first, as POSTs signed with the
partner's secret: `webhook-id` (the event id, stable across retries), `webhook-timestamp`
(seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. A failure
(non-2xx, timeout, refused connection) is retried with exponential backoff and jitter; after
`webhook_max_attempts` tries the item becomes a dead letter that staff can see. The agreement is
checked again before every try, and the disclosure is audited before the request leaves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pars.services.app import Pars
from pars.services.relay import in_force_reason
from pars.sharing.projection import compile_projector
from pars.store.uow import AuditEntry

__all__ = ["Sender", "backoff", "deliver_webhooks", "http_post", "new_secret", "sign"]

Sender = Callable[[str, dict[str, str], bytes, float], int]
_BASE = timedelta(seconds=2)
_CAP = timedelta(hours=1)
_JITTER = random.Random()  # noqa: S311 - spreads retries; not a secret


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for this message."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Wait before try number `attempts + 1`: 2 s doubling, capped at an hour, ±20% jitter so
    that partners recovering from an outage are not hit by every retry at once."""
    base: timedelta = min(_BASE * (2 ** max(attempts - 1, 0)), _CAP)
    factor: float = 1 + ((rng or _JITTER).random() - 0.5) * 0.4
    return timedelta(seconds=base.total_seconds() * factor)


def http_post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
    """POST and return the status code; raises OSError on a network failure or timeout."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _secret(pars: Pars, partner: dict[str, Any]) -> str | None:
    sealed = partner.get("webhook_secret")
    if not sealed:
        return None
    value: str = pars.keys.decrypt(bytes(sealed), partner["id"])["secret"]
    return value


def deliver_webhooks(pars: Pars, send: Sender = http_post) -> int:
    """One round: try the due head item of every partner; returns how many were tried."""
    now = pars.clock.now()
    with pars.reader() as uow:
        heads = uow.deliveries.push_heads(now, "webhook")
    tried = 0
    for item in heads:
        tried += 1
        _try(pars, item, send, now)
    return tried


def _try(pars: Pars, item: dict[str, Any], send: Sender, now: datetime) -> None:
    with pars.uow() as uow:
        agreement = uow.sharing.get(item["agreement_id"], item["agreement_version"])
        partner = uow.sharing.partner(item["partner_id"]) or {}
        reason = in_force_reason(agreement, pars, now)
        secret = _secret(pars, partner)
        if reason is not None or agreement is None or not agreement.webhook_url or not secret:
            uow.deliveries.withhold([item["id"]], reason or "no webhook URL or secret", now)
            uow.audit(
                AuditEntry(
                    "relay",
                    "disclosure:withheld",
                    "success",
                    "partner",
                    item["partner_id"],
                    {"count": 1, "reason": reason or "config"},
                )
            )
            uow.commit()
            return
        payload = dict(item["payload"])
        payload["data"] = compile_projector(agreement, pars.policy).apply(payload["data"])
        # Write-ahead: the attempt is on record before the data leaves.
        uow.audit(
            AuditEntry(
                str(partner.get("name", ""))[:60],
                "disclosure:attempted",
                "success",
                "partner",
                item["partner_id"],
                {
                    "delivery": item["id"],
                    "event": item["event_id"],
                    "attempt": item["attempts"] + 1,
                    "transport": "webhook",
                },
            )
        )
        uow.commit()
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": item["event_id"],
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, item["event_id"], timestamp, body),
    }
    try:
        status = send(agreement.webhook_url, headers, body, pars.settings.webhook_timeout_seconds)
        error = None if 200 <= status < 300 else f"HTTP {status}"
    except OSError as e:  # refused, reset, DNS, timeout
        error = f"{type(e).__name__}: {str(e)[:200]}"
    with pars.uow() as uow:
        if error is None:
            uow.deliveries.mark_delivered([item["id"]], pars.clock.now())
            uow.audit(
                AuditEntry(
                    str(partner.get("name", ""))[:60],
                    "disclosure:delivered",
                    "success",
                    "partner",
                    item["partner_id"],
                    {"count": 1, "first": item["id"], "last": item["id"], "transport": "webhook"},
                )
            )
        else:
            attempts = item["attempts"] + 1
            dead = attempts >= pars.settings.webhook_max_attempts
            retry_at = None if dead else pars.clock.now() + backoff(attempts)
            uow.deliveries.failed_attempt(item["id"], attempts, error, retry_at)
            uow.audit(
                AuditEntry(
                    "relay",
                    "webhook:dead_letter" if dead else "webhook:failed",
                    "failure",
                    "partner",
                    item["partner_id"],
                    {"delivery": item["id"], "attempt": attempts, "error": error},
                )
            )
        uow.commit()
