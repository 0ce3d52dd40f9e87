"""`pars demo` as a new user runs it: seconds from starting the command until its screens answer
(the figure of issue 11 item 7: target within 60 s on two cores), until the whole history is
built, and the same build without serving (`--no-serve`) beside it.

    uv run python -m bench.demo [--days 90] [--per-day 120] [--runs 1] [--quiet-wait 15] [--json]

Each run starts `python -m pars.cli demo` in a fresh data directory on a free port, polls
`GET /signin` every 50 ms until it answers 200 (and checks that the page says the build is
under way), then reads the command's output for the line that says the build is done.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.intake import ROOT, _free_port, _log, _markdown, machine, wait_quiet

BUILT = "The demo is built"


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "PARS_DATA_DIR": str(data_dir), "PARS_LOG_LEVEL": "warning"}


def serve_run(days: int, per_day: int) -> dict[str, Any]:
    """One `pars demo` that serves: seconds until its first page, and until it is built."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="pars-bench-demo-") as tmp:
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "pars.cli", "demo", "--days", str(days),
             "--per-day", str(per_day), "--port", str(port)],
            cwd=ROOT, env=_env(Path(tmp)), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        built = threading.Event()
        arrests: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("PARS demo:"):
                    arrests.append(line.split()[2])
                if line.startswith(BUILT):
                    built.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            serving, notice = None, False
            while serving is None:
                if proc.poll() is not None:
                    raise SystemExit(f"pars demo exited with {proc.returncode} before serving")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/signin", timeout=5) as r:
                        if r.status == 200:
                            serving = time.monotonic() - began
                            notice = "still being built" in r.read().decode()
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.05)
            if not built.wait(1800):
                raise SystemExit("pars demo did not finish its build in 30 minutes")
            done = time.monotonic() - began
        finally:
            proc.terminate()
            proc.wait(30)
    return {"serving_s": serving, "built_s": done, "notice_shown": notice,
            "arrests": arrests[0] if arrests else "?"}  # fmt: skip


def build_run(days: int, per_day: int) -> dict[str, Any]:
    """`pars demo --no-serve`: seconds until the command returns."""
    with tempfile.TemporaryDirectory(prefix="pars-bench-demo-") as tmp:
        began = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "pars.cli", "demo", "--no-serve", "--days", str(days),
             "--per-day", str(per_day)],
            cwd=ROOT, env=_env(Path(tmp)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            check=True,
        )  # fmt: skip
        return {"no_serve_s": time.monotonic() - began}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--per-day", type=int, default=120)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--quiet-wait", type=float, default=15.0)
    p.add_argument("--no-build-only", action="store_true", help="skip the --no-serve runs")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object last")
    args = p.parse_args(argv)
    notes = machine()
    runs: list[dict[str, Any]] = []
    for n in range(args.runs):
        wait_quiet(args.quiet_wait)
        _log(f"run {n + 1}: pars demo (serving)")
        run = serve_run(args.days, args.per_day)
        if not args.no_build_only:
            wait_quiet(args.quiet_wait)
            _log(f"run {n + 1}: pars demo --no-serve")
            run |= build_run(args.days, args.per_day)
        runs.append(run)
    rows = [["run", "arrests", "serving s", "page says it is building", "built s", "--no-serve s"]]
    for n, r in enumerate(runs, 1):
        no_serve = f"{r['no_serve_s']:.1f}" if "no_serve_s" in r else "-"
        notice = "yes" if r["notice_shown"] else "no"
        rows.append([str(n), r["arrests"], f"{r['serving_s']:.1f}", notice,
                     f"{r['built_s']:.1f}", no_serve])  # fmt: skip
    print("\n".join(notes))
    print(f"\npars demo --days {args.days} --per-day {args.per_day}\n")
    print(_markdown(rows))
    if args.json:
        summary = {
            "days": args.days,
            "per_day": args.per_day,
            "runs": runs,
            "serving_s_median": statistics.median(r["serving_s"] for r in runs),
            "built_s_median": statistics.median(r["built_s"] for r in runs),
            "machine": notes,
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
