"""What ThreadWorkers and ProcessWorkers share: the Executor face, schedule, map, stats, hooks."""

from __future__ import annotations

import abc
import itertools
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from atomiton.execution._errors import WorkersShutdownError
from atomiton.execution._job import Job, JobStatus
from atomiton.execution._observe import EventSink, JobObservers

__all__ = ["WorkerStats", "Workers", "WorkersStats"]

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """One worker (a thread or a process) as seen by ``stats()``.

    Attributes:
        id: The worker's name (thread name, or ``process-<n>``).
        pid: The worker process id; None for a thread.
        busy: True while it runs a job.
        tasks: Jobs it finished (succeeded or failed).
        succeeded: Jobs it ran that returned.
        failed: Jobs it ran that raised.
        job_id: The id of the job it runs now, or None.
    """

    id: str
    pid: int | None
    busy: bool
    tasks: int
    succeeded: int
    failed: int
    job_id: str | None = None


@dataclass(frozen=True, slots=True)
class WorkersStats:
    """Counters of a pool since it was created.

    Attributes:
        queued: Jobs waiting for a worker.
        running: Jobs running now.
        succeeded: Jobs that returned a result.
        failed: Jobs that raised (crashed jobs included).
        crashed: Jobs whose worker process died under them.
        cancelled: Jobs cancelled before or while running.
        timed_out: Jobs that overran their timeout.
        workers: One entry per live worker.
    """

    queued: int
    running: int
    succeeded: int
    failed: int
    crashed: int
    cancelled: int
    timed_out: int
    workers: tuple[WorkerStats, ...]


def job_name(fn: Callable[..., Any]) -> str:
    """The default job name: the callable's qualified name."""
    name = getattr(fn, "__qualname__", None)
    return name if isinstance(name, str) else type(fn).__name__


