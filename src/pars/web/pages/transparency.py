"""The public transparency page, rendered on the server with the standard library.

No JavaScript, no external resources: semantic HTML with captions and header scopes, inline SVG
bar charts that repeat a table printed next to them, and a print style sheet. Every value from
the report passes through `html.escape`, including numbers and dates.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

from pars.services.transparency import FEWER_THAN_5

__all__ = ["CSP", "render"]

# The page needs nothing but its own inline style.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"  # noqa: E501

_STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;
 margin:0 auto;max-width:72rem;padding:0 1rem 3rem}
a{color:#005ea2}a:focus,summary:focus{outline:3px solid #2491ff;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid #a9aeb1;padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.alert{border:4px solid #b50909;background:#f4e3db;padding:1rem;margin:1rem 0}
.alert h2{color:#b50909;margin-top:0}.bad{color:#b50909;font-weight:700}.ok{color:#00703c}
code,pre{font-family:ui-monospace,Consolas,monospace;word-break:break-all;white-space:pre-wrap}
pre{background:#f0f0f0;padding:.5rem}svg{max-width:100%;height:auto}
.note{color:#454545}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}dd{margin:0}
@media print{.skip,nav{display:none}body{max-width:none;font-size:11pt}
 .alert{border-width:3pt}table,figure,svg{break-inside:avoid}
 a[href^="http"]::after{content:" (" attr(href) ")"}}
"""

_COLOURS = {
    "case": "#005ea2",
    "identity": "#8b0a03",
    "contact": "#538200",
    "officer": "#6b4c00",
    "narrative": "#4c3d8f",
    "protected": "#1b1b1b",
    "victim_witness": "#c05600",
    "juvenile": "#0f6460",
}


def e(value: Any) -> str:
    """Escaped text of any value; None as an em dash."""
    return "—" if value is None else escape(str(value), quote=True)


def _number(value: int | str) -> int:
    """A bar's length: a suppressed count is drawn up to its upper bound, outlined only."""
    return value if isinstance(value, int) else 5


def _chart(chart_id: str, title: str, bars: list[tuple[str, str, int | str]]) -> str:
    """A horizontal bar chart of (month, class, value) with every value written beside its
    bar, so that colour is never the only cue."""
    label_w, bar_w, row_h, gap = 190, 380, 20, 10
    top = max((_number(v) for _, _, v in bars), default=1) or 1
    parts: list[str] = []
    y, month_seen = 4, None
    for month, cls, value in bars:
        if month_seen is not None and month != month_seen:
            y += gap
        month_seen = month
        width = round(bar_w * _number(value) / top)
        colour = _COLOURS.get(cls, "#565c65")
        fill = f'fill="{colour}"' if isinstance(value, int) else f'fill="url(#{chart_id}-h)"'
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{e(month)} {e(cls)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{max(width, 1)}" height="{row_h - 4}" '
            f'{fill} stroke="{colour}"/>'
            f'<text x="{label_w + max(width, 1) + 6}" y="{y + 14}">{e(value)}</text>'
        )
        y += row_h
    height = y + 6
    return (
        f'<svg role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'viewBox="0 0 {label_w + bar_w + 120} {height}" width="{label_w + bar_w + 120}" '
        f'height="{height}" font-size="13" font-family="system-ui,sans-serif" fill="#1b1b1b">'
        f'<title id="{chart_id}-t">{e(title)}</title>'
        f'<desc id="{chart_id}-d">Bar chart; the table below gives the same numbers. Counts '
        f"from 1 to 4 are drawn as an outlined, hatched bar up to 5.</desc>"
        f'<defs><pattern id="{chart_id}-h" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="#71767a" stroke-width="3"/></pattern></defs>'
        + "".join(parts)
        + "</svg>"
    )


def _warnings(report: dict[str, Any]) -> str:
    if not report["warnings"]:
        return ""
    items = "".join(
        f"<li><strong>{e(w['partner'])}</strong>, agreement <code>{e(w['agreement_id'])}</code> "
        f"version {e(w['version'])}: ended at {e(w['ended_at'])}, yet the log records "
        f"{e(w['disclosures_after_end'])} disclosure(s) after that, the first at "
        f"{e(w['first_after_end'])}.</li>"
        for w in report["warnings"]
    )
    return (
        '<div class="alert" role="alert"><h2>Warning: disclosures after an agreement ended</h2>'
        f"<ul>{items}</ul><p>The disclosure log shows data leaving under an agreement that had "
        "already ended. The system's owners must investigate.</p></div>"
    )


