"""Transparency: the public report of who receives what under which agreement, and, for privacy
officers and auditors, the history of one person's or one arrest's disclosures.

The public report holds no personal data and no staff usernames: agreements (every version),
counts of disclosures per partner, field class and UTC month, counts of withheld items, a check
per ended agreement that the log holds no disclosure after its end, and the latest signed
checkpoint of the log with the means to verify it. Counts from 1 to 4 are shown as
"fewer than 5" so that a rare event cannot point at a person; 0 stays 0.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pars.domain.errors import NotFound
from pars.domain.roles import Role
from pars.services.app import Pars, Principal
from pars.services.auth import require_role
from pars.sharing.agreements import Agreement, AgreementState, from_document
from pars.store import transparency as store
from pars.store.uow import AuditEntry

__all__ = [
    "FEWER_THAN_5",
    "HISTORY_ROLES",
    "counts_csv",
    "disclosure_history",
    "report",
    "shown",
]

SMALL = 5
FEWER_THAN_5 = "fewer than 5"
HISTORY_ROLES = frozenset({Role.PRIVACY_OFFICER, Role.AUDITOR})
VERIFY = {
    "full_log": "pars audit verify",
    "standalone": "python -m pars.audit.standalone",
    "export": "pars audit export",
    "docs": "docs/api.md#transparency",
}


def shown(n: int) -> int | str:
    """A count as published: exact when 0 or at least 5, otherwise "fewer than 5"."""
    return n if n == 0 or n >= SMALL else FEWER_THAN_5


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _partner(partners: Mapping[str, dict[str, Any]], partner_id: str | None) -> dict[str, Any]:
    p = partners.get(partner_id or "")
    return {
        "partner_id": partner_id,
        "partner": p["name"] if p else "unknown partner",
        "partner_class": p["partner_class"] if p else None,
    }


# -- when an agreement version stopped --------------------------------------------------------


def _ended(
    a: Agreement, row: dict[str, Any], stops: dict[str, list[datetime]], now: datetime
) -> tuple[datetime, str] | None:
    """(the instant this version stopped disclosing, how) or None while it may still disclose.
    A suspension or revocation stops it at the first such entry on the log after the version was
    written (the row's last update if the log has none); the term stops it at `ends_at`."""
    ends: list[tuple[datetime, str]] = []
    if a.ends_at <= now:
        ends.append((a.ends_at, "term"))
    if a.state in (AgreementState.SUSPENDED, AgreementState.REVOKED):
        later = [t for t in stops.get(a.id, []) if t >= row["created_at"]]
        ends.append((later[0] if later else row["updated_at"], a.state.value))
    # The earliest stop wins; at a tie the term (whose end instant itself is outside it).
    return min(ends, key=lambda e: (e[0], e[1] != "term")) if ends else None


def _agreement(
    conn: Any,
    row: dict[str, Any],
    partners: Mapping[str, dict[str, Any]],
    stops: dict[str, list[datetime]],
    now: datetime,
) -> dict[str, Any]:
    a = from_document(row["document"])
    view: dict[str, Any] = {
        "id": a.id,
        "version": a.version,
        **_partner(partners, a.partner),
        "purpose": a.purpose,
        "legal_basis": a.legal_basis,
        "granted": sorted(a.granted),
        "granted_classes": sorted(c.value for c in a.granted_classes()),
        "event_types": sorted(a.event_types),
        "transport": a.transport.value,
        "lookup_by": sorted(a.lookup.identifiers),
        "starts_at": a.starts_at.isoformat(),
        "ends_at": a.ends_at.isoformat(),
        "state": a.effective_state(now).value,
        # Owners are the system's owner organisations, never the staff who clicked.
        "approvals": [
            {"owner": p.owner, "at": p.at.isoformat(), "sensitive": sorted(p.sensitive)}
            for p in a.approvals
        ],
        "previous_version": a.previous_version,
        "ended": None,
    }
    ended = _ended(a, row, stops, now)
    if ended is not None:
        at, how = ended
        # The term is [starts_at, ends_at): a disclosure at ends_at itself is already too late.
        count, first = store.disclosures_after(conn, a.id, a.version, at, inclusive=how == "term")
        holds = count == 0
        view["ended"] = {
            "at": at.isoformat(),
            "how": how,
            "holds": holds,
            "disclosures_after_end": shown(count),
            "first_after_end": _iso(first),
            "statement": (
                f"no disclosures after {at.isoformat()}"
                if holds
                else f"WARNING: the log records {shown(count)} disclosure(s) under this "
                f"agreement after it ended at {at.isoformat()}"
            ),
        }
    return view


# -- counts -----------------------------------------------------------------------------------


def _disclosures(rows: list[Any], partners: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per partner, month and field class: a disclosure counts once per class it
    carried."""
    totals: dict[tuple[str | None, str, str], int] = defaultdict(int)
    for r in rows:
        for cls in (r.classes or "none").split(","):
            totals[(r.partner_id, str(r.month), cls)] += int(r.n)
    out = [
        {**_partner(partners, pid), "month": month, "field_class": cls, "disclosures": shown(n)}
        for (pid, month, cls), n in totals.items()
    ]
    return sorted(out, key=lambda d: (d["partner"], d["month"], d["field_class"]))


def _withheld(
    rows: list[Any], partners: Mapping[str, dict[str, Any]], owner_of: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One row per partner and month: the sum of the withheld entries' counts."""
    totals: dict[tuple[str | None, str], int] = defaultdict(int)
    for r in rows:
        details = r.details if isinstance(r.details, dict) else {}
        count = details.get("count", 0)
        if not isinstance(count, int) or isinstance(count, bool):
            continue
        # The relay's end-of-term sweep names the agreement, not the partner.
        partner_id = r.subject if r.subject in partners else owner_of.get(r.agreement_id or "")
        totals[(partner_id, r.at.strftime("%Y-%m"))] += count
    out = [
        {**_partner(partners, pid), "month": month, "withheld": shown(n)}
        for (pid, month), n in totals.items()
    ]
    return sorted(out, key=lambda d: (d["partner"], d["month"]))


def _recalls(rows: list[Any], partners: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per partner and month: recall notices sent and attested (no identifiers)."""
    totals: dict[tuple[str | None, str], dict[str, int]] = defaultdict(
        lambda: {"sent": 0, "attested": 0}
    )
    for r in rows:
        totals[(r.subject, r.at.strftime("%Y-%m"))][r.action.removeprefix("recall:")] += 1
    out = [
        {**_partner(partners, pid), "month": month, "recalls_sent": shown(n["sent"]),
         "recalls_attested": shown(n["attested"])}
        for (pid, month), n in totals.items()
    ]  # fmt: skip
    return sorted(out, key=lambda d: (d["partner"], d["month"]))


# -- the log's public side --------------------------------------------------------------------


def _log(pars: Pars) -> dict[str, Any]:
    from pars.services.audit import latest_checkpoint, public_key

    try:
        checkpoint: dict[str, Any] | None = latest_checkpoint(pars)
        checkpoint_status = "signed"
    except NotFound:
        checkpoint, checkpoint_status = None, "no checkpoint has been signed yet"
    try:
        key: dict[str, str] | None = public_key(pars)
        key_status = "configured"
    except (FileNotFoundError, ValueError):
        key, key_status = None, "no signing key is configured on this server"
    return {
        "checkpoint": checkpoint,
        "checkpoint_status": checkpoint_status,
        "public_key": key,
        "public_key_status": key_status,
        # Checkpoints signed before the C2SP format name the key by its legacy id.
        "key_matches": (
            None
            if checkpoint is None or key is None
            else checkpoint["key_id"] in (key["key_id"], key["legacy_key_id"])
        ),
        "verify": VERIFY,
    }


def report(pars: Pars) -> dict[str, Any]:
    """The public transparency report. Holds no personal data and no staff usernames."""
    now = pars.clock.now()
    with pars.reader() as uow:
        conn = uow.conn
        partners = store.partner_rows(conn)
        stops: dict[str, list[datetime]] = defaultdict(list)
        for agreement_id, at in store.stop_events(conn):
            stops[str(agreement_id)].append(at)
        versions = store.agreement_rows(conn)
        agreements = [_agreement(conn, row, partners, stops, now) for row in versions]
        owner_of = {str(row["id"]): str(row["partner_id"]) for row in versions}
        disclosures = _disclosures(store.disclosure_counts(conn), partners)
        withheld = _withheld(store.withheld_rows(conn), partners, owner_of)
        recalls = _recalls(store.recall_entries(conn), partners)
    warnings = [
        {
            "agreement_id": a["id"],
            "version": a["version"],
            "partner": a["partner"],
            "ended_at": a["ended"]["at"],
            "disclosures_after_end": a["ended"]["disclosures_after_end"],
            "first_after_end": a["ended"]["first_after_end"],
            "message": a["ended"]["statement"],
        }
        for a in agreements
        if a["ended"] is not None and not a["ended"]["holds"]
    ]
    return {
        "jurisdiction": pars.settings.jurisdiction,
        "generated_at": now.isoformat(),
        "months": "calendar months in UTC",
        "small_counts": {"below": SMALL, "shown_as": FEWER_THAN_5},
        "warnings": warnings,
        "agreements": agreements,
        "disclosures": disclosures,
        "withheld": withheld,
        "recalls": recalls,
        "log": _log(pars),
    }


_CSV_HEADER = ("measure", "partner_id", "partner", "partner_class", "month", "field_class", "count")


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def counts_csv(data: dict[str, Any]) -> str:
    """The report's counts table as CSV: disclosures per partner, month and field class, then
    withheld items per partner and month."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_CSV_HEADER)
    for d in data["disclosures"]:
        writer.writerow(
            _cell(v)
            for v in ("disclosed", d["partner_id"], d["partner"], d["partner_class"], d["month"],
                      d["field_class"], d["disclosures"])
        )  # fmt: skip
    for w in data["withheld"]:
        writer.writerow(
            _cell(v)
            for v in ("withheld", w["partner_id"], w["partner"], w["partner_class"], w["month"],
                      "", w["withheld"])
        )  # fmt: skip
    for r in data.get("recalls", []):
        for measure in ("recalls_sent", "recalls_attested"):
            writer.writerow(
                _cell(v)
                for v in (measure, r["partner_id"], r["partner"], r["partner_class"], r["month"],
                          "", r[measure])
            )  # fmt: skip
    return out.getvalue()


# -- the per-person and per-arrest history (staff) --------------------------------------------


def _history_item(row: Any, partners: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    details = row.details if isinstance(row.details, dict) else {}
    lookup = row.action == "disclosure:lookup"
    known = partners.get(row.subject or "")
    return {
        "leaf_index": row.leaf_index,
        "at": row.at.isoformat(),
        "action": row.action,
        "arrest_id": row.record_id,
        "partner_id": row.subject,
        "partner": known["name"] if known else row.actor,
        "agreement_id": row.agreement_id,
        "agreement_version": row.agreement_version,
        "classes": row.classes.split(",") if row.classes else [],
        "transport": "lookup" if lookup else details.get("transport"),
        "event_id": details.get("event"),
        "attempt": details.get("attempt"),
        "lookup_by": details.get("by") if lookup else None,
        "recall": details.get("recall") if row.action.startswith("recall:") else None,
        "purpose": details.get("purpose") if lookup else None,
    }


def disclosure_history(
    pars: Pars, who: Principal, *, person_id: str | None = None, arrest_id: str | None = None
) -> dict[str, Any]:
    """Every disclosure of this person's arrests (or of this arrest) on the log, oldest first,
    with the partner, agreement, classes, transport and log leaf of each. Privacy officers and
    auditors only; the read itself is audited (`disclosure_history:read`)."""
    subject = person_id if person_id is not None else arrest_id
    if subject is None:
        raise ValueError("give person_id or arrest_id")
    kind = "person" if person_id is not None else "arrest"
    require_role(pars, who, HISTORY_ROLES, "read disclosure histories", subject)
    with pars.uow() as uow:
        if person_id is not None:
            exists = store.person_exists(uow.conn, person_id)
            records = store.person_arrests(uow.conn, person_id)
        else:
            exists = store.arrest_exists(uow.conn, subject)
            records = [subject]
        rows = store.entries_for_records(uow.conn, records)
        partners = store.partner_rows(uow.conn)
        # An arrest destroyed by expungement can still have disclosures on the log.
        found = exists or bool(rows)
        uow.audit(
            AuditEntry(
                who.username,
                "disclosure_history:read",
                "success" if found else "failure",
                who.role,
                subject,
                {"of": kind, "records": len(records), "entries": len(rows)},
            )
        )
        uow.commit()
    if not found:
        raise NotFound(f"no such {kind}")
    items = [_history_item(r, partners) for r in rows]
    return {f"{kind}_id": subject, "arrest_ids": records, "count": len(items), "items": items}
