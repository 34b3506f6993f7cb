"""Who watches jobs: listeners (devtools) and an optional event bus, at no cost when unused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from atomiton.execution._job import Job
from atomiton.platform import EventSink, JobEventKind

# EventSink is atomiton.platform's, re-exported for the pools that import it from here.
__all__ = ["EventSink", "JobObservers", "job_event_payload"]

logger = logging.getLogger(__name__)


def job_event_payload(job: Job[Any], kind: JobEventKind) -> dict[str, Any]:
    """The payload of the ``execution.job.<kind>`` event: exactly the cross-package keys.

    ``status`` is the status ``kind`` leaves the job in, not ``job.status`` read now: a job
    may already have finished when its ``started`` event is built.
    """
    error: str | None = None
    if job.done() and not job.cancelled():
        exc = job.exception()
        if exc is not None:
            error = f"{type(exc).__name__}: {exc}"
    return {
        "job_id": job.id,
        "name": job.name,
        "kind": kind.value,
        "status": kind.status.value,
        "current": job._current,
        "total": job._total,
        "error": error,
    }


class JobObservers:
    """Job listeners and the event bus of one pool; pools check ``active`` before calling."""

    def __init__(self, events: EventSink | None) -> None:
        self._events = events
        self._listeners: tuple[Callable[[Job[Any]], object], ...] = ()
        self._lock = threading.Lock()
        self.active = events is not None

    def add(self, callback: Callable[[Job[Any]], object]) -> Callable[[], None]:
        """Add a listener; returns the function that removes it again."""
        if not callable(callback):
            raise TypeError(f"add_job_listener() needs a callable, got {callback!r}")
        with self._lock:
            self._listeners = (*self._listeners, callback)
            self.active = True

        def remove() -> None:
            with self._lock:
                listeners = list(self._listeners)
                if callback in listeners:
                    listeners.remove(callback)
                self._listeners = tuple(listeners)
                self.active = bool(self._listeners) or self._events is not None

        return remove

    def notify(self, job: Job[Any], kind: str) -> None:
        """Tell every listener and the bus that ``job`` changed (``kind``: a JobEventKind)."""
        for listener in self._listeners:
            try:
                listener(job)
            except Exception:
                logger.exception("job listener %r failed on %r", listener, job)
        if self._events is not None:
            event_kind = JobEventKind(kind)
            try:
                self._events.emit(
                    event_kind.event_type, job_event_payload(job, event_kind), source="execution"
                )
            except Exception:
                logger.exception("emitting %s for %r failed", event_kind.event_type, job)
