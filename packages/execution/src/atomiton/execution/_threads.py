"""ThreadWorkers: a thread pool that is a real Executor and runs Jobs.

The hot path copies ThreadPoolExecutor's shape (one SimpleQueue; idle permits to decide whether
to start a thread), with the per-task costs it pays trimmed: the idle permits are a deque of
tokens rather than a ``threading.Semaphore`` (whose pure-Python ``release()`` and
``acquire(timeout=0)`` cost ~1 µs each per task on 3.11; ``deque.append``/``pop`` are atomic C
calls of ~20 ns), and ``submit`` goes straight to the queue without the shared base's extra call.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from atomiton.execution._context import _running
from atomiton.execution._errors import JobTimeoutError
from atomiton.execution._exit import run_pending_at_exit
from atomiton.execution._job import Job, JobStatus
from atomiton.execution._observe import EventSink
from atomiton.execution._platform import cpu_count
from atomiton.execution._workers import (
    Workers,
    WorkersStats,
    WorkerStats,
    check_pool_size,
    check_timeout,
    job_name,
)
from atomiton.platform import JobEventKind

__all__ = ["ThreadWorkers"]

T = TypeVar("T")
P = ParamSpec("P")


class _ThreadSlot:
    """One worker thread's bookkeeping (each field written by that thread only)."""

    __slots__ = ("failed", "job", "name", "succeeded", "thread")

    def __init__(self, name: str) -> None:
        self.name = name
        self.job: Job[Any] | None = None
        self.succeeded = 0
        self.failed = 0
        self.thread: threading.Thread | None = None


class _Deadlines:
    """One timer thread that marks thread jobs timed out; started on the first timed job."""

    def __init__(self, expire: Callable[[Job[Any]], None]) -> None:
        self._expire = expire
        # Weak: a job that finished early must not stay alive (with its result) until its deadline.
        self._heap: list[tuple[float, int, weakref.ref[Job[Any]]]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="atomiton-deadlines", daemon=True)
        self._thread.start()

    def add(self, job: Job[Any], timeout: float) -> None:
        with self._cond:
            heapq.heappush(
                self._heap, (time.monotonic() + timeout, next(self._order), weakref.ref(job))
            )
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = None if not self._heap else self._heap[0][0] - time.monotonic()
                    self._cond.wait(wait)
                if self._stopped:
                    return
                job = heapq.heappop(self._heap)[2]()
            if job is not None and not job.done():
                self._expire(job)
            job = None  # hold no job while waiting for the next deadline


