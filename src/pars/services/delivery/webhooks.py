"""Webhook delivery in the Standard Webhooks style (https://www.standardwebhooks.com/).

Each partner's queued items go out one at a time, oldest first (the partners concurrently, in
rounds: see `lanes`), as POSTs of the CloudEvent in
the HTTP binding's structured mode (`content-type: application/cloudevents+json; charset=utf-8`,
the body the whole event in the JSON format), signed with the partner's secret: `webhook-id`
(the event id, stable across retries), `webhook-timestamp` (seconds) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. A failure
(non-2xx, a redirect included, timeout, refused connection, or a URL that now resolves to an
address PARS does not send to: see services.outbound) is retried with exponential backoff and
jitter; after `webhook_max_attempts` tries the item becomes a dead letter that staff can see.
The agreement is checked again before every try, and the disclosure is audited before the
request leaves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from pars.services.app import Pars
from pars.services.delivery import outbound
from pars.services.delivery.lanes import Lanes
from pars.services.delivery.outbound import Allowlist
from pars.services.delivery.push import Prepared
from pars.sharing.agreements import Agreement

__all__ = ["Sender", "deliver_webhooks", "new_secret", "sender", "sign", "webhook_lanes"]

Sender = Callable[[str, dict[str, str], bytes, float], int]
STRUCTURED = "application/cloudevents+json; charset=utf-8"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for this message."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sender(pars: Pars) -> Sender:
    """The real sender: the URL checked again, on the addresses it resolves to now, and the
    POST sent to one of those, never redirected (see services.outbound)."""
    allow = Allowlist.parse(pars.settings.webhook_allowlist)
    return partial(outbound.post, allow=allow, resolve=pars.resolve)


def _secret(pars: Pars, partner: dict[str, Any]) -> str | None:
    sealed = partner.get("webhook_secret")
    if not sealed:
        return None
    value: str = pars.keys.decrypt(bytes(sealed), partner["id"])["secret"]
    return value


def deliver_webhooks(pars: Pars, send: Sender | None = None) -> int:
    """One round: the due head item of every partner, sent concurrently (see `lanes`); waits
    for every send and records them; returns how many were tried."""
    workers = pars.settings.push_concurrency
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pars-webhook") as pool:
        return webhook_lanes(pars, pool, send).round()


def webhook_lanes(
    pars: Pars,
    pool: Executor,
    send: Sender | None = None,
    wake: Callable[[], None] | None = None,
) -> Lanes:
    """The webhook lanes, sending on `pool` (which must have `push_concurrency` workers)."""
    post = send or sender(pars)

    def refuse(agreement: Agreement, partner: dict[str, Any]) -> str | None:
        if not agreement.webhook_url or not _secret(pars, partner):
            return "no webhook URL or signing secret"
        return None

    def start(item: dict[str, Any], ready: Prepared) -> Future[str | None]:
        url, secret = ready.agreement.webhook_url, _secret(pars, ready.partner)
        assert url is not None and secret is not None  # checked by `refuse`
        body = json.dumps(ready.payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(ready.at.timestamp())
        headers = {
            # The CloudEvents HTTP binding's structured mode: the body is the whole event in
            # the JSON format, and there are no `ce-` headers (those would mean binary mode).
            "content-type": STRUCTURED,
            "webhook-id": item["event_id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, item["event_id"], timestamp, body),
        }
        timeout = ready.timeout(pars.settings.webhook_timeout_seconds)
        return pool.submit(_post, post, url, headers, body, timeout)

    return Lanes(pars, "webhook", start, refuse, wake)


def _post(
    send: Sender, url: str, headers: dict[str, str], body: bytes, timeout: float
) -> str | None:
    """None if the partner answered 2xx, else what went wrong, in words."""
    try:
        status = send(url, headers, body, timeout)
    except OSError as e:  # refused, reset, DNS, timeout
        return f"{type(e).__name__}: {str(e)[:200]}"
    return None if 200 <= status < 300 else f"HTTP {status}"
