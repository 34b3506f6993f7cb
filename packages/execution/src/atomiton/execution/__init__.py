"""atomiton.execution: thread and process workers that are real Executors, jobs, and spawn().

Importing this package loads nothing but this module: each public name is imported from its
private module on first access (PEP 562 ``__getattr__``). That keeps a worker process's start
cheap, since it only needs the worker loop. See the package README for the whole public API.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.execution._context import JobContext as JobContext
    from atomiton.execution._context import current_job as current_job
    from atomiton.execution._dask import DaskWorkers as DaskWorkers
    from atomiton.execution._errors import ExecutionError as ExecutionError
    from atomiton.execution._errors import JobTimeoutError as JobTimeoutError
    from atomiton.execution._errors import NotImportableError as NotImportableError
    from atomiton.execution._errors import NotInJobError as NotInJobError
    from atomiton.execution._errors import ProcessError as ProcessError
    from atomiton.execution._errors import ProcessTimeoutError as ProcessTimeoutError
    from atomiton.execution._errors import SerializationError as SerializationError
    from atomiton.execution._errors import WorkerCrashedError as WorkerCrashedError
    from atomiton.execution._errors import WorkersShutdownError as WorkersShutdownError
    from atomiton.execution._job import Job as Job
    from atomiton.execution._job import JobEventKind as JobEventKind
    from atomiton.execution._job import JobStatus as JobStatus
    from atomiton.execution._job import Progress as Progress
    from atomiton.execution._observe import EventSink as EventSink
    from atomiton.execution._processes import ProcessWorkers as ProcessWorkers
    from atomiton.execution._provider import provide as provide
    from atomiton.execution._spawn import ProcessHandle as ProcessHandle
    from atomiton.execution._spawn import ProcessResult as ProcessResult
    from atomiton.execution._spawn import spawn as spawn
    from atomiton.execution._threads import ThreadWorkers as ThreadWorkers
    from atomiton.execution._version import __version__ as __version__
    from atomiton.execution._workers import Workers as Workers
    from atomiton.execution._workers import WorkersStats as WorkersStats
    from atomiton.execution._workers import WorkerStats as WorkerStats

__all__ = [
    "DaskWorkers",
    "EventSink",
    "ExecutionError",
    "Job",
    "JobContext",
    "JobEventKind",
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

# Public name -> private module that defines it.
_HOME = {
    "DaskWorkers": "_dask",
    "EventSink": "_observe",
    "ExecutionError": "_errors",
    "Job": "_job",
    "JobContext": "_context",
    "JobEventKind": "_job",
    "JobStatus": "_job",
    "JobTimeoutError": "_errors",
    "NotImportableError": "_errors",
    "NotInJobError": "_errors",
    "ProcessError": "_errors",
    "ProcessHandle": "_spawn",
    "ProcessResult": "_spawn",
    "ProcessTimeoutError": "_errors",
    "ProcessWorkers": "_processes",
    "Progress": "_job",
    "SerializationError": "_errors",
    "ThreadWorkers": "_threads",
    "WorkerCrashedError": "_errors",
    "WorkerStats": "_workers",
    "Workers": "_workers",
    "WorkersShutdownError": "_errors",
    "WorkersStats": "_workers",
    "__version__": "_version",
    "current_job": "_context",
    "provide": "_provider",
    "spawn": "_spawn",
}


# Hidden from type checkers so a misspelt name is still a type error for users.
if not TYPE_CHECKING:
    from atomiton.platform import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