class ThreadWorkers(Workers):
    """A pool of threads running jobs: a drop-in ``concurrent.futures.Executor``.

    Args:
        max_workers: Most threads at once (default: ``min(32, cpu_count + 4)`` as the stdlib,
            with the effective CPU count from ``atomiton.platform.capabilities()``).
        min_workers: Threads kept alive even when idle (started at once).
        idle_timeout: Seconds an idle thread above ``min_workers`` waits before it exits
            (None or ``math.inf``: never).
        max_tasks_per_worker: Jobs a thread runs before it is replaced (None: no limit).
        thread_name_prefix: Prefix of the worker threads' names.
        events: Optional event bus; receives ``execution.job.*`` events.
        history_limit: How many recent jobs ``jobs()`` remembers.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        min_workers: int = 0,
        idle_timeout: float | None = 60.0,
        max_tasks_per_worker: int | None = None,
        thread_name_prefix: str = "atomiton-thread",
        events: EventSink | None = None,
        history_limit: int = 1000,
    ) -> None:
        super().__init__(events=events, history_limit=history_limit)
        if max_workers is None:
            max_workers = min(32, cpu_count() + 4)
        check_pool_size(max_workers, min_workers)
        if max_tasks_per_worker is not None and (
            not isinstance(max_tasks_per_worker, int) or max_tasks_per_worker < 1
        ):
            raise ValueError(
                f"max_tasks_per_worker must be an int >= 1 or None, got {max_tasks_per_worker!r}"
            )
        self._max_workers = max_workers
        self._min_workers = min_workers
        self._idle_timeout = check_timeout(idle_timeout, "idle_timeout")  # None: never
        self._max_tasks = max_tasks_per_worker
        self._prefix = thread_name_prefix
        self._queue: queue.SimpleQueue[Job[Any] | None] = queue.SimpleQueue()
        # One token per finished job, taken by a submit: a token means some thread is (or is
        # about to be) idle. Popped only under self._lock, so a truth test before pop is safe.
        self._idle: deque[None] = deque()
        self._lock = threading.Lock()
        self._slots: dict[int, _ThreadSlot] = {}
        self._names = itertools.count(1)
        self._retired = [0, 0]  # succeeded, failed of threads that exited
        self._deadlines: _Deadlines | None = None
        run_pending_at_exit(self)  # as ThreadPoolExecutor: queued jobs run at interpreter exit
        with self._lock:
            for _ in range(min_workers):
                self._add_thread()

    def __repr__(self) -> str:
        return f"<ThreadWorkers max_workers={self._max_workers} threads={len(self._slots)}>"

    @property
    def max_workers(self) -> int:
        """The most threads this pool runs at once."""
        return self._max_workers

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
        job: Job[T] = Job(self, name or job_name(fn), timeout)
        job._payload = (fn, args, kwargs)
        if self._observers.active:  # outside the lock: a listener may submit too
            self._refuse_if_shut_down()
            self._job_changed(job, JobEventKind.QUEUED)
        with self._lock:
            if self._shutdown:
                self._refuse_if_shut_down()
            self._recent.append(weakref.ref(job))
            self._queue.put(job)
            # As ThreadPoolExecutor: start a thread only when none is idle.
            slots = len(self._slots)
            had_idle = bool(self._idle)
            if had_idle:
                self._idle.pop()
            if (not had_idle or not slots) and slots < self._max_workers:
                self._add_thread()
        return job

    def _add_thread(self) -> None:
        slot = _ThreadSlot(f"{self._prefix}-{next(self._names)}")
        thread = threading.Thread(target=self._work, args=(slot,), name=slot.name, daemon=True)
        slot.thread = thread
        self._slots[id(slot)] = slot
        thread.start()

    def _work(self, slot: _ThreadSlot) -> None:
        get = self._queue.get
        idle = self._idle.append
        running = _running
        max_tasks = self._max_tasks
        observers = self._observers
        succeeded, failed = JobStatus.SUCCEEDED, JobStatus.FAILED
        told_to_stop = False
        try:
            while True:
                try:
                    job = get(timeout=self._idle_timeout)
                except queue.Empty:
                    with self._lock:
                        if len(self._slots) > self._min_workers or self._shutdown:
                            # Take back the idle permit this thread gave, or submit() would
                            # count a thread that is gone as idle and start none.
                            if self._idle:
                                self._idle.pop()
                            return
                    continue
                if job is None:
                    told_to_stop = True
                    return
                # Read the call before starting: cancel() drops it from the job.
                payload = job._payload
                if payload is not None and job._start():
                    slot.job = job
                    job._worker = slot.name
                    if job.timeout is not None:
                        self._timer().add(job, job.timeout)
                    if observers.active:
                        self._job_changed(job, JobEventKind.STARTED)
                    fn, args, kwargs = payload
                    running.current = job  # set_running(job), inlined
                    try:
                        result = fn(*args, **kwargs)
                    except BaseException as exc:
                        if job._finish(failed, error=exc):
                            slot.failed += 1
                    else:
                        if job._finish(succeeded, result):
                            slot.succeeded += 1
                    finally:
                        running.current = None
                        slot.job = None
                    if max_tasks is not None and slot.succeeded + slot.failed >= max_tasks:
                        return
                # Hold nothing of a finished job while waiting for the next (CPython's
                # test_no_stale_references and test_free_reference).
                job = payload = fn = args = kwargs = result = None
                idle(None)
        finally:
            with self._lock:
                del self._slots[id(slot)]
                self._retired[0] += slot.succeeded
                self._retired[1] += slot.failed
                # A thread retired by max_tasks_per_worker (or idle) may leave work behind:
                # replace it, during shutdown too (the replacement takes the stop marker meant
                # for this thread, and shutdown(wait=True) joins it as well). A thread that took
                # a stop marker is not replaced: the markers left are meant for the others.
                if (
                    not told_to_stop
                    and not self._queue.empty()
                    and len(self._slots) < self._max_workers
                ):
                    self._add_thread()

    def _timer(self) -> _Deadlines:
        with self._lock:
            if self._deadlines is None:
                self._deadlines = _Deadlines(self._expire)
            return self._deadlines

    def _expire(self, job: Job[Any]) -> None:
        error = JobTimeoutError(f"job {job.id} ({job.name}) ran longer than {job.timeout} s")
        if job._finish(JobStatus.TIMED_OUT, error=error):
            self._count_final(JobStatus.TIMED_OUT)

    def _job_cancelled(self, job: Job[Any], was_running: bool) -> None:
        self._count_final(JobStatus.CANCELLED)

    def stats(self) -> WorkersStats:
        """Counters of the pool and of each live thread."""
        with self._lock:
            slots = list(self._slots.values())
            succeeded, failed = self._retired
        workers = tuple(
            WorkerStats(
                s.name,
                None,
                s.job is not None,
                s.succeeded + s.failed,
                s.succeeded,
                s.failed,
                None if s.job is None else s.job.id,
            )
            for s in slots
        )
        return WorkersStats(
            queued=self._queue.qsize(),
            running=sum(w.busy for w in workers),
            succeeded=succeeded + sum(w.succeeded for w in workers),
            failed=failed + sum(w.failed for w in workers),
            crashed=0,
            cancelled=self._cancelled,
            timed_out=self._timed_out,
            workers=workers,
        )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting jobs, finish (or cancel) the queued ones, stop the threads.

        Args:
            wait: Block until the threads have finished every job they are going to run.
            cancel_futures: Cancel the jobs that have not started yet.
        """
        dropped: list[Job[Any]] = []
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while True:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is not None:
                        dropped.append(job)
            for _ in self._slots:
                self._queue.put(None)
            deadlines = self._deadlines
        for job in dropped:
            job.cancel()
        if wait:
            # Threads retired by max_tasks_per_worker meanwhile are replaced: join until none is
            # left (the calling thread itself, if it is one of ours, is not waited for).
            me = threading.current_thread()
            while True:
                with self._lock:
                    threads = [
                        t
                        for s in self._slots.values()
                        if (t := s.thread) is not None and t is not me
                    ]
                if not threads:
                    break
                for thread in threads:
                    thread.join()
            if deadlines is not None:
                deadlines.stop()
