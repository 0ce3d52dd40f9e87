"""Screens benchmark: server time per page and per HTMX interaction on the demo database, and
the keys and clicks of a typical arrest report.

1. Builds the demo database in this process, as `pars demo --no-serve` does (`run_demo`, on a
   temporary directory: its own key files, two-factor sign-in off), and signs in each of the
   demo's users (one per role) through /signin in its own in-process browser (a starlette
   TestClient keeping the session cookie; the CSRF token sent as a form and as HTMX send it).
2. Pages: each screen of `pars.web.screens.jobs.JOBS` that exists, for each role that opens it,
   then the detail pages its links lead to (one per route, two levels down: `/charging/{id}`,
   its complaint PDF, ...), `/home` for every role, and the public `/signin` and `/transparency`.
   A screen not built yet is skipped with a note.
3. HTMX interactions (the `HX-Request: true` requests form.html and board.html make): booking
   autosave (incomplete, the first complete save that creates the draft, a change, no change),
   charge suggestions as the officer types words or a citation, identity candidates as the
   officer types the names, a new charge row, the custody board's refresh. Every hx-get/hx-post
   in the templates is listed, with whether it is measured.
4. Server time: around the ASGI call of the whole application (its middleware and access log
   included), `--reps` times after `--warmup`; p50/p95 (nearest rank) and max. The access log's
   own `ms` is kept (it is written, as JSON at info, as `pars serve` writes it) and its p95
   shown beside. Target: p95 under 100 ms for every HTMX interaction.
5. A typical arrest report driven through the booking screen (`bench/_screens_report.py` says
   what is typed and how keys are counted): keys, Tabs and clicks, and the time at five keys a
   second plus one second a click, against 90 s; the OTN must come back and the report be
   submitted, or the benchmark fails.

It asserts nothing about timing. Run from the repository root:

    uv run python -m bench.screens                  # the demo's 90 days x 120 arrests, 50 reps
    uv run python -m bench.screens --quick          # 7 days, 20 reps (about a minute)
    uv run python -m bench.screens --profile candidates   # cProfile of the matching rows

`--json` prints every figure as one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._screens_app import Browser, LogTap, Timed, browser, build_demo, demo_pars
from bench._screens_measure import (
    Measured,
    Step,
    discover,
    get_routes,
    inline_threads,
    measure,
    template_interactions,
)
from bench._screens_report import CHARGES, filled_form, read_form, typical_person, write_report
from bench.intake import machine

HTMX_TARGET_MS = 100.0
REPORT_TARGET_S = 90.0
KEYS_PER_SECOND = 5.0
# Detail pages reached by a redirect rather than a link: measured beside the linked page.
_ALSO = {"/booking/{arrest_id}": "/review"}
# The hx- paths this benchmark measures (a prefix of the path as written in a template).
_COVERED: tuple[str, ...] = (
    "/booking/save",
    "/booking/candidates",
    "/booking/charges/",
    "/booking/row/",
)
_COVERED += ("/custody",)


def pages(browsers: dict[str, Browser], anon: Browser, app: Any, args: Any) -> list[Measured]:
    from pars.web.screens.jobs import JOBS

    routes = get_routes(app)
    templates = {t for t, _ in routes}
    out: list[Measured] = []

    def one(kind: str, name: str, role: str, b: Browser, path: str) -> Measured:
        m = Measured(kind, name, role, "GET", path)
        step: Step = lambda _k: b.get(path)  # noqa: E731
        return measure(m, b, step, args.reps, args.warmup)

    for role, b in browsers.items():
        out.append(one("page", "/home", role, b, "/home"))
    for job in JOBS:
        if job.path not in templates:
            print(f"  note: {job.path} is not built yet: skipped")
            continue
        for role in sorted(r.value for r in job.roles):
            b = browsers[role]
            listed = one("page", job.path, role, b, job.path)
            out.append(listed)
            seen: set[str] = {job.path}
            todo = [(job.path, b.get(job.path).text)]
            for depth in range(2):
                found: list[tuple[str, str]] = []
                for _, html in todo:
                    found += discover(html, job.path, routes, seen)
                todo = []
                for name, href in found:
                    m = one("page", name, role, b, href)
                    out.append(m)
                    if name in _ALSO and m.statuses.get(200):
                        out.append(one("page", name + _ALSO[name], role, b, href + _ALSO[name]))
                    if depth == 0 and m.statuses.get(200):
                        todo.append((name, b.get(href).text))
    for path in ("/signin", "/transparency"):
        out.append(one("page", path, "(public)", anon, path))
    return out


def interactions(browsers: dict[str, Browser], person: dict[str, Any], args: Any) -> list[Measured]:
    b = browsers["officer"]
    new = read_form(b.get("/booking/new").text).values
    full = filled_form(new, person, args.narrative)
    out: list[Measured] = []

    def run(name: str, method: str, path: str, step: Step, who: Browser = b) -> Measured:
        m = Measured("htmx", name, who.username, method, path)
        out.append(measure(m, who, step, args.reps, args.warmup))
        return m

    def save(form: dict[str, str]) -> Any:
        return b.post("/booking/save", htmx=True, data=form)

    first = {**new, "person.last_name": str(person["last_name"])}
    run("booking autosave: report not complete (nothing written)", "POST", "/booking/save",
        lambda _k: save(first))  # fmt: skip
    run("booking autosave: first complete save (creates the draft)", "POST", "/booking/save",
        lambda _k: save(full))  # fmt: skip
    r = save(full)
    draft = {**full, "arrest_id": r.headers["HX-Replace-Url"].rsplit("/", 1)[1]}
    run("booking autosave: a change (a correction of the draft)", "POST", "/booking/save",
        lambda k: save({**draft, "narrative": f"{draft['narrative']} ({k})"}))  # fmt: skip
    save(draft)
    run("booking autosave: nothing changed", "POST", "/booking/save", lambda _k: save(draft))

    def typing(words: list[str]) -> list[str]:
        return [w[:n] for w in words for n in range(1, len(w) + 1)]

    for label, words in (
        ("words", [w for w, _ in CHARGES] + ["retail theft", "simple assault"]),
        ("a citation", ["18 2701 A1", "35 780-113 A16", "75 3802"]),
    ):
        prefixes = typing(words)
        run(f"charge suggestions as the officer types {label}", "GET", "/booking/charges/0",
            _suggest(b, prefixes))  # fmt: skip
    last, first_name = str(person["last_name"]), str(person["first_name"])
    states = [{**new, "person.last_name": last, "person.first_name": first_name[:n]}
              for n in range(1, len(first_name) + 1)]  # fmt: skip
    for f in ("middle_name", "date_of_birth", "sex", "race", "ethnicity", "address"):
        if person.get(f):
            states.append({**states[-1], f"person.{f}": str(person[f])})
    run("identity candidates as the officer types the names (a person on record)", "POST",
        "/booking/candidates", lambda k: b.post("/booking/candidates", htmx=True,
                                                data=states[k % len(states)]))  # fmt: skip
    strangers = [{**new, "person.last_name": "Quaxwell", "person.first_name": "Zebedee"[:n]}
                 for n in range(1, 8)]  # fmt: skip
    run(
        "identity candidates, a person with no record",
        "POST",
        "/booking/candidates",
        lambda k: b.post("/booking/candidates", htmx=True, data=strangers[k % len(strangers)]),
    )
    run("identity candidates, last name only (no look-up yet)", "POST", "/booking/candidates",
        lambda _k: b.post("/booking/candidates", htmx=True, data=first))  # fmt: skip
    run("add another charge (a new row)", "GET", "/booking/row/charges/1",
        lambda _k: b.get("/booking/row/charges/1", htmx=True))  # fmt: skip
    sup = browsers["supervisor"]
    for path in ("/custody", "/custody?status=committed"):
        run(f"custody board refresh, every 60 s ({path})", "GET", path, _hx_get(sup, path), sup)
    return out


def _hx_get(b: Browser, path: str) -> Step:
    return _hx(b, "GET", path)


def _hx(b: Browser, method: str, path: str) -> Step:
    return lambda _k: b.request(method, path, htmx=True)


def _suggest(b: Browser, prefixes: list[str]) -> Step:
    """The suggestions for each prefix in turn, as the citation field sends them."""
    return lambda k: b.get(
        "/booking/charges/0", htmx=True, params={"charges.0.statute": prefixes[k % len(prefixes)]}
    )


def template_requests(browsers: dict[str, Browser], args: Any) -> list[Measured]:
    """The other hx-get and hx-post of the templates (screens built after this benchmark,
    such as the docket's refresh or the audit's "verify now"), by a literal path: each sent as
    HTMX (a POST with the CSRF token only) by the first role of its screen."""
    from pars.web.screens.jobs import JOBS

    out: list[Measured] = []
    for tpl, method, target in template_interactions():
        path = target.split("{%")[0]
        if method not in ("GET", "POST") or target.startswith(_COVERED) or "{{" in path:
            continue
        if path == "/audit/verify":  # a job: measured by verify_job, not while others run
            continue
        jobs = [j for j in JOBS if path == j.path or path.startswith(j.path + "/")]
        if not jobs:
            continue
        who = browsers[sorted(r.value for r in jobs[0].roles)[0]]
        m = Measured("htmx", f"{tpl}: hx-{method.lower()} {path}", who.username, method, path)
        out.append(measure(m, who, _hx(who, method, path), args.reps, args.warmup))
    return out


_POLL = re.compile(r'hx-get="(/audit/verify/[A-Za-z0-9_-]+)"')
VERIFY_POLL = "/audit/verify/{{ job.id }}"  # the progress fragment's hx-get (audit/_verifying.html)


def verify_job(browsers: dict[str, Browser], reps: int) -> tuple[list[Measured], list[float]]:
    """The audit's "verify now", a job (screens/audit_jobs.py): the press answers at once and
    the progress fragment polls, once a second in a browser, here every 50 ms. `reps` checks one
    after another, alone: the press, and the progress poll while the check runs in the same
    process (HTMX rows); and each whole check's wall time from the press to the result (s)."""
    b = browsers["auditor"]
    press = Measured("htmx", "audit/index.html: hx-post /audit/verify (starts the check)",
                     b.username, "POST", "/audit/verify")  # fmt: skip
    poll = Measured("htmx", "audit/_verifying.html: hx-get the check's progress", b.username,
                    "GET", VERIFY_POLL)  # fmt: skip
    whole: list[float] = []
    for _ in range(reps):
        began = time.perf_counter()
        r = b.request("POST", "/audit/verify", htmx=True)
        press.ms.append(b.hits[-1].ms)
        press.log_ms.append(b.hits[-1].log_ms)
        press.statuses[r.status_code] = press.statuses.get(r.status_code, 0) + 1
        press.size = b.hits[-1].size
        while (found := _POLL.search(r.text)) is not None:
            time.sleep(0.05)
            r = b.request("GET", found.group(1), htmx=True, headers={"X-PARS-Refresh": "auto"})
            if "Checking the log" in r.text:
                poll.ms.append(b.hits[-1].ms)
                poll.log_ms.append(b.hits[-1].log_ms)
                poll.statuses[r.status_code] = poll.statuses.get(r.status_code, 0) + 1
                poll.size = b.hits[-1].size
        if "Verified: the log is intact" not in r.text:
            raise RuntimeError("verify now did not verify the demo's log")
        whole.append(time.perf_counter() - began)
    return [press, poll], whole