def _approvals(a: dict[str, Any]) -> str:
    if not a["approvals"]:
        return "none"
    return "<br>".join(
        f"{e(p['owner'])}, {e(p['at'])}"
        + (f" (also for {e(', '.join(p['sensitive']))})" if p["sensitive"] else "")
        for p in a["approvals"]
    )


def _end_check(a: dict[str, Any]) -> str:
    ended = a["ended"]
    if ended is None:
        return "in force or not yet ended"
    cls = "ok" if ended["holds"] else "bad"
    how = {"term": "its term ended", "suspended": "suspended", "revoked": "revoked"}[ended["how"]]
    return f'<span class="{cls}">{e(ended["statement"])}</span><br>({e(how)})'


def _agreements(report: dict[str, Any]) -> str:
    rows = "".join(
        "<tr>"
        f'<th scope="row">{e(a["partner"])}</th><td>{e(a["partner_class"])}</td>'
        f"<td><code>{e(a['id'])}</code> v{e(a['version'])}</td>"
        f"<td>{e(a['purpose'])}</td><td>{e(a['legal_basis'])}</td>"
        f"<td>{e(', '.join(a['granted_classes']))}</td>"
        f"<td>{e(a['starts_at'])} to {e(a['ends_at'])}</td>"
        f"<td>{_approvals(a)}</td><td>{e(a['state'])}</td><td>{_end_check(a)}</td>"
        "</tr>"
        for a in report["agreements"]
    )
    head = "".join(
        f'<th scope="col">{h}</th>'
        for h in ("Partner", "Partner class", "Agreement", "Purpose", "Legal basis",
                  "Field classes granted", "Term", "Approved by (owner, when)", "State",
                  "After its end")
    )  # fmt: skip
    if not rows:
        return "<p>No agreement has ever been drafted.</p>"
    return (
        "<table><caption>Every version of every data-sharing agreement</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _disclosures(report: dict[str, Any]) -> str:
    by_partner: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in report["disclosures"]:
        by_partner[d["partner"]].append(d)
    if not by_partner:
        return "<p>No data has been disclosed to any partner.</p>"
    out: list[str] = []
    for n, (partner, rows) in enumerate(sorted(by_partner.items()), start=1):
        months = sorted({r["month"] for r in rows})
        classes = sorted({r["field_class"] for r in rows})
        cell = {(r["month"], r["field_class"]): r["disclosures"] for r in rows}
        bars = [(m, c, cell[(m, c)]) for m in months for c in classes if (m, c) in cell]
        head = "".join(f'<th scope="col">{e(c)}</th>' for c in classes)
        body = "".join(
            f'<tr><th scope="row">{e(m)}</th>'
            + "".join(f'<td class="n">{e(cell.get((m, c), 0))}</td>' for c in classes)
            + "</tr>"
            for m in months
        )
        title = f"Disclosures to {partner} by month and field class"
        out.append(
            f'<section aria-labelledby="p{n}"><h3 id="p{n}">{e(partner)} '
            f"<small>({e(rows[0]['partner_class'])})</small></h3>"
            f"<figure>{_chart(f'c{n}', title, bars)}</figure>"
            f'<table><caption>{e(title)}</caption><thead><tr><th scope="col">Month (UTC)</th>'
            f"{head}</tr></thead><tbody>{body}</tbody></table></section>"
        )
    return "".join(out)


def _withheld(report: dict[str, Any]) -> str:
    if not report["withheld"]:
        return "<p>Nothing has been withheld.</p>"
    rows = "".join(
        f'<tr><th scope="row">{e(w["partner"])}</th><td>{e(w["month"])}</td>'
        f'<td class="n">{e(w["withheld"])}</td></tr>'
        for w in report["withheld"]
    )
    return (
        "<table><caption>Items withheld from partners, by month</caption><thead><tr>"
        '<th scope="col">Partner</th><th scope="col">Month (UTC)</th>'
        f'<th scope="col">Items withheld</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _log(report: dict[str, Any]) -> str:
    log = report["log"]
    cp, key = log["checkpoint"], log["public_key"]
    if cp is None:
        checkpoint = f"<p>{e(log['checkpoint_status'])}.</p>"
    else:
        checkpoint = (
            f"<dl><dt>Entries (tree size)</dt><dd>{e(cp['size'])}</dd>"
            f"<dt>Root hash</dt><dd><code>{e(cp['root_hash'])}</code></dd>"
            f"<dt>Signed at</dt><dd>{e(cp['time'])}</dd>"
            f"<dt>Key id</dt><dd><code>{e(cp['key_id'])}</code></dd>"
            f"<dt>Signature (Ed25519)</dt><dd><code>{e(cp['signature'])}</code></dd></dl>"
            f"<p>The signed note, exactly as signed:</p><pre>{e(cp['note'])}</pre>"
        )
    if key is None:
        public = f"<p>{e(log['public_key_status'])}.</p>"
    else:
        public = (
            f"<dl><dt>Algorithm</dt><dd>{e(key['algorithm'])}</dd>"
            f"<dt>Key id</dt><dd><code>{e(key['key_id'])}</code></dd>"
            f"<dt>Public key</dt><dd><code>{e(key['public_key'])}</code></dd></dl>"
        )
        if log["key_matches"] is False:
            public += (
                '<p class="bad">The latest checkpoint was signed with another key; ask the '
                "system's owners for that key.</p>"
            )
    v = log["verify"]
    return (
        f"<h3>The latest signed checkpoint</h3>{checkpoint}"
        f"<h3>The log's public key</h3>{public}"
        "<h3>How to verify</h3><ol>"
        "<li>Check the checkpoint's signature: it is an Ed25519 signature over the note above, "
        "byte for byte, with the public key. Compare the key with the one the system's owners "
        "publish elsewhere.</li>"
        f"<li>An auditor exports the log (<code>{e(v['export'])}</code>) and checks every entry "
        f"and every checkpoint with <code>{e(v['full_log'])}</code>, or, without PARS, with the "
        f"stand-alone verifier <code>{e(v['standalone'])}</code>, which recomputes the Merkle "
        "root (RFC 6962) from the entries and compares it with the signed root.</li>"
        "<li>Checkpoints only ever grow: a consistency proof shows that a later checkpoint "
        "extends an earlier one, so no entry was rewritten or removed in between.</li>"
        "<li>Each partner receives, with every item, the log index and salt of its entry, and "
        "can prove that the entry is in the signed tree.</li>"
        f"</ol><p>Details: <code>{e(v['docs'])}</code> in the PARS documentation.</p>"
    )


def render(report: dict[str, Any]) -> str:
    """The whole page."""
    jurisdiction = report["jurisdiction"]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Data sharing transparency: {e(jurisdiction)}</title><style>{_STYLE}</style>"
        '</head><body><a class="skip" href="#main">Skip to the report</a>'
        f"<header><h1>Data sharing transparency: {e(jurisdiction)}</h1>"
        f"<p>Who receives arrest data from this system, under which agreement, and how often. "
        f"Generated {e(report['generated_at'])}.</p></header>"
        '<nav aria-label="Sections"><ul>'
        '<li><a href="#agreements">Agreements</a></li>'
        '<li><a href="#disclosures">Disclosures</a></li>'
        '<li><a href="#withheld">Withheld</a></li><li><a href="#log">The signed log</a></li>'
        '<li><a href="/api/v1/transparency">This report as JSON</a>, '
        '<a href="/api/v1/transparency?format=csv">the counts as CSV</a></li></ul></nav>'
        f'<main id="main">{_warnings(report)}'
        '<p class="note">No personal data is shown here. Counts from 1 to 4 are shown as '
        f"“{e(FEWER_THAN_5)}” so that a rare case cannot point at a person; 0 is shown as 0. "
        f"Months are {e(report['months'])}. A disclosure counts once for each field class it "
        "carried; look-up answers count as disclosures.</p>"
        '<section aria-labelledby="agreements"><h2 id="agreements">Agreements</h2>'
        f"{_agreements(report)}</section>"
        '<section aria-labelledby="disclosures"><h2 id="disclosures">Disclosures by partner, '
        f"field class and month</h2>{_disclosures(report)}</section>"
        '<section aria-labelledby="withheld"><h2 id="withheld">Withheld items</h2>'
        "<p>Items that were due to a partner but did not leave because the agreement had "
        f"ended, was suspended or revoked, or the policy no longer allowed them.</p>"
        f"{_withheld(report)}</section>"
        '<section aria-labelledby="log"><h2 id="log">The signed disclosure log</h2>'
        "<p>Every disclosure is written to an append-only, tamper-evident log before the data "
        "leaves. The counts above are computed from that log.</p>"
        f"{_log(report)}</section></main></body></html>"
    )