def check_timeout(timeout: float | None, what: str = "timeout") -> float | None:
    """Validate a number of seconds, naming the bad value; None or ``math.inf`` mean no limit.

    Longer than ``threading.TIMEOUT_MAX`` (about 292 years; ``math.inf`` included) is no limit
    too: the waits below cannot take such a number, and used to fail in a loop on it.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"{what} must be a number of seconds or None, got {timeout!r}")
    if not timeout > 0:  # NaN too
        raise ValueError(f"{what} must be > 0 seconds, got {timeout!r}")
    return None if timeout > threading.TIMEOUT_MAX else float(timeout)


def check_pool_size(max_workers: int, min_workers: int) -> None:
    """Validate pool sizes, naming the bad value."""
    if isinstance(max_workers, bool) or not isinstance(max_workers, int):
        raise ValueError(f"max_workers must be an int greater than 0, got {max_workers!r}")
    if max_workers < 1:  # the standard pools' message
        raise ValueError(f"max_workers must be greater than 0, got {max_workers!r}")
    if isinstance(min_workers, bool) or not isinstance(min_workers, int) or min_workers < 0:
        raise ValueError(f"min_workers must be an int >= 0, got {min_workers!r}")
    if min_workers > max_workers:
        raise ValueError(f"min_workers ({min_workers}) must not exceed max_workers ({max_workers})")


class Workers(Executor, abc.ABC):
    """The shared face of ThreadWorkers and ProcessWorkers: a ``concurrent.futures.Executor``."""

    def __init__(self, *, events: EventSink | None, history_limit: int) -> None:
        if (
            isinstance(history_limit, bool)
            or not isinstance(history_limit, int)
            or history_limit < 0
        ):
            raise ValueError(f"history_limit must be an int >= 0, got {history_limit!r}")
        self._observers = JobObservers(events)
        # Weak: the history must not keep a finished job (and its result) alive; a job still
        # queued or running is held by the pool, a finished one only by whoever kept it.
        # (A pool that appends a Job itself keeps it strongly; both forms are listed.)
        self._recent: deque[weakref.ref[Job[Any]] | Job[Any]] = deque(maxlen=history_limit)
        self._shutdown = False
        self._count_lock = threading.Lock()
        self._job_lock = threading.Lock()  # guards every job's state changes (see _job.py)
        self._cancelled = 0
        self._timed_out = 0

    # --- the Executor contract ---------------------------------------------------------------

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Job[T]:
        """Run ``fn(*args, **kwargs)`` on a worker, exactly as ``Executor.submit`` does.

        Returns:
            The :class:`Job` (a Future) that will hold the result.

        Raises:
            WorkersShutdownError: The pool was shut down (a RuntimeError, as Executor says).
        """
        return self._submit(fn, args, kwargs, None, None)

    def schedule(
        self,
        fn: Callable[..., T],
        *,
        args: Iterable[Any] = (),
        kwargs: dict[str, Any] | None = None,
        timeout: float | None = None,
        name: str | None = None,
    ) -> Job[T]:
        """Like ``submit`` with the options a job can have.

        Args:
            fn: The callable to run.
            args: Positional arguments for ``fn``.
            kwargs: Keyword arguments for ``fn``.
            timeout: Seconds the job may run; then it fails with ``JobTimeoutError`` (a process
                job's worker is killed and replaced; a thread job is marked timed out). None or
                ``math.inf``: no limit.
            name: The job's name in status, events and stats (default: ``fn``'s qualified name).

        Returns:
            The :class:`Job`.
        """
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, got {name!r}")
        return self._submit(fn, tuple(args), dict(kwargs or {}), check_timeout(timeout), name)

    def map(
        self,
        fn: Callable[..., T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int | None = None,
    ) -> Iterator[T]:
        """``fn`` over the zipped ``iterables``, results in order, as ``Executor.map`` does.

        Every call is submitted at once; iterating waits for each result in turn. ``timeout``
        counts from this call: a result not ready by then raises ``TimeoutError``.

        Args:
            fn: The callable.
            *iterables: Argument sources, zipped like the builtin ``map``.
            timeout: Seconds from now for all results, or None to wait as long as needed.
            chunksize: Items sent to a process worker per job; None chooses it automatically
                (about four chunks per worker). Thread workers ignore it.

        Returns:
            An iterator over the results.
        """
        if chunksize is not None and (
            isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1
        ):
            raise ValueError(f"chunksize must be an int >= 1 or None, got {chunksize!r}")
        end = None if timeout is None else timeout + time.monotonic()
        jobs, chunked = self._map_submit(fn, iterables, chunksize)
        results = _results_in_order(jobs, end)
        return _flatten(results) if chunked else results

    @abc.abstractmethod
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting jobs, run what is queued (unless ``cancel_futures``), stop the workers.

        Args:
            wait: Block until every queued and running job finished and the workers stopped.
            cancel_futures: Cancel the jobs that have not started yet.
        """

    def close(self) -> None:
        """``shutdown(wait=True)``: what containers call on cleanup."""
        self.shutdown(wait=True)

    # --- hooks for devtools --------------------------------------------------------------------

    def add_job_listener(self, callback: Callable[[Job[Any]], object]) -> Callable[[], None]:
        """Call ``callback(job)`` on every status or progress change of every job.

        Returns:
            A function that removes the listener again.
        """
        return self._observers.add(callback)

    def jobs(self) -> list[Job[Any]]:
        """The most recent jobs (of the last ``history_limit`` submitted), oldest first.

        Only jobs that still exist are listed: those queued or running, and finished ones that
        someone still holds. The pool keeps no finished job alive (nor its result) for this.
        """
        jobs = []
        for entry in list(self._recent):
            job = entry if isinstance(entry, Job) else entry()
            if job is not None:
                jobs.append(job)
        return jobs

    def _remember(self, job: Job[Any]) -> None:
        """Add ``job`` to the ``jobs()`` history without keeping it alive."""
        self._recent.append(weakref.ref(job))

    # --- shared internals ----------------------------------------------------------------------

    @property
    def _observed(self) -> bool:
        return self._observers.active

    def _job_changed(self, job: Job[Any], kind: str) -> None:
        self._observers.notify(job, kind)

    def _count_final(self, status: JobStatus) -> None:
        with self._count_lock:
            if status is JobStatus.CANCELLED:
                self._cancelled += 1
            else:
                self._timed_out += 1

    def _refuse_if_shut_down(self) -> None:
        if self._shutdown:
            raise WorkersShutdownError(
                f"cannot submit to {type(self).__name__} after shutdown(); create a new pool"
            )

    @abc.abstractmethod
    def stats(self) -> WorkersStats:
        """Counters of the pool and of each live worker."""

    @abc.abstractmethod
    def _submit(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
        name: str | None,
    ) -> Job[T]:
        """Create, record and queue a job."""

    def _map_submit(
        self, fn: Callable[..., Any], iterables: tuple[Iterable[Any], ...], chunksize: int | None
    ) -> tuple[list[Job[Any]], bool]:
        return [
            self._submit(fn, args, {}, None, None) for args in zip(*iterables, strict=False)
        ], False

    @abc.abstractmethod
    def _job_cancelled(self, job: Job[Any], was_running: bool) -> None:
        """Count a cancelled job and stop it if it was running."""


def _flatten(chunks: Generator[list[Any], None, None]) -> Iterator[Any]:
    # A generator (so the iterator has close(), as Executor.map's does); chain flattens in C.
    try:
        yield from itertools.chain.from_iterable(map(_pop_in_order, chunks))
    finally:
        chunks.close()


def _pop_in_order(chunk: list[Any]) -> Iterator[Any]:
    """A chunk's items in order, each removed from it as it is taken (all in C).

    The chunk must not keep an item the caller already received alive (CPython's
    ``test_free_reference``), so the items are popped from the reversed list, not iterated.
    """
    chunk.reverse()
    return map(chunk.pop, itertools.repeat(-1, len(chunk)))


def _results_in_order(jobs: list[Job[Any]], end: float | None) -> Generator[Any, None, None]:
    # A generator of its own so that the jobs are submitted when map() is called. No local holds
    # a job or a result across a yield: the caller alone decides how long a result lives.
    try:
        jobs.reverse()
        while jobs:
            if end is None:
                yield _result_or_cancel(jobs.pop(), None)
            else:
                yield _result_or_cancel(jobs.pop(), end - time.monotonic())
    finally:
        # As Executor.map: abandoning the iterator (or a timeout) cancels what has not started.
        for job in jobs:
            job._cancel(only_pending=True)


def _result_or_cancel(job: Job[Any], timeout: float | None) -> Any:
    try:
        return job.result(timeout)
    except BaseException:
        job._cancel(only_pending=True)  # it left the list: the generator's finally misses it
        raise
    finally:
        del job  # a raised error's traceback keeps this frame: it must not keep the job