# -- output ------------------------------------------------------------------------------------


def _ms(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1f}"


def table(rows: list[Measured]) -> str:
    head = ["kind", "screen or interaction", "role", "n", "p50 ms", "p95 ms", "max ms",
            "log p95", "status", ""]  # fmt: skip
    lines = [head]
    for m in rows:
        f = m.figures()
        logged = f["log_p95_ms"]
        flag = ""
        if m.kind == "htmx" and m.p95 >= HTMX_TARGET_MS:
            flag = f"p95 >= {HTMX_TARGET_MS:.0f} ms"
        flag = "; ".join(x for x in (flag, m.note) if x)
        statuses = ",".join(f"{s}" + (f"x{n}" if len(m.statuses) > 1 else "")
                            for s, n in sorted(m.statuses.items()))  # fmt: skip
        lines.append([m.kind, m.name, m.role, str(f["n"]), _ms(m.p50), _ms(m.p95),
                      _ms(max(m.ms, default=math.nan)), "-" if logged is None else f"{logged:.1f}",
                      statuses, flag])  # fmt: skip
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    right = {3, 4, 5, 6, 7}
    out = []
    for n, r in enumerate(lines):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        out.append("| " + " | ".join(cells) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def report_lines(rep: Any, narrative_chars: int) -> list[str]:
    seconds = rep.seconds(KEYS_PER_SECOND)
    typing = (rep.keys + rep.tabs) / KEYS_PER_SECOND
    server = [ms for _, ms, _ in rep.requests]
    met = "met" if seconds < REPORT_TARGET_S else "NOT met"
    lines = [
        f"typed: {rep.keys} keys in {len(rep.typed)} fields, {rep.tabs} Tabs, {rep.clicks} clicks "
        f"(narrative {narrative_chars} characters)",
        f"time: {typing:.1f} s of keys at {KEYS_PER_SECOND:g}/s + {rep.clicks} s of clicks = "
        f"{seconds:.1f} s (target < {REPORT_TARGET_S:.0f} s: {met})",
        f"server: {len(server)} requests as the officer went, {sum(server):.0f} ms in all, "
        f"slowest {max(server):.1f} ms",
        f"submitted: OTN {rep.otn}",
        "picked: " + "; ".join(rep.picks),
        "fields: " + ", ".join(f"{name.split('.', 1)[-1]} {n}" for name, _, n in rep.typed),
    ]
    return lines


@contextlib.contextmanager
def signed_in(timed: Timed, tap: LogTap, passwords: dict[str, str]) -> Iterator[dict[str, Browser]]:
    from pars.domain.roles import Role

    with contextlib.ExitStack() as stack:
        yield {r.value: stack.enter_context(browser(timed, tap, r.value, passwords[r.value]))
               for r in Role}  # fmt: skip


def profile(rows: list[Measured], timed: Timed, what: str) -> None:
    """Each row whose name contains `what`, again 20 times under cProfile (run_in_threadpool
    inlined, so one profile sees the request); the functions taking most time."""
    chosen = [m for m in rows if what.lower() in m.name.lower()]
    if not chosen:
        print(f"\n--profile {what!r}: no row matches")
        return
    for m in chosen:
        timed.profile = cProfile.Profile()
        with inline_threads():
            for k in range(20):
                m.step(k)
        prof, timed.profile = timed.profile, None
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)
        print(f"\n## profile: {m.name} ({m.method} {m.path}, {m.role}), 20 requests\n")
        print(out.getvalue())


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    from pars.services.app import Principal
    from pars.services.views import get_arrest
    from pars.web.app import create_app

    print(f"building the demo: {args.days} days x {args.per_day} arrests a day (seed {args.seed})")
    demo = build_demo(root, args.days, args.per_day, args.seed)
    print(demo.summary + f"\n(built in {demo.seconds:.0f} s)\n", flush=True)
    tap = LogTap.install()
    pars = demo_pars(demo)
    app = create_app(pars)
    timed = Timed(app)
    person = typical_person(pars)
    with signed_in(timed, tap, demo.passwords) as browsers, browser(timed, tap, "-", None) as anon:
        began = time.perf_counter()
        print(f"pages: {args.reps} requests each after {args.warmup} warm-up", flush=True)
        rows = pages(browsers, anon, app, args)
        print(f"interactions: {args.reps} requests each after {args.warmup} warm-up", flush=True)
        rows += interactions(browsers, person, args)
        rows += template_requests(browsers, args)
        polls, verify_s = verify_job(browsers, 5)
        rows += polls
        rep = write_report(browsers["officer"], person, args.narrative, args.max_tabs)
        seconds = time.perf_counter() - began
        view = get_arrest(pars, Principal("officer", "officer"), rep.arrest_id)
        if not rep.otn or view["otn"] != rep.otn or view["state"] != "submitted":
            raise RuntimeError(f"the report was not submitted: {view['state']}, OTN {rep.otn!r}")
        if args.profile:
            profile(rows, timed, args.profile)
    print(f"\n## server time per request (measured in {seconds:.0f} s)\n")
    print(table(rows))
    htmx_rows = [m for m in rows if m.kind == "htmx"]
    print("\nHTMX attributes in the templates:")
    listed = template_interactions()
    for tpl, method, target in listed:
        path = target.split("{%")[0]
        covered = target.startswith(_COVERED) or any(m.path in (path, target) for m in htmx_rows)
        print(f"  {tpl}: {method} {target}" + ("" if covered else "  <- NOT measured"))
    htmx = [m for m in rows if m.kind == "htmx"]
    slow = [m for m in htmx if m.p95 >= HTMX_TARGET_MS]
    bad = [m for m in rows if any(s >= 400 for s in m.statuses)]
    whole = ", ".join(f"{x:.2f}" for x in verify_s)
    print(f"\nverify now, the whole check from the press to the result (s): {whole}")
    print(f"\n## a typical arrest report ({', '.join(w for w, _ in CHARGES)})\n")
    print("\n".join(report_lines(rep, args.narrative)))
    print("\n## summary\n")
    worst = max(htmx, key=lambda m: m.p95)
    print(f"HTMX p95 < {HTMX_TARGET_MS:.0f} ms: " + ("met" if not slow else "NOT met")
          + f" (worst: {worst.name}, p95 {worst.p95:.1f} ms)")  # fmt: skip
    for m in slow:
        print(f"  over: {m.name}: p95 {m.p95:.1f} ms")
    verdict = "met" if rep.seconds(KEYS_PER_SECOND) < REPORT_TARGET_S else "NOT met"
    print(f"typical report < {REPORT_TARGET_S:.0f} s: {verdict} ({rep.seconds():.1f} s)")
    for m in bad:
        print(f"  NOTE: {m.name} ({m.path}, {m.role}) answered {m.statuses}")
    return {
        "demo": {"days": args.days, "per_day": args.per_day, "seed": args.seed,
                 "build_s": round(demo.seconds, 1)},
        "reps": args.reps, "warmup": args.warmup,
        "rows": [m.figures() for m in rows],
        "htmx_target_met": not slow,
        "verify_now_whole_check_s": [round(x, 2) for x in verify_s],
        "report": {"keys": rep.keys, "tabs": rep.tabs, "clicks": rep.clicks,
                   "seconds": round(rep.seconds(), 1), "target_met": verdict == "met",
                   "narrative_chars": args.narrative, "otn": rep.otn,
                   "requests": len(rep.requests),
                   "server_ms": round(sum(ms for _, ms, _ in rep.requests), 1),
                   "fields": [[n, k] for n, _, k in rep.typed], "picks": rep.picks},
        "templates": [{"template": t, "method": m, "path": p} for t, m, p in listed],
    }  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    assert __doc__ is not None
    p = argparse.ArgumentParser(prog="python -m bench.screens", description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=90, help="the demo's days of arrests")
    p.add_argument("--per-day", type=int, default=120, help="the demo's arrests a day")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--reps", type=int, default=50, help="timed requests per row")
    p.add_argument("--warmup", type=int, default=5, help="untimed requests before them")
    p.add_argument("--quick", action="store_true", help="7 days of demo, 20 reps, 3 warm-up")
    p.add_argument("--narrative", type=int, default=300, help="characters of the narrative")
    p.add_argument("--max-tabs", type=int, default=5, help="further than this, a click")
    p.add_argument("--profile", metavar="TEXT", help="profile the rows whose name has TEXT")
    p.add_argument("--json", action="store_true", help="all figures as JSON on the last line")
    args = p.parse_args(argv)
    if args.quick:
        args.days, args.reps, args.warmup = min(args.days, 7), min(args.reps, 20), 3
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print("# PARS screens benchmark (bench/screens.py)\n\n" + "\n".join(machine()) + "\n")
    with tempfile.TemporaryDirectory(prefix="pars-bench-screens-") as tmp:
        figures = run(args, Path(tmp))
    if args.json:
        print(json.dumps({"machine": machine(), **figures}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
