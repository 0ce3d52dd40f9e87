"""What every push transport (webhooks, NATS) does around sending one queued item: check the
agreement and the policy again, re-filter the payload, put the attempt on record before the data
leaves, and afterwards record delivery, or a failure to retry with backoff, or a dead letter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from pars.logs import error_name
from pars.services.app import Pars
from pars.services.delivery.disclosure import disclosure, partner_actor, with_receipt, withheld
from pars.services.delivery.in_force import in_force_reason
from pars.sharing.agreements import Agreement
from pars.sharing.projection import compile_projector
from pars.store.relay import RECALL_EVENT
from pars.store.uow import AuditEntry, SqlUnitOfWork

__all__ = [
    "Prepared",
    "backoff",
    "prepare_round",
    "quarantine",
    "record_results",
    "stop",
]

_log = structlog.get_logger("pars.push")
_BASE = timedelta(seconds=2)
_CAP = timedelta(hours=1)
_JITTER = random.Random()  # noqa: S311 - spreads retries; not a secret


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Wait before try number `attempts + 1`: 2 s doubling, capped at an hour, ±20% jitter so
    that partners recovering from an outage are not hit by every retry at once."""
    base: timedelta = min(_BASE * (2 ** max(attempts - 1, 0)), _CAP)
    factor: float = 1 + ((rng or _JITTER).random() - 0.5) * 0.4
    return timedelta(seconds=base.total_seconds() * factor)


@dataclass(frozen=True)
class Prepared:
    agreement: Agreement
    partner: dict[str, Any]
    payload: dict[str, Any]
    at: datetime  # the instant the agreement was checked, right before the send
    seconds_left: float  # of the agreement's term: no send may start after it

    def timeout(self, configured: float) -> float:
        """How long the send may take: never past the agreement's end."""
        return max(0.001, min(configured, self.seconds_left))


Refusal = Callable[[Agreement, dict[str, Any]], str | None]


def prepare_round(
    pars: Pars, items: list[dict[str, Any]], transport: str, refuse: Refusal = lambda a, p: None
) -> tuple[list[tuple[dict[str, Any], Prepared]], list[tuple[dict[str, Any], Exception]]]:
    """The round's items ready to send, each with its attempt on the log, in ONE transaction:
    (item, prepared) for those that may go, and (item, error) for those that failed on their
    own (a projection that raises: the caller quarantines them). An item whose agreement may no
    longer disclose (or that `refuse` names a reason for, e.g. no webhook URL) is withheld or
    its retries stopped, in the same transaction. The agreement is checked at this instant,
    right before the sends start: a round's sends all start at once, so none goes on a check
    older than the round."""
    try:
        ready, broken, leaves, now = _prepare(pars, items, transport, refuse, isolate=False)
    except Exception as e:
        # One item failed (a projection that raises, a row the database refuses): the round
        # again, each item under its own savepoint, so that only that item fails.
        _log.warning("push round failed; preparing it item by item", error=error_name(e))
        ready, broken, leaves, now = _prepare(pars, items, transport, refuse, isolate=True)
    out = []
    for item, agreement, partner, payload, position, salt in ready:
        sent = with_receipt(payload, leaves[position], salt)
        # A recall is not bounded by the agreement's term (it discloses nothing new).
        recall = item["event_type"] == RECALL_EVENT
        left = float("inf") if recall else (agreement.ends_at - now).total_seconds()
        out.append((item, Prepared(agreement, partner, sent, now, left)))
    return out, broken


_Ready = tuple[dict[str, Any], Agreement, dict[str, Any], dict[str, Any], int, bytes]


def _prepare(
    pars: Pars,
    items: list[dict[str, Any]],
    transport: str,
    refuse: Refusal,
    isolate: bool,
) -> tuple[list[_Ready], list[tuple[dict[str, Any], Exception]], list[int], datetime]:
    """The round's write-ahead transaction. Without `isolate`, any failure fails the round (the
    caller tries again isolated); with it, each item has its own savepoint (two round trips
    more per item, so only after a round failed) and an item that fails is set apart."""
    now = pars.clock.now()
    ready: list[_Ready] = []
    broken: list[tuple[dict[str, Any], Exception]] = []
    with pars.uow() as uow:
        looked_up = _LookUps(uow, items)
        for item in items:
            mark = uow.audit_mark()
            if not isolate:
                one = _prepare_one(pars, looked_up, item, transport, refuse, now)
            else:
                try:
                    with uow.savepoint():  # a failure takes back the item's rows and audit
                        one = _prepare_one(pars, looked_up, item, transport, refuse, now)
                except Exception as e:  # this item's own failure; the others go on
                    broken.append((item, e))
                    continue
            if one is not None:
                agreement, partner, payload, salt = one
                ready.append((item, agreement, partner, payload, mark, salt))
        uow.commit()
        return ready, broken, uow.leaves, now


class _LookUps:
    """A round's agreements and partners, read together for all its items (an agreement or a
    partner that is not found is read again alone, and found missing)."""

    def __init__(self, uow: SqlUnitOfWork, items: list[dict[str, Any]]) -> None:
        self.uow = uow
        # The whole round's in two statements: one per item each would be most of the
        # round's write-ahead transaction (twenty statements for ten partners).
        keys = {(item["agreement_id"], item["agreement_version"]) for item in items}
        found = uow.sharing.get_many(keys)
        self._agreements: dict[tuple[str, int], Agreement | None] = {k: found.get(k) for k in keys}
        self._partners = uow.sharing.partners_by_id(item["partner_id"] for item in items)

    def agreement(self, agreement_id: str, version: int) -> Agreement | None:
        key = (agreement_id, version)
        if key not in self._agreements:
            self._agreements[key] = self.uow.sharing.get(agreement_id, version)
        return self._agreements[key]

    def partner(self, partner_id: str) -> dict[str, Any]:
        if partner_id not in self._partners:
            self._partners[partner_id] = self.uow.sharing.partner(partner_id) or {}
        return self._partners[partner_id]


