"""Who watches jobs: listeners (devtools) and an optional event bus, at no cost when unused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from atomiton.execution._job import Job

__all__ = ["EventSink", "JobObservers", "job_event_payload"]

logger = logging.getLogger(__name__)
EVENT_PREFIX = "execution.job."


class EventSink(Protocol):
    """The slice of an event bus the workers use (atomiton.events' EventBus fits it)."""

    def emit(self, type: str, data: dict[str, Any], /, *, source: str) -> object:
        """Publish ``data`` under the event ``type``."""
        ...


def job_event_payload(job: Job[Any]) -> dict[str, Any]:
    """The payload of every ``execution.job.*`` event: exactly the cross-package keys."""
    error: str | None = None
    if job.done() and not job.cancelled():
        exc = job.exception()
        if exc is not None:
            error = f"{type(exc).__name__}: {exc}"
    return {
        "job_id": job.id,
        "name": job.name,
        "status": job.status.value,
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
        """Tell every listener and the bus that ``job`` changed (``kind``: queued, started...)."""
        for listener in self._listeners:
            try:
                listener(job)
            except Exception:
                logger.exception("job listener %r failed on %r", listener, job)
        if self._events is not None:
            try:
                self._events.emit(EVENT_PREFIX + kind, job_event_payload(job), source="execution")
            except Exception:
                logger.exception("emitting %s for %r failed", EVENT_PREFIX + kind, job)
