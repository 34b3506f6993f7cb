"""current_job(): what code running inside a job can ask about itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from atomiton.execution._errors import NotInJobError
from atomiton.execution._job import Job, check_progress

__all__ = ["JobContext", "current_job"]

#: The job the current thread is running: a Job (thread workers) or a JobContext (process worker).
_running = threading.local()


class JobContext:
    """The running job as seen from inside it; get it with :func:`current_job`.

    Attributes:
        id: The job's id (the same as ``Job.id`` on the caller's side).
        name: The job's name.
    """

    __slots__ = ("_is_stopping", "_send_progress", "id", "name")

    def __init__(
        self,
        job_id: str,
        name: str,
        send_progress: Callable[[float, float | None], None],
        is_stopping: Callable[[], bool],
    ) -> None:
        self.id = job_id
        self.name = name
        self._send_progress = send_progress
        self._is_stopping = is_stopping

    def __repr__(self) -> str:
        return f"<JobContext {self.id} {self.name!r}>"

    def report_progress(self, current: float, total: float | None = None) -> None:
        """Report how far the job got; the caller sees it as ``job.progress`` and callbacks.

        From a process worker the report crosses the process boundary through the worker's pipe.

        Args:
            current: Units done so far (>= 0).
            total: Units in all (> 0), or None when unknown.

        Raises:
            TypeError: ``current`` or ``total`` is not a number.
            ValueError: ``current`` is negative or ``total`` is not positive.
        """
        value, whole = check_progress(current, total)
        self._send_progress(value, whole)

    @property
    def cancelled(self) -> bool:
        """True once the caller cancelled the job or it timed out: stop early if you can.

        Thread jobs cannot be stopped from outside, so long loops should check this flag. A
        process job is stopped by killing its worker, so there this stays False.
        """
        return self._is_stopping()


def _never() -> bool:
    return False


def process_context(
    job_id: str, name: str, send: Callable[[float, float | None], None]
) -> JobContext:
    """The context of a job running in this (worker) process."""
    return JobContext(job_id, name, send, _never)


def set_running(current: Job[Any] | JobContext | None) -> None:
    """Record which job this thread runs now (None when it finished)."""
    _running.current = current


def current_job() -> JobContext:
    """The job the calling code runs in, for progress reports and cooperative cancellation.

    Returns:
        The running job's :class:`JobContext`.

    Raises:
        NotInJobError: Called outside a job run by ThreadWorkers or ProcessWorkers.
    """
    current = getattr(_running, "current", None)
    if current is None:
        raise NotInJobError(
            "current_job() was called outside a job: call it from a function submitted to "
            "ThreadWorkers or ProcessWorkers"
        )
    if isinstance(current, JobContext):
        return current
    job = current
    return JobContext(job.id, job.name, job._report, job._is_stopping)
