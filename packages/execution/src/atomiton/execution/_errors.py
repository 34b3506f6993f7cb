"""The atomiton error hierarchy of this package: every error it raises derives from ExecutionError.

::

    ExecutionError
    ├── WorkerCrashedError        (a worker process died while running the job)
    ├── JobTimeoutError           (also a TimeoutError: the job overran its timeout=)
    ├── WorkersShutdownError      (also a RuntimeError: submit after shutdown, as Executor says)
    ├── NotInJobError             (also a RuntimeError: current_job() outside a job)
    ├── NotImportableError        (also a TypeError: a process job's callable cannot be imported)
    ├── SerializationError        (also a TypeError: an argument or result cannot be pickled)
    └── ProcessError              (spawn(): the program could not be run or managed)
        └── ProcessTimeoutError   (also a TimeoutError: the program overran its timeout)

Cancelled jobs raise :class:`concurrent.futures.CancelledError`, exactly as a stdlib Future does.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.execution._spawn import ProcessResult


class ExecutionError(Exception):
    """Base class of every error raised by atomiton.execution."""


class WorkerCrashedError(ExecutionError):
    """The worker process running a job died (os._exit, a signal, a segfault, out of memory).

    Only the job(s) that worker was running fail with this error; the pool replaces the worker.
    """


class JobTimeoutError(ExecutionError, TimeoutError):
    """A job ran longer than its ``timeout=``; a process job's worker was killed and replaced."""


class WorkersShutdownError(ExecutionError, RuntimeError):
    """A job was submitted after ``shutdown()``; create a new pool to run more work."""


class NotInJobError(ExecutionError, RuntimeError):
    """``current_job()`` was called outside a job submitted to ThreadWorkers or ProcessWorkers."""


class NotImportableError(ExecutionError, TypeError):
    """A process job's callable cannot be imported by the worker (a lambda, a nested function...).

    Define the function at module level in an importable module, or use ThreadWorkers.
    """


class SerializationError(ExecutionError, TypeError):
    """An argument or a result cannot be pickled to cross the process boundary."""


class ProcessError(ExecutionError):
    """A program started with ``spawn()`` could not be run or managed."""


class ProcessTimeoutError(ProcessError, TimeoutError):
    """A program started with ``spawn(timeout=...)`` overran its timeout and was killed.

    Attributes:
        result: What the program wrote before it was killed, and its exit code.
    """

    result: ProcessResult | None = None
