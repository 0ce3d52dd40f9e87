""" "Verify now" as a job: recomputing the whole log takes seconds (about 1.4 s per 100,000
entries here), so the screen starts the check in a thread of this process and shows its
progress, polling once a second, instead of holding the request until it ends.

One check runs at a time per process: a second auditor who asks meanwhile is shown the running
one (who started it, how far it is) rather than starting a second pass over the same log. A
finished check is kept for `KEEP` so that its result can still be fetched; the check itself
is audited by `services.audit_search.verify_now` (`audit:verified`) under the auditor who
started it. A poll that names a check this process does not hold (it restarted, or a proxy sent
the poll to another process) is told so in words, with where the outcome is recorded.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from pars.services import audit_search as svc
from pars.services.app import Pars, Principal

__all__ = ["KEEP", "Job", "VerifyJobs"]

KEEP = timedelta(minutes=15)
log = structlog.get_logger("pars.web")


@dataclass
class Job:
    id: str
    by: str
    started: datetime
    done: int = 0
    total: int = 0
    result: dict[str, Any] | None = None
    failed: bool = False
    ended: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def running(self) -> bool:
        return self.result is None and not self.failed

    def progress(self, done: int, total: int) -> None:
        with self._lock:
            self.done, self.total = done, total

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            percent = int(100 * self.done / self.total) if self.total else 0
            return {
                "id": self.id,
                "by": self.by,
                "started": self.started,
                "done": self.done,
                "total": self.total,
                "percent": percent,
                "running": self.running,
                "failed": self.failed,
            }


class VerifyJobs:
    """The checks of this process, by id (an unguessable token: the poll's URL)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, pars: Pars, who: Principal) -> Job:
        """The running check, or a new one started now in a thread of its own."""
        now = pars.clock.now()
        with self._lock:
            for jid, job in list(self._jobs.items()):
                if job.ended is not None and now - job.ended > KEEP:
                    del self._jobs[jid]
            running = next((j for j in self._jobs.values() if j.running), None)
            if running is not None:
                return running
            job = Job(secrets.token_urlsafe(16), who.username, now)
            self._jobs[job.id] = job
        threading.Thread(
            target=self._run, args=(pars, who, job), name="pars-verify", daemon=True
        ).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    @staticmethod
    def _run(pars: Pars, who: Principal, job: Job) -> None:
        try:
            result = svc.verify_now(pars, who, progress=job.progress)
        except Exception as e:  # verify_now reports a broken log; this is the process failing
            log.error("audit_verify_job_failed", error=type(e).__name__)
            job.failed = True
        else:
            job.result = result
        job.ended = pars.clock.now()
