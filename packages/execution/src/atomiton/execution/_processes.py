"""ProcessWorkers: a process pool that survives crashes, kills overrunning jobs and is fast.

Design (measured against ProcessPoolExecutor, multiprocessing.Pool, loky and pebble):

- One duplex pipe per worker, so the parent always knows which worker runs which job; results
  come back one per job, in order, so a worker's first unanswered job is the one it runs.
- One dispatcher thread sends pickled jobs; when many are queued it sends them in small batches
  (one pipe write for many jobs) and tops busy workers up before they run dry.
- One reader thread waits (``multiprocessing.connection.wait``) on every worker's pipe *and* its
  process sentinel: a sentinel that becomes ready means the worker died, noticed at once, and
  only that worker's running job fails with WorkerCrashedError; jobs queued behind it are re-run.
  The same thread enforces timeouts and retires idle workers.
- Jobs are pickled in ``submit()``, on the caller's thread, so a lambda or an unpicklable argument
  is an error there and then, never a hung job.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import multiprocessing
import multiprocessing.connection
import pickle
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from atomiton.execution._errors import (
    JobTimeoutError,
    NotImportableError,
    SerializationError,
    WorkerCrashedError,
)
from atomiton.execution._job import Job, JobStatus
from atomiton.execution._observe import EventSink
from atomiton.execution._platform import cpu_count, default_start_method
from atomiton.execution._worker import (
    ERROR,
    OK,
    PROGRESS,
    SKIP,
    SKIPPED,
    run_chunk,
    worker_main,
)
from atomiton.execution._workers import (
    Workers,
    WorkersStats,
    WorkerStats,
    check_pool_size,
    job_name,
)

__all__ = ["ProcessWorkers"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_dumps = pickle.dumps
_loads = pickle.loads
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_PENDING_STATE = "PENDING"
_STOP = pickle.dumps(None)
_SUCCEEDED = JobStatus.SUCCEEDED
_FAILED = JobStatus.FAILED
#: Most jobs sent to one worker in one pipe write.
BATCH_MAX = 64
#: A busy worker is topped up when it has at most this many jobs left.
LOW_WATER = 8


class _RemoteTraceback(Exception):
    """The worker-side traceback, attached as ``__cause__`` of a re-raised job exception."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class _Worker:
    """The parent's view of one worker process."""

    __slots__ = (
        "conn",
        "deadline",
        "exit_reason",
        "failed",
        "gone",
        "idle_since",
        "name",
        "outstanding",
        "pid",
        "process",
        "send_lock",
        "sent",
        "succeeded",
    )

    def __init__(
        self, name: str, process: Any, conn: multiprocessing.connection.Connection
    ) -> None:
        self.name = name
        self.process = process
        self.pid: int = process.pid
        self.conn = conn
        # The dispatcher, retirement and skips all write to the pipe: one message at a time.
        self.send_lock = threading.Lock()
        self.outstanding: deque[Job[Any]] = deque()
        self.deadline: float | None = None
        self.exit_reason: str | None = None  # None: alive; "retire", "cancel", "timeout"
        self.idle_since = time.monotonic()
        self.sent = 0
        self.succeeded = 0
        self.failed = 0
        self.gone = False

    def send(self, data: bytes) -> None:
        """Write one message to the worker; if it died meanwhile, the reader handles that."""
        with self.send_lock, contextlib.suppress(OSError, ValueError):
            self.conn.send_bytes(data)


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class ProcessWorkers(Workers):
    """A pool of worker processes running jobs: a drop-in ``concurrent.futures.Executor``.

    Args:
        max_workers: Most processes at once (default: the effective CPU count from
            ``atomiton.platform.capabilities()``).
        min_workers: Processes started at once and kept alive when idle.
        idle_timeout: Seconds an idle process above ``min_workers`` lives before it is retired.
        max_tasks_per_worker: Jobs a process runs before it is replaced (None: no limit).
        start_method: "fork", "forkserver" or "spawn" (default: from ``capabilities()``; on
            CPython 3.12+ "fork" is replaced by "forkserver", see the README).
        events: Optional event bus; receives ``execution.job.*`` events.
        history: How many recent jobs ``jobs()`` remembers.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        min_workers: int = 0,
        idle_timeout: float = 30.0,
        max_tasks_per_worker: int | None = None,
        start_method: str | None = None,
        events: EventSink | None = None,
        history: int = 1000,
    ) -> None:
        super().__init__(events=events, history=history)
        if max_workers is None:
            max_workers = cpu_count()
        check_pool_size(max_workers, min_workers)
        if max_tasks_per_worker is not None and (
            not isinstance(max_tasks_per_worker, int) or max_tasks_per_worker < 1
        ):
            raise ValueError(
                f"max_tasks_per_worker must be an int >= 1 or None, got {max_tasks_per_worker!r}"
            )
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be > 0 seconds, got {idle_timeout!r}")
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
        self._idle_timeout = float(idle_timeout)
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
            self._job_changed(job, "queued")
        with self._lock:
            self._refuse_if_shut_down()
            self._recent.append(job)
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

    # --- the dispatcher thread -------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while True:
            started: list[Job[Any]] = []
            doomed: list[tuple[Job[Any], BaseException]] = []
            with self._lock:
                while True:
                    sends = self._plan(started, doomed) if self._pending else []
                    if sends or started or doomed:
                        break
                    if self._shutdown and not self._pending and not self._any_outstanding():
                        self._stopping = True
                        for worker in list(self._workers.values()):
                            self._retire(worker)
                        self._poke_reader()
                        return
                    self._dispatcher_waiting = True
                    self._wake.wait()
                    self._dispatcher_waiting = False
            for worker, data in sends:
                worker.send(data)  # if it died meanwhile, the reader re-queues these jobs
            for job in started:
                self._job_changed(job, "started")
            for job, error in doomed:
                job._finish(_FAILED, error=error)

    def _any_outstanding(self) -> bool:
        return any(worker.outstanding for worker in self._workers.values())

    def _plan(
        self, started: list[Job[Any]], doomed: list[tuple[Job[Any], BaseException]]
    ) -> list[tuple[_Worker, bytes]]:
        """Under the lock: grow the pool if needed and hand queued jobs to workers.

        If no worker runs and none can be started, the queued jobs fail (into ``doomed``)
        instead of waiting forever.
        """
        pending = self._pending
        live = [w for w in self._workers.values() if w.exit_reason is None]
        max_tasks = self._max_tasks
        usable = [w for w in live if max_tasks is None or w.sent < max_tasks]
        idle = [w for w in usable if not w.outstanding]
        shortfall = min(len(pending) - len(idle), self._max_workers - len(live))
        for _ in range(max(0, shortfall)):
            try:
                worker = self._start_worker()
            except Exception as exc:
                logger.exception("cannot start a worker process")
                if not live:
                    error = WorkerCrashedError(f"no worker process could be started: {exc}")
                    doomed.extend((job, error) for job in pending)
                    pending.clear()
                break
            usable.append(worker)
            idle.append(worker)
        if not usable:
            return []
        batch = max(1, min(BATCH_MAX, len(pending) // len(usable)))
        sends: list[tuple[_Worker, bytes]] = []
        for worker in idle:
            if not pending:
                break
            data = self._take(worker, batch, started)
            if data is not None:
                sends.append((worker, data))
        # Deep queue: keep busy workers fed so they never wait for the next pipe write.
        if len(pending) >= 2 * len(usable):
            for worker in usable:
                if worker.outstanding and len(worker.outstanding) <= LOW_WATER:
                    data = self._take(worker, batch, started)
                    if data is not None:
                        sends.append((worker, data))
        return sends

    def _take(self, worker: _Worker, count: int, started: list[Job[Any]]) -> bytes | None:
        pending = self._pending
        if self._max_tasks is not None:
            count = min(count, self._max_tasks - worker.sent)
        was_idle = not worker.outstanding
        items = []
        outstanding = worker.outstanding
        while count and pending:
            job = pending.popleft()
            if job._state != _PENDING_STATE:  # cancelled while queued
                continue
            job._worker = worker
            outstanding.append(job)
            items.append((job.id, job.name, job._payload))
            count -= 1
        if not items:
            return None
        worker.sent += len(items)
        if was_idle:
            self._begin_head(worker, started)
        return _dumps(items, _PROTOCOL)

    def _begin_head(self, worker: _Worker, started: list[Job[Any]]) -> None:
        """Under the lock: the worker's first unanswered job is now the one it runs."""
        job = worker.outstanding[0]
        if job._start():
            if job.timeout is not None:
                worker.deadline = time.monotonic() + job.timeout
                self._poke_reader()
            if self._observers.active:
                started.append(job)

    # --- workers -------------------------------------------------------------------------------

    def _start_worker(self) -> _Worker:
        """Under the lock: start one worker process and watch it."""
        parent, child = self._context.Pipe(duplex=True)
        close_fds: list[int] = []
        if self._start_method == "fork":  # the child inherits every pipe end we hold
            close_fds = [w.conn.fileno() for w in self._workers.values() if not w.gone]
            close_fds += [self._wakeup_r.fileno(), self._wakeup_w.fileno(), parent.fileno()]
        name = f"process-{next(self._names)}"
        process = self._context.Process(  # type: ignore[attr-defined]
            target=worker_main,
            args=(child, close_fds, list(sys.path)),
            name=f"atomiton-{name}",
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(name, process, parent)
        self._workers[name] = worker
        self._by_handle[parent] = worker
        self._by_handle[process.sentinel] = worker
        self._rebuild_wait_list()
        return worker

    def _rebuild_wait_list(self) -> None:
        self._wait_list = [self._wakeup_r, *self._by_handle]
        self._poke_reader()

    def _poke_reader(self) -> None:
        if not self._poked:
            self._poked = True
            self._wakeup_w.send_bytes(b"!")

    def _retire(self, worker: _Worker) -> None:
        """Under the lock: ask an idle worker to exit cleanly."""
        if worker.exit_reason is None:
            worker.exit_reason = "retire"
            worker.send(_STOP)

    def _kill(self, worker: _Worker, reason: str) -> None:
        """Under the lock: kill a worker whose running job must stop now."""
        worker.exit_reason = reason
        try:
            worker.process.kill()
        except (OSError, ValueError, AttributeError):
            logger.debug("worker %s was already gone", worker.name)

    # --- the reader thread ---------------------------------------------------------------------

    def _read_loop(self) -> None:
        wait = multiprocessing.connection.wait
        while True:
            with self._lock:
                if self._stopping and not self._workers:
                    break
                wait_list = self._wait_list
                timeout = self._next_wakeup()
            try:
                self._serve(wait(wait_list, timeout))
            except Exception:  # never let the pool go deaf: log, and keep serving
                logger.exception("the worker pool's reader hit an unexpected error")
        self._wakeup_r.close()
        self._wakeup_w.close()

    def _serve(self, ready: list[Any]) -> None:
        """Handle what ``wait`` reported: wake-ups, results, exits; then timers."""
        for handle in ready:
            if handle is self._wakeup_r:
                with self._lock:
                    self._poked = False
                while self._wakeup_r.poll():
                    self._wakeup_r.recv_bytes()
                continue
            worker = self._by_handle.get(handle)
            if worker is None or worker.gone:
                continue
            if handle is worker.conn:
                self._drain(worker)
            else:
                self._on_exit(worker)
        self._check_timers()

    def _next_wakeup(self) -> float | None:
        """Under the lock: seconds until the next deadline or idle retirement, or None."""
        soonest: float | None = None
        live = sum(1 for w in self._workers.values() if w.exit_reason is None)
        for worker in self._workers.values():
            when = worker.deadline
            if not worker.outstanding and worker.exit_reason is None and live > self._min_workers:
                idle_end = worker.idle_since + self._idle_timeout
                when = idle_end if when is None else min(when, idle_end)
            if when is not None and (soonest is None or when < soonest):
                soonest = when
        return None if soonest is None else max(0.0, soonest - time.monotonic())

    def _drain(self, worker: _Worker) -> None:
        conn = worker.conn
        try:
            while True:
                self._on_message(worker, conn.recv_bytes())
                if not conn.poll():
                    return
        except (EOFError, OSError):
            return  # the sentinel reports the exit

    def _on_message(self, worker: _Worker, data: bytes) -> None:
        try:
            message = _loads(data)
        except Exception as exc:
            error = SerializationError(f"a job's result cannot be unpickled in the caller: {exc}")
            message = (ERROR, None, error, "")
        tag = message[0]
        if tag == PROGRESS:
            if worker.outstanding and worker.outstanding[0].id == message[1]:
                worker.outstanding[0]._report(message[2], message[3])
            return
        started: list[Job[Any]] = []
        with self._lock:
            if not worker.outstanding:
                return
            job = worker.outstanding.popleft()
            worker.deadline = None
            if worker.outstanding:
                self._begin_head(worker, started)
            else:
                worker.idle_since = time.monotonic()
                if self._max_tasks is not None and worker.sent >= self._max_tasks:
                    self._retire(worker)
            if (
                self._dispatcher_waiting
                and len(worker.outstanding) <= LOW_WATER
                and (self._pending or self._shutdown or worker.exit_reason is not None)
            ):
                self._wake.notify()
        for other in started:
            self._job_changed(other, "started")
        if tag == SKIPPED:
            return
        if tag == OK:
            if job._finish(_SUCCEEDED, message[2]):
                worker.succeeded += 1
        else:
            error = message[2]
            if message[3]:
                error.__cause__ = _RemoteTraceback(message[3])
            if job._finish(_FAILED, error=error):
                worker.failed += 1

    def _on_exit(self, worker: _Worker) -> None:
        try:
            if worker.conn.poll():
                self._drain(worker)
        except (EOFError, OSError):
            pass
        worker.process.join()  # reaps it: no zombie
        exitcode = worker.process.exitcode
        with self._lock:
            worker.gone = True
            del self._workers[worker.name]
            self._by_handle.pop(worker.conn, None)
            self._by_handle.pop(worker.process.sentinel, None)
            self._rebuild_wait_list()
            jobs = list(worker.outstanding)
            worker.outstanding.clear()
            self._retired[0] += worker.succeeded
            self._retired[1] += worker.failed
            head = jobs[0] if jobs else None
            for job in reversed(jobs[1:]):  # never started: run them elsewhere
                if job._state == _PENDING_STATE:
                    self._pending.appendleft(job)
            live = sum(1 for w in self._workers.values() if w.exit_reason is None)
            if not self._stopping and live < self._min_workers:
                self._start_worker()
            if self._dispatcher_waiting:
                self._wake.notify()
        worker.conn.close()
        worker.process.close()
        if head is None and worker.exit_reason is None:
            logger.warning(
                "worker process %s (pid %s) exited while idle: %s",
                worker.name,
                worker.pid,
                _describe_exit(exitcode),
            )
        if head is not None and worker.exit_reason not in ("cancel", "timeout"):
            error = WorkerCrashedError(
                f"the worker process {worker.pid} running job {head.id} ({head.name}) died: "
                f"{_describe_exit(exitcode)}"
            )
            if head._finish(JobStatus.FAILED, error=error):
                self._crashed += 1

    def _check_timers(self) -> None:
        now = time.monotonic()
        expired: list[Job[Any]] = []
        with self._lock:
            live = sum(1 for w in self._workers.values() if w.exit_reason is None)
            for worker in list(self._workers.values()):
                if worker.exit_reason is not None:
                    continue
                if worker.deadline is not None and worker.deadline <= now and worker.outstanding:
                    expired.append(worker.outstanding[0])
                    self._kill(worker, "timeout")
                elif (
                    not worker.outstanding
                    and live > self._min_workers
                    and now - worker.idle_since >= self._idle_timeout
                ):
                    self._retire(worker)
                    live -= 1
        for job in expired:
            error = JobTimeoutError(f"job {job.id} ({job.name}) ran longer than {job.timeout} s")
            if job._finish(JobStatus.TIMED_OUT, error=error):
                self._count_final(JobStatus.TIMED_OUT)

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