def _prepare_one(
    pars: Pars,
    looked_up: _LookUps,
    item: dict[str, Any],
    transport: str,
    refuse: Refusal,
    now: datetime,
) -> tuple[Agreement, dict[str, Any], dict[str, Any], bytes] | None:
    uow = looked_up.uow
    agreement = looked_up.agreement(item["agreement_id"], item["agreement_version"])
    partner = looked_up.partner(item["partner_id"])
    recall = item["event_type"] == RECALL_EVENT  # goes whatever the agreement's term
    reason = None if recall else in_force_reason(agreement, pars, now)
    if reason is None and agreement is not None:
        reason = refuse(agreement, partner)
    if reason is not None or agreement is None:
        stop(uow, item, reason or "agreement missing", now)
        return None
    payload = dict(item["payload"])
    if not recall:  # a recall notice carries no record data
        payload["data"] = compile_projector(agreement, pars.policy).apply(payload["data"])
    # Write-ahead: every try sends the data again, so every try is a disclosure on the log
    # before the data leaves (the first as `delivered`, later ones as `redelivered`).
    entry, salt = disclosure(
        "disclosure:delivered" if item["attempts"] == 0 else "disclosure:redelivered",
        partner,
        agreement,
        item["subject"],
        payload,
        payload["data"],
        {
            "delivery": item["id"],
            "event": item["event_id"],
            "attempt": item["attempts"] + 1,
            "transport": transport,
        },
    )
    uow.audit(entry)  # the last step: nothing after it can fail and leave it behind
    return agreement, partner, payload, salt


def stop(uow: SqlUnitOfWork, item: dict[str, Any], reason: str, now: datetime) -> None:
    """An item that may no longer go: withheld if it never left; if an earlier try already
    sent it, its retries stop (it was disclosed then, so it is not counted as withheld)."""
    if item["attempts"] == 0:
        if uow.deliveries.withhold([item["id"]], reason, now):
            uow.audit(withheld("relay", item["partner_id"], None, 1, reason))
        return
    uow.deliveries.stop_retries([item["id"]], reason, now)
    uow.audit(
        AuditEntry(
            "relay",
            "delivery:retries_stopped",
            "success",
            "partner",
            item["partner_id"],
            {"delivery": item["id"], "reason": reason, "attempts": item["attempts"]},
        )
    )


def quarantine(pars: Pars, item: dict[str, Any], transport: str, e: Exception) -> None:
    """Set an item aside that failed in a way its transport does not handle (a payload that
    does not serialise, a constraint error), so that the other partners' items, and this
    partner's next ones, still go. A database that is down fails the quarantine too, and the
    round with it (the relay tries again)."""
    error = error_name(e)
    _log.error("delivery quarantined", stage=transport, delivery=item["id"], error=error)
    now = pars.clock.now()
    with pars.uow() as uow:
        uow.deliveries.set_aside(item["id"], now)
        uow.deliveries.quarantine(
            {
                "stage": transport,
                "outbox_seq": item["outbox_seq"],
                "event_id": item["event_id"],
                "delivery_id": item["id"],
                "partner_id": item["partner_id"],
                "agreement_id": item["agreement_id"],
                "agreement_version": item["agreement_version"],
                "error": error[:120],
                "at": now,
            }
        )
        uow.audit(
            AuditEntry(
                "relay",
                "delivery:quarantined",
                "failure",
                "partner",
                item["partner_id"],
                {"stage": transport, "delivery": item["id"], "error": error},
                agreement_id=item["agreement_id"],
                agreement_version=item["agreement_version"],
            )
        )
        uow.commit()


def record_results(
    pars: Pars, transport: str, results: list[tuple[dict[str, Any], dict[str, Any], str | None]]
) -> None:
    """The outcomes of a round's sends, (item, partner, error or None), in ONE transaction:
    each delivered, or a failed try retried after `backoff`, or a dead letter after
    `webhook_max_attempts` tries."""
    if not results:
        return
    with pars.uow() as uow:
        now = pars.clock.now()
        uow.deliveries.mark_delivered([i["id"] for i, _, error in results if error is None], now)
        for item, partner, error in results:
            if error is None:
                uow.audit(
                    AuditEntry(
                        partner_actor(partner),
                        "disclosure:acknowledged",
                        "success",
                        "partner",
                        item["partner_id"],
                        {"delivery": item["id"], "event": item["event_id"], "transport": transport},
                    )
                )
                continue
            attempts = item["attempts"] + 1
            dead = attempts >= pars.settings.webhook_max_attempts
            retry_at = None if dead else now + backoff(attempts)
            uow.deliveries.failed_attempt(item["id"], attempts, error, retry_at)
            uow.audit(
                AuditEntry(
                    "relay",
                    f"{transport}:{'dead_letter' if dead else 'failed'}",
                    "failure",
                    "partner",
                    item["partner_id"],
                    {"delivery": item["id"], "attempt": attempts, "error": error},
                )
            )
        uow.commit()
