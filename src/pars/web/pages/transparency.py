"""The public transparency page: the report of `services.transparency.report`, shaped for a
reader with no training and rendered by `templates/transparency/page.html`.

No JavaScript at all (the page's CSP allows no script), only the vendored USWDS style sheet and
PARS's own; dates and months in words, in the courts' time zone, with the exact instant kept in
each `<time datetime>` and the log's exact end-of-agreement statement printed beside its words;
bar charts as server-drawn SVG, each repeating the table printed next to it. Every value is
autoescaped by the template.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, tzinfo
from typing import Any

from pars.services.transparency import FEWER_THAN_5
from pars.web.charts import Row, hbars
from pars.web.screens.render import env
from pars.web.screens.words import when

__all__ = ["CLASS_WORDS", "CSP", "month_words", "render", "when_words"]

# Styles from the page's own origin only; no script of any kind (default-src 'none').
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

CLASS_WORDS = {
    "case": "Case facts",
    "identity": "Identity",
    "contact": "Contact details",
    "officer": "Arresting officer",
    "narrative": "Written narrative",
    "protected": "Protected personal data",
    "victim_witness": "Victims and witnesses",
    "juvenile": "Juvenile records",
    "staff": "Staff user names",
    "none": "No field",
}
CLASS_MEANS = {
    "case": "times, places, charges and their grades, the prosecutor's decision, bail, court "
    "dates and docket numbers",
    "identity": "the arrested person's name, aliases, date of birth, sex, race, description "
    "and identification numbers",
    "contact": "the arrested person's home address and phone number",
    "officer": "the arresting officer's badge and name",
    "narrative": "the officer's written account of what happened, and other free text",
    "protected": "social security number, place of birth and citizenship; sent to no partner "
    "unless this jurisdiction's policy allows it and the owners approve it",
    "victim_witness": "names and contact details of victims and witnesses; sent to no partner "
    "unless the policy allows it and the owners approve it",
    "juvenile": "any record of a person under 18; sent to no partner unless the policy allows "
    "it and the owners approve it",
    "staff": "who did each step inside the system; never sent to any partner",
}
PARTNER_CLASS_WORDS = {
    "prosecutor": "prosecutor",
    "court": "court",
    "defense": "defense",
    "pretrial": "pretrial services",
    "state_repository": "state records repository",
    "federal": "federal agency",
    "research": "researchers",
}
STATE_WORDS = {
    "draft": ("Draft", "not in force; nothing is sent"),
    "pending_approval": ("Awaiting approval", "not in force until the owners approve it"),
    "active": ("In force", "data is sent as it says"),
    "expired": ("Ended", "its term is over; nothing is sent"),
    "suspended": ("Suspended", "nothing is sent while it is suspended"),
    "revoked": ("Revoked", "ended for good; nothing is sent"),
}
HOW_WORDS = {"term": "its term ended", "suspended": "it was suspended", "revoked": "it was revoked"}


def when_words(iso: str | None, zone: tzinfo) -> str:
    """'November 20, 2026, 12:00 PM EST' in `zone`; an em dash for None."""
    return when(iso, zone, weekday=False) if iso else "—"


def month_words(month: str) -> str:
    """'2026-11' as 'November 2026'."""
    return datetime.strptime(month, "%Y-%m").strftime("%B %Y")


def _words(key: str | None, table: dict[str, str]) -> str:
    if key is None:
        return "—"
    return table.get(key, key.replace("_", " "))


def _owner(name: str) -> str:
    return name.replace("_", " ").title()


def _number(value: int | str) -> int:
    """A bar's length: a suppressed count is drawn up to its upper bound, hatched."""
    return value if isinstance(value, int) else 5


