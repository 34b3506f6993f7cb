"""The job vocabulary every package shares: a job's status and the events its changes emit.

Two enums, because they answer two questions. ``JobStatus`` is where a job *is* (pending until
a worker takes it, running, then one of four final states); ``JobEventKind`` is what just
*happened* to it, and names the event: ``execution.job.<kind>``. ``queued`` and ``started`` are
the transitions into ``pending`` and ``running``; ``progress`` is a report while running; the
final kinds carry their status's name. Every job event's payload carries both, and its
``status`` is always ``kind.status`` (the state the transition entered), so a subscriber never
sees ``started`` with ``succeeded`` because the job finished before the event was built.

Execution's ``Job.status``, the ``execution.job.*`` events the workers emit and the typed
``atomiton.events.JobEvent`` all use these two enums; ``atomiton.execution`` and
``atomiton.events`` re-export them as the same objects.
"""

from __future__ import annotations

import enum

__all__ = ["JOB_EVENT_PREFIX", "JobEventKind", "JobStatus"]

JOB_EVENT_PREFIX = "execution.job."
"""Every job event's type is this prefix followed by its :class:`JobEventKind`."""


class JobStatus(enum.StrEnum):
    """Where a job is in its life; the value is the string used in events (``status``)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def is_final(self) -> bool:
        """True once the job can no longer change (succeeded, failed, cancelled, timed out)."""
        return self not in (JobStatus.PENDING, JobStatus.RUNNING)


class JobEventKind(enum.StrEnum):
    """What happened to a job; names its event ``execution.job.<kind>``."""

    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def status(self) -> JobStatus:
        """The status a job has right after this event (``queued`` -> ``pending`` ...)."""
        return _STATUS_AFTER[self]

    @property
    def event_type(self) -> str:
        """The event type this kind is emitted under: ``execution.job.<kind>``."""
        return JOB_EVENT_PREFIX + self.value


_STATUS_AFTER = {
    JobEventKind.QUEUED: JobStatus.PENDING,
    JobEventKind.STARTED: JobStatus.RUNNING,
    JobEventKind.PROGRESS: JobStatus.RUNNING,
    JobEventKind.SUCCEEDED: JobStatus.SUCCEEDED,
    JobEventKind.FAILED: JobStatus.FAILED,
    JobEventKind.CANCELLED: JobStatus.CANCELLED,
    JobEventKind.TIMED_OUT: JobStatus.TIMED_OUT,
}
