"""How far `pars demo`'s build has come, for the pages and the terminal while it serves.

The build writes, the server reads: one `BuildStatus` is shared between the build's thread and
the web application, which shows `notice()` on every page and refuses changes while it is not
None (`pars.web.read_only`).
"""

from __future__ import annotations

import threading
import time

__all__ = ["BuildStatus"]


class BuildStatus:
    """Simulated days done, arrests reported, and whether the build ended (or failed)."""

    def __init__(self, days: int) -> None:
        self.days = days
        self._lock = threading.Lock()
        self._began = time.monotonic()
        self._day = self._arrests = 0
        self._done = False
        self._failed: str | None = None

    def progress(self, day: int, arrests: int) -> None:
        with self._lock:
            self._day, self._arrests = day, arrests

    def finished(self) -> None:
        with self._lock:
            self._done = True

    def failed(self, error: str) -> None:
        with self._lock:
            self._failed = error

    @property
    def done(self) -> bool:
        with self._lock:
            return self._done

    def notice(self) -> str | None:
        """Why changes are refused for now (None once the build is done)."""
        with self._lock:
            if self._done:
                return None
            if self._failed is not None:
                return (
                    f"The demo's build stopped ({self._failed}); see the terminal that runs"
                    " `pars demo`. What was built can be read; changes are refused."
                )
            left = ""
            if self._day:
                seconds = (time.monotonic() - self._began) * (self.days - self._day) / self._day
                left = f", about {_duration(seconds)} to go"
            return (
                f"This demo is still being built: day {self._day} of {self.days},"
                f" {self._arrests:,} arrests so far{left}. You can sign in and look around;"
                " changes are refused until it is done."
            )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(5, round(seconds / 5) * 5)} seconds"
    return f"{round(seconds / 60)} minutes"
