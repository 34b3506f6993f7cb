"""ProcessWorkers: a process pool that survives crashes, kills overrunning jobs and is fast.

The pool's face lives here; its state and workers in ``_pool_state.py``, its two threads in
``_dispatcher.py`` and ``_reader.py`` (the design is described in ``_pool_state.py``). Jobs are
pickled in ``submit()``, on the caller's thread, so a lambda or an unpicklable argument is an
error there and then, never a hung job.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import multiprocessing.connection
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from atomiton.execution._dispatcher import Dispatcher
from atomiton.execution._errors import NotImportableError, SerializationError
from atomiton.execution._exit import run_pending_at_exit
from atomiton.execution._job import Job, JobStatus
from atomiton.execution._observe import EventSink
from atomiton.execution._platform import cpu_count, default_start_method
from atomiton.execution._pool_state import _PROTOCOL, _dumps, _Worker
from atomiton.execution._reader import Reader
from atomiton.execution._worker import SKIP, run_chunk
from atomiton.execution._workers import (
    WorkersStats,
    WorkerStats,
    check_pool_size,
    check_timeout,
    job_name,
)
from atomiton.platform import JobEventKind

__all__ = ["ProcessWorkers"]

T = TypeVar("T")


class ProcessWorkers(Dispatcher, Reader):
    """A pool of worker processes running jobs: a drop-in ``concurrent.futures.Executor``.

    Args:
        max_workers: Most processes at once (default: the effective CPU count from
            ``atomiton.platform.capabilities()``).
        min_workers: Processes started at once and kept alive when idle.
        idle_timeout: Seconds an idle process above ``min_workers`` lives before it is retired
            (None or ``math.inf``: never).
        max_tasks_per_worker: Jobs a process runs before it is replaced (None: no limit).
        start_method: "fork", "forkserver" or "spawn" (default: from ``capabilities()``; on
            CPython 3.12+ "fork" is replaced by "forkserver", see the README).
        events: Optional event bus; receives ``execution.job.*`` events.
        history_limit: How many recent jobs ``jobs()`` remembers.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        min_workers: int = 0,
        idle_timeout: float | None = 30.0,
        max_tasks_per_worker: int | None = None,
        start_method: str | None = None,
        events: EventSink | None = None,
        history_limit: int = 1000,
    ) -> None:
        super().__init__(events=events, history_limit=history_limit)
        if max_workers is None:
            max_workers = cpu_count()
        check_pool_size(max_workers, min_workers)
        if max_tasks_per_worker is not None and (
            not isinstance(max_tasks_per_worker, int) or max_tasks_per_worker < 1
        ):
            raise ValueError(
                f"max_tasks_per_worker must be an int >= 1 or None, got {max_tasks_per_worker!r}"
            )
        method = start_method or default_start_method()
        if method not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f"start_method {method!r} is not available here; choose one of "
                f"{multiprocessing.get_all_start_methods()}"
            )
        self._start_method = method
        self._context = multiprocessing.get_context(method)
        self._max_workers = max_workers
        self._min_workers = min_workers
        self._idle_timeout = check_timeout(idle_timeout, "idle_timeout")  # None: never
        self._max_tasks = max_tasks_per_worker
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._dispatcher_waiting = False
        self._pending: deque[Job[Any]] = deque()
        self._workers: dict[str, _Worker] = {}
        self._by_handle: dict[Any, _Worker] = {}
        self._names = itertools.count(1)
        self._wakeup_r, self._wakeup_w = multiprocessing.connection.Pipe(duplex=False)
        self._wait_list: list[Any] = [self._wakeup_r]
        self._poked = False
        self._stopping = False
        self._crashed = 0
        self._retired = [0, 0]  # succeeded, failed of workers that are gone
        with self._lock:
            for _ in range(min_workers):
                self._start_worker()
        self._dispatcher = threading.Thread(
            target=self._dispatch_loop, name="atomiton-dispatcher", daemon=True
        )
        self._reader = threading.Thread(target=self._read_loop, name="atomiton-reader", daemon=True)
        self._dispatcher.start()
        self._reader.start()
        run_pending_at_exit(self)  # as ProcessPoolExecutor: queued jobs run at interpreter exit

    def __repr__(self) -> str:
        return (
            f"<ProcessWorkers max_workers={self._max_workers} processes={len(self._workers)} "
            f"start_method={self._start_method!r}>"
        )

    @property
    def max_workers(self) -> int:
        """The most processes this pool runs at once."""
        return self._max_workers

    @property
    def start_method(self) -> str:
        """How worker processes start: "fork", "forkserver" or "spawn"."""
        return self._start_method

    # --- submitting ------------------------------------------------------------------------------

    def _submit(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
        name: str | None,
    ) -> Job[T]:
        if not callable(fn):
            raise TypeError(f"submit() needs a callable, got {fn!r}")
        self._refuse_if_shut_down()
        job: Job[T] = Job(self, name or job_name(fn), timeout)
        job._payload = self._pickle_call(fn, args, kwargs, job.name)
        if self._observers.active:
            self._job_changed(job, JobEventKind.QUEUED)
        with self._lock:
            self._refuse_if_shut_down()
            self._recent.append(weakref.ref(job))
            self._pending.append(job)
            if self._dispatcher_waiting:
                self._wake.notify()
        return job

    @staticmethod
    def _pickle_call(
        fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str
    ) -> bytes:
        try:
            return _dumps((fn, args, kwargs), _PROTOCOL)
        except Exception as exc:
            target = args[0] if fn is run_chunk else fn
            try:
                _dumps(target, _PROTOCOL)
            except Exception:
                raise NotImportableError(
                    f"{target!r} cannot run in a worker process: process workers import the "
                    "callable by name, so it must be a module-level function or class (not a "
                    f"lambda, a nested function or a bound method of an unpicklable object): {exc}"
                ) from exc
            raise SerializationError(
                f"the arguments of job {name!r} cannot be pickled to reach a worker process: {exc}"
            ) from exc

    def _map_submit(
        self, fn: Callable[..., Any], iterables: tuple[Iterable[Any], ...], chunksize: int | None
    ) -> tuple[list[Job[Any]], bool]:
        if chunksize == 1:
            return super()._map_submit(fn, iterables, chunksize)
        star = len(iterables) != 1
        items = list(zip(*iterables, strict=False)) if star else list(iterables[0])
        if chunksize is None:  # as multiprocessing.Pool.map: about four chunks per worker
            chunksize = max(1, math.ceil(len(items) / (4 * self._max_workers)))
        name = f"{job_name(fn)}[map]"
        jobs: list[Job[Any]] = [
            self._submit(run_chunk, (fn, items[start : start + chunksize], star), {}, None, name)
            for start in range(0, len(items), chunksize)
        ]
        return jobs, True

    def _job_cancelled(self, job: Job[Any], was_running: bool) -> None:
        self._count_final(JobStatus.CANCELLED)
        if not was_running:
            self._skip_if_sent_ahead(job)
            return
        with self._lock:
            worker = job._worker
            if (
                isinstance(worker, _Worker)
                and not worker.gone
                and worker.exit_reason is None
                and worker.outstanding
                and worker.outstanding[0] is job
            ):
                self._kill(worker, "cancel")

    def _skip_if_sent_ahead(self, job: Job[Any]) -> None:
        """Tell the worker a job waiting in its queue was cancelled, so it never runs."""
        worker = job._worker
        if not isinstance(worker, _Worker):
            return
        with self._lock:
            waiting = not worker.gone and job in worker.outstanding
        if waiting:
            worker.send(_dumps((SKIP, job.id), _PROTOCOL))

    # --- stats and shutdown --------------------------------------------------------------------

    def stats(self) -> WorkersStats:
        """Counters of the pool and of each live worker process."""
        with self._lock:
            workers = tuple(
                WorkerStats(
                    w.name,
                    w.pid,
                    bool(w.outstanding),
                    w.succeeded + w.failed,
                    w.succeeded,
                    w.failed,
                    w.outstanding[0].id if w.outstanding else None,
                )
                for w in self._workers.values()
            )
            queued = len(self._pending) + sum(
                max(0, len(w.outstanding) - 1) for w in self._workers.values()
            )
            succeeded, failed = self._retired
        return WorkersStats(
            queued=queued,
            running=sum(w.busy for w in workers),
            succeeded=succeeded + sum(w.succeeded for w in workers),
            failed=failed + sum(w.failed for w in workers) + self._crashed,
            crashed=self._crashed,
            cancelled=self._cancelled,
            timed_out=self._timed_out,
            workers=workers,
        )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting jobs, finish (or cancel) the queued ones, stop the worker processes.

        Args:
            wait: Block until every job ended and every worker process exited and was reaped.
            cancel_futures: Cancel the jobs that have not started yet.
        """
        with self._lock:
            self._shutdown = True
            dropped = list(self._pending) if cancel_futures else []
            if cancel_futures:
                self._pending.clear()
            self._wake.notify()
        for job in dropped:
            job.cancel()
        if cancel_futures:  # jobs sent ahead to busy workers have not started either
            with self._lock:
                behind = [job for w in self._workers.values() for job in list(w.outstanding)[1:]]
            for job in behind:
                job._cancel(only_pending=True)
        if wait and threading.current_thread() not in (self._dispatcher, self._reader):
            self._dispatcher.join()
            self._reader.join()
