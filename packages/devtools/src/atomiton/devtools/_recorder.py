"""The shared sink every attachment writes into: timeline, profile, recent events and jobs.

Attachments call these methods from whatever thread the observed component uses (a worker
manager thread, an event loop, the app's own threads), so every structure here is thread-safe and
bounded. ``revision`` grows on every change so the inspector knows when to send a new view.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from atomiton.devtools._profile import Profiler
from atomiton.devtools._timeline import EntryKind, Timeline, TimelineEntry


class Recorder:
    """Timeline + profiler + recent events + known jobs, with a change counter.

    Args:
        entry_limit: size of the timeline ring.
        event_limit: how many recent events the inspector's event stream keeps.
        job_limit: how many jobs (most recently changed) are kept.
    """

    def __init__(
        self, *, entry_limit: int = 10_000, event_limit: int = 500, job_limit: int = 200
    ) -> None:
        self.timeline = Timeline(entry_limit=entry_limit)
        self.profiler = Profiler()
        self.events: deque[dict[str, Any]] = deque(maxlen=event_limit)
        self.jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._job_limit = job_limit
        self._lock = threading.Lock()
        self._revision = itertools.count(1)
        self.revision = 0
        self.paused = False

    def touch(self) -> None:
        """Note that something shown changed."""
        self.revision = next(self._revision)

    def record(
        self,
        kind: EntryKind,
        source: str,
        label: str,
        data: Mapping[str, Any] | None = None,
        *,
        position: int | None = None,
        origin: str = "",
        timestamp: float | None = None,
        before: Mapping[str, Any] | None = None,
    ) -> TimelineEntry | None:
        """Append a timeline entry and bump the revision; nothing while recording is paused."""
        if self.paused:
            self.touch()  # not recorded, but what the page shows (values, counts) changed
            return None
        entry = self.timeline.record(
            kind,
            source,
            label,
            data,
            position=position,
            origin=origin,
            timestamp=timestamp,
            before=before,
        )
        self.touch()
        return entry

    def pause(self, paused: bool) -> bool:
        """Stop (True) or resume (False) recording; return whether that changed anything.

        While paused, nothing reaches the timeline, the event stream or the stores' histories
        (the app itself runs on untouched); jobs and counts shown stay live.
        """
        changed = self.paused != paused
        self.paused = paused
        if changed:
            self.touch()
        return changed

    def add_event(self, event: dict[str, Any]) -> None:
        """Keep one event (JSON-safe dict) for the inspector's event stream."""
        if self.paused:
            return
        with self._lock:
            self.events.append(event)

    def recent_events(self) -> list[dict[str, Any]]:
        """Return the kept events, oldest first."""
        with self._lock:
            return list(self.events)

    def update_job(self, job: dict[str, Any]) -> dict[str, Any] | None:
        """Store the latest view of a job; return its previous view (None if new)."""
        with self._lock:
            previous = self.jobs.pop(job["id"], None)
            self.jobs[job["id"]] = job
            while len(self.jobs) > self._job_limit:
                self.jobs.popitem(last=False)
        self.touch()
        return previous

    def known_jobs(self) -> list[dict[str, Any]]:
        """Return the kept jobs, least recently changed first."""
        with self._lock:
            return list(self.jobs.values())
