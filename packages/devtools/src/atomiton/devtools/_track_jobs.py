"""Attaching workers: one ``workers.add_job_listener(...)`` callback, removed on detach."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from atomiton.devtools._recorder import Recorder
from atomiton.platform import JobStatus

# The shared job vocabulary (atomiton.platform), as the strings the views hold.
_FINISHED = frozenset(status.value for status in JobStatus if status.is_final)
_FAILED = frozenset({JobStatus.FAILED.value, JobStatus.TIMED_OUT.value})


class WorkersLike(Protocol):
    """The part of ``atomiton.execution`` workers devtools uses."""

    def add_job_listener(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback(job)`` on every status or progress change; returns a remover."""
        ...


def _status(job: Any) -> str:
    status = getattr(job, "status", "unknown")
    return str(getattr(status, "value", status))


def job_to_dict(job: Any) -> dict[str, Any]:
    """Return the JSON-safe view of one job (id, name, status, progress)."""
    progress = getattr(job, "progress", None)
    current = getattr(progress, "current", None)
    total = getattr(progress, "total", None)
    percentage = getattr(progress, "percentage", None)
    error = None
    status = _status(job)
    if status in _FAILED and hasattr(job, "exception"):
        try:
            exc = job.exception(timeout=0)
        except BaseException as problem:  # a cancelled future raises here; report it as the error
            exc = problem
        error = None if exc is None else f"{type(exc).__name__}: {exc}"
    return {
        "id": str(getattr(job, "id", id(job))),
        "name": str(getattr(job, "name", "") or "job"),
        "status": status,
        "current": current,
        "total": total,
        "percentage": percentage,
        "error": error,
    }


class WorkersAttachment:
    """Records job status transitions on the timeline, progress in the jobs table, durations."""

    kind = "workers"

    def __init__(self, name: str, workers: WorkersLike, recorder: Recorder) -> None:
        self.name = name
        self.target = workers
        self._recorder = recorder
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()
        self._remove: Callable[[], None] | None = workers.add_job_listener(self._on_job)

    def _on_job(self, job: Any) -> None:
        view = job_to_dict(job)
        previous = self._recorder.update_job(view)
        status = view["status"]
        if previous is not None and previous["status"] == status:
            return  # a progress report: the jobs table shows it, the timeline stays readable
        now = time.monotonic()
        with self._lock:
            if status == JobStatus.RUNNING:
                self._started[view["id"]] = now
            started = self._started.pop(view["id"], None) if status in _FINISHED else None
        if status in _FINISHED:
            self._recorder.profiler.record(
                f"job.{view['name']}",
                None if started is None else now - started,
                error=status != JobStatus.SUCCEEDED,
            )
        data = {key: view[key] for key in ("id", "status", "current", "total", "error")}
        self._recorder.record("job", self.name, f"{view['name']} {status}", data)

    def detach(self) -> None:
        """Remove the job listener; idempotent."""
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()
