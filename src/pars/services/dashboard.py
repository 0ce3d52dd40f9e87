"""The operations dashboard (supervisors): arrests per day, arrest-to-arraignment time (median,
90th percentile, the open cases waiting longest), queue lengths and per-partner delivery lag.

Figures, not records: the only arrest identifiers shown are the offense tracking numbers of the
open cases waiting longest, which a supervisor may read anyway. The read is audited
(`dashboard:read`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pars.domain.arrest import ArrestState
from pars.domain.roles import Role
from pars.reports.stats import median, per_day, percentile
from pars.services.app import Pars, Principal
from pars.services.auth import require_role
from pars.store import dashboard as store
from pars.store.uow import AuditEntry

__all__ = ["DAYS", "OPEN", "OUTER_LIMIT", "QUEUES", "ROLES", "overview"]

ROLES = frozenset({Role.SUPERVISOR})
DAYS = 14  # the window of the per-day and per-delivery figures, in local days ending today
SLOWEST = 5
# The constitutional outer limit for a judicial probable-cause finding after a warrantless arrest.
OUTER_LIMIT = timedelta(hours=48)
S = ArrestState
# Not yet arraigned, and not let go by charging (declined, diverted, released for summons).
OPEN = (S.SUBMITTED, S.IDENTIFIED, S.CHARGING_REVIEW, S.CHARGED, S.ARRAIGNMENT_SCHEDULED)
QUEUES: dict[str, tuple[ArrestState, ...]] = {
    "charging": (S.SUBMITTED, S.IDENTIFIED, S.CHARGING_REVIEW),
    "to_schedule": (S.CHARGED,),
    "scheduled": (S.ARRAIGNMENT_SCHEDULED,),
}
_CLOSED = (S.DRAFT, S.SEALED, S.EXPUNGED)  # not counted: unsent, or closed by court order


def _values(states: tuple[ArrestState, ...]) -> list[str]:
    return [s.value for s in states]


def _seconds(span: timedelta) -> float:
    return max(span.total_seconds(), 0.0)


def _lag(
    delivered: list[tuple[str, datetime, datetime]],
    waiting: list[tuple[str, int, datetime | None]],
    names: dict[str, str],
    now: datetime,
) -> list[dict[str, Any]]:
    """Per partner: seconds from the event to its delivery (median, 90th percentile, count) for
    items delivered in the window, and the items waiting now with the oldest one's age."""
    lags: dict[str, list[float]] = defaultdict(list)
    for partner_id, event_at, delivered_at in delivered:
        lags[partner_id].append(_seconds(delivered_at - event_at))
    queued = {p: (n, oldest) for p, n, oldest in waiting}
    out = []
    for partner_id in sorted(
        set(lags) | set(queued), key=lambda p: ((names.get(p) or p).casefold(), p)
    ):
        values = lags.get(partner_id, [])
        n, oldest = queued.get(partner_id, (0, None))
        out.append(
            {
                "partner_id": partner_id,
                "partner": names.get(partner_id, "unknown partner"),
                "delivered": len(values),
                "median_seconds": median(values),
                "p90_seconds": percentile(values, 90) if values else None,
                "waiting": n,
                "oldest_waiting_seconds": None if oldest is None else _seconds(now - oldest),
            }
        )
    return out


def overview(pars: Pars, who: Principal, days: int = DAYS) -> dict[str, Any]:
    """The dashboard's figures as at the clock's now, over the last `days` local days (in the
    courts' time zone) ending today. Durations are in seconds or minutes as named; instants are
    aware datetimes. Supervisors only; audited."""
    require_role(pars, who, ROLES, "read the operations dashboard")
    now = pars.clock.now()
    zone = pars.settings.zone
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(0), zone).astimezone(UTC)
    with pars.reader() as uow:
        conn = uow.conn
        arrested = store.arrest_times(conn, since, _values(_CLOSED))
        minutes = store.arraignment_minutes(conn, since)
        oldest = store.oldest_open(conn, _values(OPEN), SLOWEST)
        queues = store.queue_counts(
            conn, {k: _values(v) for k, v in QUEUES.items()}, _values(_CLOSED)
        )
        delivered = store.delivery_times(conn, since)
        waiting = store.waiting_deliveries(conn)
        names = store.partner_names(conn)
    pars.audit_now(
        AuditEntry(who.username, "dashboard:read", "success", who.role, None, {"days": days})
    )
    return {
        "now": now,
        "first_day": first,
        "last_day": today,
        "days": days,
        "arrests_per_day": per_day(arrested, zone, first, today),
        "arraignment": {
            "count": len(minutes),
            "median_minutes": median(minutes),
            "p90_minutes": percentile(minutes, 90) if minutes else None,
            "longest_minutes": max(minutes) if minutes else None,
            "over_outer_limit": sum(m * 60 > OUTER_LIMIT.total_seconds() for m in minutes),
        },
        "slowest_open": [
            {**row, "waiting_seconds": _seconds(now - row["arrested_at"])} for row in oldest
        ],
        "queues": queues,
        "delivery_lag": _lag(delivered, waiting, names, now),
        "outer_limit_hours": int(OUTER_LIMIT.total_seconds() // 3600),
    }
