"""atomiton.execution: thread and process workers that are real Executors, jobs, and spawn().

See the package README for the whole public API with examples.
"""

from atomiton.execution._context import JobContext, current_job
from atomiton.execution._errors import (
    ExecutionError,
    JobTimeoutError,
    NotImportableError,
    NotInJobError,
    ProcessError,
    ProcessTimeoutError,
    SerializationError,
    WorkerCrashedError,
    WorkersShutdownError,
)
from atomiton.execution._job import Job, JobStatus, Progress
from atomiton.execution._observe import EventSink
from atomiton.execution._processes import ProcessWorkers
from atomiton.execution._provider import provide
from atomiton.execution._spawn import ProcessHandle, ProcessResult, spawn
from atomiton.execution._threads import ThreadWorkers
from atomiton.execution._version import __version__
from atomiton.execution._workers import Workers, WorkersStats, WorkerStats

__all__ = [
    "EventSink",
    "ExecutionError",
    "Job",
    "JobContext",
    "JobStatus",
    "JobTimeoutError",
    "NotImportableError",
    "NotInJobError",
    "ProcessError",
    "ProcessHandle",
    "ProcessResult",
    "ProcessTimeoutError",
    "ProcessWorkers",
    "Progress",
    "SerializationError",
    "ThreadWorkers",
    "WorkerCrashedError",
    "WorkerStats",
    "Workers",
    "WorkersShutdownError",
    "WorkersStats",
    "__version__",
    "current_job",
    "provide",
    "spawn",
]
