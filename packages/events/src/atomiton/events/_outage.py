"""Reporting a server outage without flooding ``on_error``: the first failure, then a reminder.

A driver that retries every 0.25 s would otherwise report four errors a second for as long as
the server is down. :class:`OutageReports` passes on the first failure of an outage, then at most
one every ``every`` seconds (saying how many attempts failed meanwhile), so an outage is never
silent and a long one stays readable. ``recovered()`` ends the outage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["OutageReports"]


class OutageReports:
    """Throttles the failure reports of one connection (thread-safe).

    Args:
        report: Where a report goes (a message; the transport adds the server).
        every: Seconds between reports while the outage lasts.
        clock: Monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        report: Callable[[str], None],
        *,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report = report
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._last_report: float | None = None

    def failed(self, message: str) -> None:
        """One more failed attempt; reported if it is the first or the last report is old."""
        with self._lock:
            self._failures += 1
            now = self._clock()
            if self._last_report is not None and now - self._last_report < self._every:
                return
            self._last_report = now
            failures = self._failures
        suffix = "" if failures == 1 else f" ({failures} failed attempts so far)"
        self._report(message + suffix)

    def recovered(self) -> None:
        """The connection works again: the next failure starts a new outage."""
        with self._lock:
            self._failures = 0
            self._last_report = None