def _agreement(a: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    state, state_means = STATE_WORDS.get(a["state"], (a["state"], ""))
    ended = a["ended"]
    end = None
    if ended is not None:
        end = {
            "holds": ended["holds"],
            "how": HOW_WORDS.get(ended["how"], ended["how"]),
            "at": ended["at"],
            "at_words": when_words(ended["at"], zone),
            "count": ended["disclosures_after_end"],
            "first_words": when_words(ended["first_after_end"], zone),
            "statement": ended["statement"],
        }
    return {
        "id": a["id"],
        "version": a["version"],
        "partner": a["partner"],
        "partner_class": _words(a["partner_class"], PARTNER_CLASS_WORDS),
        "purpose": a["purpose"],
        "legal_basis": a["legal_basis"],
        "granted": [_words(c, CLASS_WORDS) for c in a["granted_classes"]],
        "starts_at": a["starts_at"],
        "ends_at": a["ends_at"],
        "starts_words": when_words(a["starts_at"], zone),
        "ends_words": when_words(a["ends_at"], zone),
        "approvals": [
            {
                "owner": _owner(p["owner"]),
                "at": p["at"],
                "at_words": when_words(p["at"], zone),
                "sensitive": [_words(c, CLASS_WORDS) for c in p["sensitive"]],
            }
            for p in a["approvals"]
        ],
        "state": state,
        "state_means": state_means,
        "end": end,
    }


def _partners(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per partner: the months and classes of its disclosures as a table and a chart."""
    by_partner: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in report["disclosures"]:
        by_partner[d["partner"]].append(d)
    out = []
    for n, (partner, rows) in enumerate(sorted(by_partner.items()), start=1):
        months = sorted({r["month"] for r in rows})
        classes = sorted({r["field_class"] for r in rows})
        cell = {(r["month"], r["field_class"]): r["disclosures"] for r in rows}
        title = f"Disclosures to {partner} by month and kind of data"
        bars = [
            Row(
                f"{month_words(m)}: {_words(c, CLASS_WORDS)}",
                _number(cell[(m, c)]),
                str(cell[(m, c)]),
                kind=c,
                hatched=not isinstance(cell[(m, c)], int),
                new_group=(i > 0 and j == 0),
            )
            for i, m in enumerate(months)
            for j, c in enumerate([c for c in classes if (m, c) in cell])
        ]
        desc = (
            "Bar chart; the table beside it gives the same numbers. Counts from 1 to 4 are "
            "drawn as a hatched bar up to 5."
        )
        out.append(
            {
                "n": n,
                "partner": partner,
                "partner_class": _words(rows[0]["partner_class"], PARTNER_CLASS_WORDS),
                "title": title,
                "chart": hbars(f"c{n}", title, desc, bars, label_width=260, bar_width=300),
                "classes": [_words(c, CLASS_WORDS) for c in classes],
                "rows": [(month_words(m), [cell.get((m, c), 0) for c in classes]) for m in months],
            }
        )
    return out


def _summary(agreements: list[dict[str, Any]], report: dict[str, Any]) -> dict[str, Any]:
    ended = [a for a in report["agreements"] if a["ended"] is not None]
    return {
        "in_force": sum(a["state"] == "active" for a in report["agreements"]),
        "partners_in_force": len(
            {a["partner"] for a in report["agreements"] if a["state"] == "active"}
        ),
        "versions": len(agreements),
        "ended": len(ended),
        "ended_clean": sum(a["ended"]["holds"] for a in ended),
        "partners_disclosed": len({d["partner"] for d in report["disclosures"]}),
    }


def render(report: dict[str, Any], zone: tzinfo) -> str:
    """The whole page, dates and times in `zone`."""
    agreements = [_agreement(a, zone) for a in report["agreements"]]
    warnings = [
        {
            **w,
            "ended_words": when_words(w["ended_at"], zone),
            "first_words": when_words(w["first_after_end"], zone),
        }
        for w in report["warnings"]
    ]
    withheld = [
        {"partner": w["partner"], "month": month_words(w["month"]), "count": w["withheld"]}
        for w in report["withheld"]
    ]
    recalls = [
        {
            "partner": r["partner"],
            "month": month_words(r["month"]),
            "sent": r["recalls_sent"],
            "attested": r["recalls_attested"],
        }
        for r in report.get("recalls", [])
    ]
    log = report["log"]
    checkpoint = log["checkpoint"]
    context = {
        "jurisdiction": report["jurisdiction"],
        "generated_at": report["generated_at"],
        "generated_words": when_words(report["generated_at"], zone),
        "zone_name": getattr(zone, "key", str(zone)),
        "fewer_than_5": FEWER_THAN_5,
        "warnings": warnings,
        "agreements": agreements,
        "summary": _summary(agreements, report),
        "partners": _partners(report),
        "withheld": withheld,
        "recalls": recalls,
        "log": log,
        "checkpoint_words": when_words(checkpoint["time"], zone) if checkpoint else None,
        "class_words": CLASS_WORDS,
        "class_means": CLASS_MEANS,
        "state_words": STATE_WORDS,
    }
    return env.get_template("transparency/page.html").render(context)
