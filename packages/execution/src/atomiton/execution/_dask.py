"""DaskWorkers: the Workers contract (Executor, Job, progress, cancel, timeouts) on a Dask cluster.

Each job is one Dask task with a unique key (``pure=False``: every call runs) whose function is a
:class:`DaskCall` holding the user's callable and arguments, so Dask never sees them. Starts and
progress reports come back as Dask structured events on a topic of this pool; results through
Dask's futures. One thread handles both, in the order the scheduler sent them, so a job is
started before it ends and its progress arrives before its result. A second thread runs the
timed work: timeouts, the cancel grace period, restarting a worker, closing idle workers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from atomiton.execution._dask_cluster import Scaler, start_local_cluster
from atomiton.execution._dask_timers import Timers
from atomiton.execution._errors import JobTimeoutError, WorkerCrashedError
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

if TYPE_CHECKING:
    from atomiton.execution._dask_task import DaskCall

__all__ = ["DaskWorkers"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
#: Seconds a worker restart may take before DaskWorkers gives up on it (and logs a warning).
_RESTART_TIMEOUT = 30.0


class DaskWorkers(Workers):
    """Jobs on a Dask cluster: a ``concurrent.futures.Executor`` with atomiton's Job contract.

    Without ``address`` it starts and owns a local cluster of worker processes (closed by
    ``shutdown()``); with ``address`` it joins a running cluster and never stops it.

    Args:
        max_workers: Owned cluster: the most worker processes (default: the usable CPUs).
            Joined cluster: the most jobs of this pool running at once (default: no limit,
            Dask queues them).
        address: ``"tcp://host:port"`` of a running Dask scheduler to join.
        n_workers: Owned cluster of exactly this many worker processes (instead of
            ``max_workers``/``min_workers``).
        min_workers: Owned cluster: workers kept even when idle (started before this returns).
        idle_timeout: Owned cluster: seconds a worker above ``min_workers`` may run none of
            this pool's jobs before it is closed (None or ``math.inf``: never). Ignored when
            joining a cluster.
        threads_per_worker: Owned cluster: threads per worker process (jobs at once on each).
        kill_grace: Seconds a cancelled or timed-out job may keep running after its
            ``cancelled`` flag turned on before its worker process is restarted.
        connect_timeout: Seconds to wait for the scheduler (and for ``min_workers``).
        events: Optional event bus; receives ``execution.job.*`` events.
        history_limit: How many recent jobs ``jobs()`` remembers.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        address: str | None = None,
        n_workers: int | None = None,
        min_workers: int | None = None,
        idle_timeout: float | None = 60.0,
        threads_per_worker: int = 1,
        kill_grace: float = 1.0,
        connect_timeout: float = 30.0,
        events: EventSink | None = None,
        history_limit: int = 1000,
    ) -> None:
        super().__init__(events=events, history_limit=history_limit)
        idle = check_timeout(idle_timeout, "idle_timeout")
        grace = check_timeout(kill_grace, "kill_grace")
        self._grace = 1.0 if grace is None else grace
        if address is not None:
            if not isinstance(address, str) or not address:
                raise TypeError(f"address must be a scheduler address str, got {address!r}")
            if n_workers is not None or min_workers is not None:
                raise ValueError(
                    "n_workers and min_workers size a cluster DaskWorkers owns; a joined "
                    f"cluster ({address}) keeps its own size"
                )
            if max_workers is not None:
                check_pool_size(max_workers, 0)
            self._limit = max_workers
        else:
            if n_workers is not None:
                if max_workers is not None or min_workers is not None:
                    raise ValueError("give n_workers or max_workers/min_workers, not both")
                check_pool_size(n_workers, n_workers)
                max_workers = min_workers = n_workers
            if max_workers is None:
                max_workers = cpu_count()
            check_pool_size(max_workers, min_workers or 0)
            if (
                isinstance(threads_per_worker, bool)
                or not isinstance(threads_per_worker, int)
                or threads_per_worker < 1
            ):
                raise ValueError(
                    f"threads_per_worker must be an int >= 1, got {threads_per_worker!r}"
                )
            self._limit = None
        from distributed import Client

        # What runs on the cluster imports distributed (and with it dask and tornado): loaded
        # here, when a pool is made, not when the container registers this class, so composing
        # an app that never uses Dask stays within its memory budget (issue 19: 34.6 -> 7 MiB).
        from atomiton.execution import _dask_task as task

        self._task = task
        self._lock = threading.Lock()
        self._outstanding: dict[str, Job[Any]] = {}
        self._dask: dict[str, Any] = {}  # job id -> the Dask future of a job sent to the cluster
        self._waiting: deque[tuple[Job[Any], DaskCall]] = deque()
        self._slots: set[str] = set()  # ids of jobs holding a place under max_workers
        self._per_worker: dict[str, list[int]] = {}  # address -> [succeeded, failed]
        self._running_on: dict[str, set[str]] = {}  # address -> ids of jobs running there
        self._pids: dict[str, int] = {}  # address -> pid, learnt from the jobs' start events
        self._counts = [0, 0, 0]  # succeeded, failed, crashed
        self._stopping = 0  # cancelled or timed-out jobs not yet known to have stopped
        self._stopped = threading.Condition(self._lock)
        self._closer: threading.Thread | None = None
        self._id = uuid.uuid4().hex[:12]
        self._topic = task.topic_prefix + self._id
        self._plugin = "atomiton-jobs-" + self._id
        self._owned = address is None
        self._cluster: Any = None
        self._scaler: Scaler | None = None
        if address is None:
            assert max_workers is not None
            self._cluster = start_local_cluster(min_workers or 0, threads_per_worker)
            self._scaler = Scaler(self._cluster, min_workers or 0, max_workers, idle)
        try:
            client = Client(  # type: ignore[no-untyped-call]
                self._cluster if address is None else address,
                set_as_default=False,
                timeout=connect_timeout,
            )
            self._client: Any = cast(Any, client)
            self._client.register_plugin(self._task.CrashGuard())
            self._client.register_plugin(
                self._task.JobsPlugin(self._topic, self._client.id), name=self._plugin
            )
            if min_workers:
                self._client.wait_for_workers(min_workers, timeout=connect_timeout)
        except BaseException:
            if self._cluster is not None:
                self._cluster.close()
            raise
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._inline: dict[str, bytes] = {}  # job id -> its pickled result, sent by the task
        self._to_fetch: list[Any] = []  # futures sent whose _fetch the client's loop must start
        self._fetching: set[asyncio.Future[None]] = set()  # the running _fetch tasks
        self._client.subscribe_topic(self._topic, self._on_event)
        self._dispatcher = threading.Thread(
            target=self._dispatch, name=f"atomiton-dask-events-{self._id}", daemon=True
        )
        self._dispatcher.start()
        self._timers = Timers(f"atomiton-dask-control-{self._id}")
        if self._scaler is not None and idle is not None and not self._scaler.fixed:
            self._every(min(1.0, max(0.05, idle / 2)), self._check_idle)

    def __repr__(self) -> str:
        where = "owned" if self._owned else "joined"
        return f"<DaskWorkers {where} {self._client.scheduler.address}>"

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` this pool talks to the cluster through."""
        return self._client

    @property
    def scheduler_address(self) -> str:
        """The address of the cluster's scheduler."""
        return str(self._client.scheduler.address)

    # --- submitting --------------------------------------------------------------------------

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
        call = self._task.DaskCall(fn, args, kwargs, job.id, job.name, self._plugin, self._topic)
        if self._observers.active:
            self._refuse_if_shut_down()
            self._job_changed(job, "queued")
        with self._lock:
            self._refuse_if_shut_down()
            self._recent.append(job)
            self._outstanding[job.id] = job
            unfinished = len(self._outstanding)
            send = self._limit is None or len(self._slots) < self._limit
            if not send:
                self._waiting.append((job, call))
            elif self._limit is not None:
                self._slots.add(job.id)
        if send:
            self._send(job, call)
        if self._scaler is not None:
            self._scaler.demand(unfinished)
        return job

    def _send(self, job: Job[Any], call: DaskCall) -> None:
        future = self._client.submit(call, key=f"{self._topic}-{job.id}", pure=False)
        with self._lock:
            self._dask[job.id] = future
            self._to_fetch.append(future)
            wake = len(self._to_fetch) == 1
        if wake:  # one wake-up of the client's loop per burst of submits, not one per job
            self._client.loop.add_callback(self._start_fetches)
        if job.done():  # cancelled meanwhile
            self._timers.call_soon(partial(self._client.cancel, [future]))

    def _free_slot(self, job_id: str) -> None:
        """Give back a place under max_workers and send the next waiting job."""
        while True:
            with self._lock:
                if job_id not in self._slots:
                    return
                self._slots.discard(job_id)
                while self._waiting and self._waiting[0][0].done():
                    self._waiting.popleft()
                if not self._waiting:
                    return
                job, call = self._waiting.popleft()
                self._slots.add(job.id)
            self._send(job, call)
            if not job.done():
                return
            job_id = job.id

    # --- what comes back from the cluster ----------------------------------------------------

    def _start_fetches(self) -> None:
        """In the client's event loop: start a ``_fetch`` for every future sent since the last."""
        with self._lock:
            futures, self._to_fetch = self._to_fetch, []
        for future in futures:
            task = asyncio.ensure_future(self._fetch(future))
            self._fetching.add(task)  # asyncio keeps only a weak reference to a task
            task.add_done_callback(self._fetching.discard)

    async def _fetch(self, future: Any) -> None:
        """In the client's event loop: wait for the job's task, fetch its result, hand both over.

        One coroutine per job, all in the client's loop, so Dask joins the fetches of results
        that finish close together into one request (as one ``gather`` of all of them would),
        with no thread switch per job. A task that failed, or a result that could not be
        fetched, goes over as the bare future: the dispatcher reads what happened from it.
        """
        job_id = future.key.rsplit("-", 1)[1]
        try:
            await future._state.wait()
            blob = self._inline.pop(job_id, None)
            if future.status == "finished" and blob is not None:
                self._inbox.put(_Done(future, blob, inline=True))
                return
            value = (await self._client._gather([future]))[0]
        except BaseException:
            self._inbox.put(future)
        else:
            self._inbox.put(_Done(future, value))

    def _on_event(self, event: tuple[float, Any]) -> None:
        message = event[1]  # in Dask's event loop: hand over at once
        if message[0] == "r":  # a small result, ahead of its task's end: _fetch takes it
            if message[1] in self._outstanding:
                self._inline[message[1]] = message[2]
            return
        self._inbox.put(message)

    def _dispatch(self) -> None:
        inbox = self._inbox
        while True:
            batch = [inbox.get()]
            while True:
                try:
                    batch.append(inbox.get_nowait())
                except queue.Empty:
                    break
            finished = [f for f in batch if not isinstance(f, list | tuple | _Done | type(None))]
            values = self._gather([f for f in finished if f.status == "finished"])
            for item in batch:
                if item is None:
                    return
                try:
                    if isinstance(item, list | tuple):
                        self._on_message(item)
                    elif isinstance(item, _Done):
                        self._on_done(item.future, {item.future.key: item.result()})
                    else:
                        self._on_done(item, values)
                except Exception:
                    logger.exception("DaskWorkers could not handle %r", item)
            # Hold no result while waiting for the next batch: a job's result is the caller's.
            del batch, finished, values, item

    def _gather(self, futures: list[Any]) -> dict[str, Any]:
        if not futures:
            return {}
        try:
            return dict(zip([f.key for f in futures], self._client.gather(futures), strict=True))
        except Exception:  # one of them went away meanwhile: fetch them one by one
            values: dict[str, Any] = {}
            for future in futures:
                try:
                    values[future.key] = self._client.gather(future)
                except Exception as exc:
                    values[future.key] = _Failed(exc)
            return values

    def _on_message(self, message: list[Any] | tuple[Any, ...]) -> None:
        if message[0] == "p":
            job = self._outstanding.get(message[1])
            if job is not None:
                job._report(message[2], message[3])
            return
        _, job_id, _, address, pid = message
        self._pids[address] = pid
        job = self._outstanding.get(job_id)
        if job is None or not job._start():
            self._stop_on(job_id, address)  # it was cancelled or timed out meanwhile
            return
        job._worker = address
        with self._lock:
            self._running_on.setdefault(address, set()).add(job_id)
        if self._scaler is not None:
            self._scaler.touch(address)
        if self._observed:
            self._job_changed(job, "started")
        if job.timeout is not None:
            self._timers.call_at(time.monotonic() + job.timeout, partial(self._expire, job))

    def _on_done(self, future: Any, values: dict[str, Any]) -> None:
        job_id = future.key.rsplit("-", 1)[1]
        if future.status == "lost":
            # The worker holding the result died before it was fetched: Dask computes the task
            # again (it had finished, so the crash guard does not stop it); wait for that.
            self._client.loop.add_callback(self._fetch, future)
            return
        self._inline.pop(job_id, None)  # a result sent after the job ended early
        with self._lock:
            job = self._outstanding.pop(job_id, None)
            self._dask.pop(job_id, None)
            address = job._worker if job is not None else None
            if address is not None:
                self._running_on.get(address, set()).discard(job_id)
        self._free_slot(job_id)
        if job is None or job.done():
            return
        if address is not None and self._scaler is not None:
            self._scaler.touch(address)
        if job.status is JobStatus.PENDING and job._start() and self._observed:
            self._job_changed(job, "started")
        status, value = future.status, values.get(future.key)
        crashed = False
        if status == "finished" and not isinstance(value, _Failed):
            ok, error = job._finish(JobStatus.SUCCEEDED, value), None
        else:
            error = _error_of(future, value, job)
            crashed = isinstance(error, WorkerCrashedError)
            ok = job._finish(JobStatus.FAILED, error=error)
        if not ok:
            return
        with self._lock:
            self._counts[0 if error is None else 1] += 1
            self._counts[2] += crashed
            if address is not None:
                self._per_worker.setdefault(address, [0, 0])[0 if error is None else 1] += 1

    # --- stopping jobs -------------------------------------------------------------------------

    def _job_cancelled(self, job: Job[Any], was_running: bool) -> None:
        self._count_final(JobStatus.CANCELLED)
        self._drop(job)

    def _expire(self, job: Job[Any]) -> None:
        error = JobTimeoutError(f"job {job.id} ({job.name}) ran longer than {job.timeout} s")
        if job._finish(JobStatus.TIMED_OUT, error=error):
            self._count_final(JobStatus.TIMED_OUT)
            self._drop(job)

    def _drop(self, job: Job[Any]) -> None:
        """A job ended early: forget its Dask task and stop it where it runs."""
        with self._lock:
            future = self._dask.get(job.id)
            if future is None:  # never sent: nothing runs it
                self._outstanding.pop(job.id, None)
            address = job._worker
        self._free_slot(job.id)
        if future is not None:
            self._timers.call_soon(partial(self._client.cancel, [future]))
        if address is not None:
            self._stop_on(job.id, address)

    def _stop_on(self, job_id: str, address: str) -> None:
        """Flag the job cancelled on its worker; restart that worker after the grace period."""
        with self._lock:
            self._stopping += 1
        self._timers.call_soon(partial(self._flag, job_id, address))

    def _flag(self, job_id: str, address: str) -> None:
        try:
            self._client.run(self._task.flag_cancelled, self._plugin, job_id, workers=[address])
        except Exception:  # the worker is gone: nothing left to stop
            self._stopped_one()
            return
        self._timers.call_at(
            time.monotonic() + self._grace, partial(self._kill_if_running, job_id, address)
        )

    def _kill_if_running(self, job_id: str, address: str) -> None:
        try:
            running = self._client.run(
                self._task.is_running, self._plugin, job_id, workers=[address], on_error="return"
            ).get(address)
        except Exception:
            running = False
        if running is not True:
            self._stopped_one()
            return
        threading.Thread(
            target=self._restart, args=(address,), name="atomiton-dask-restart", daemon=True
        ).start()

    def _restart(self, address: str) -> None:
        try:
            outcome = self._client.restart_workers(
                [address], timeout=_RESTART_TIMEOUT, raise_for_error=False
            )
            if outcome.get(address) not in ("OK", "removed"):
                logger.warning("could not restart Dask worker %s: %s", address, outcome)
        except Exception:
            logger.exception("could not restart Dask worker %s", address)
        finally:
            self._stopped_one()

    def _stopped_one(self) -> None:
        with self._lock:
            self._stopping -= 1
            self._stopped.notify_all()

    # --- size ----------------------------------------------------------------------------------

    def _every(self, period: float, fn: Callable[[], object]) -> None:
        def run() -> None:
            fn()
            self._timers.call_at(time.monotonic() + period, run)

        self._timers.call_at(time.monotonic() + period, run)

    def _check_idle(self) -> None:
        if self._scaler is None or self._shutdown:
            return
        workers = self._workers_info()
        with self._lock:
            busy = {a for a, jobs in self._running_on.items() if jobs}
            queued = len(self._outstanding) > len(busy)
        if not queued:
            self._scaler.check(workers, busy)

    def _workers_info(self) -> dict[str, Any]:
        try:
            info = self._client.scheduler_info(n_workers=-1)
        except Exception:
            return {}
        return dict(info.get("workers", {}))

    def stats(self) -> WorkersStats:
        """Counters of the pool; one entry per worker of the cluster, with this pool's jobs."""
        workers = self._workers_info() if self._client.status != "closed" else {}
        with self._lock:
            entries = []
            for address in workers:
                succeeded, failed = self._per_worker.get(address, (0, 0))
                running = self._running_on.get(address) or set()
                entries.append(
                    WorkerStats(
                        address,
                        self._pids.get(address),
                        bool(running),
                        succeeded + failed,
                        succeeded,
                        failed,
                        min(running, default=None),
                    )
                )
            running_now = sum(len(jobs) for jobs in self._running_on.values())
            succeeded, failed, crashed = self._counts
            queued = len(self._outstanding) - running_now
        return WorkersStats(
            queued=max(0, queued),
            running=running_now,
            succeeded=succeeded,
            failed=failed,
            crashed=crashed,
            cancelled=self._cancelled,
            timed_out=self._timed_out,
            workers=tuple(entries),
        )

    # --- shutdown ------------------------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting jobs, finish (or cancel) the queued ones, then let go of the cluster.

        An owned cluster is closed; a joined one is left running (only this pool's client, its
        worker plugin and its event subscription go away).

        Args:
            wait: Block until every job ended, stopped jobs' workers were restarted, and the
                client (and an owned cluster) closed.
            cancel_futures: Cancel the jobs that have not started yet.
        """
        with self._lock:
            self._shutdown = True
            pending = list(self._outstanding.values())
            if self._closer is None:
                self._closer = threading.Thread(
                    target=self._close_when_done, name=f"atomiton-dask-close-{self._id}"
                )
                self._closer.start()
            closer = self._closer
        if cancel_futures:
            for job in pending:
                job._cancel(only_pending=True)
        ours = (closer, self._dispatcher, self._timers._thread)
        if wait and threading.current_thread() not in ours:
            closer.join()

    def _close_when_done(self) -> None:
        while True:
            with self._lock:
                jobs = list(self._outstanding.values())
            concurrent.futures.wait(jobs)
            with self._lock:
                if all(job.done() for job in self._outstanding.values()):
                    while self._stopping > 0:
                        self._stopped.wait()
                    break
        self._timers.stop()
        try:
            self._client.unsubscribe_topic(self._topic)
            if not self._owned:
                self._client.unregister_worker_plugin(self._plugin)
        except Exception:
            logger.debug("cleaning up on the joined cluster failed", exc_info=True)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._inbox.put(None)
        self._dispatcher.join()


class _Done:
    """A job's finished Dask future with its fetched result."""

    __slots__ = ("future", "inline", "value")

    def __init__(self, future: Any, value: Any, *, inline: bool = False) -> None:
        self.future = future
        self.value = value
        self.inline = inline

    def result(self) -> Any:
        """The result; one the task sent itself is unpickled here, off Dask's event loop."""
        if not self.inline:
            return self.value
        from distributed.protocol import pickle

        try:
            return pickle.loads(self.value)  # type: ignore[no-untyped-call]
        except Exception as exc:
            return _Failed(exc)


class _Failed:
    """A result that could not be fetched."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _error_of(future: Any, value: Any, job: Job[Any]) -> BaseException:
    """The exception a finished Dask future stands for, in atomiton's terms."""
    from distributed.scheduler import KilledWorker

    if isinstance(value, _Failed):
        error: BaseException = value.error
    elif future.status == "error":
        error = future.exception()
        traceback = future.traceback()
        if traceback is not None:
            error = error.with_traceback(traceback)
    else:
        return WorkerCrashedError(
            f"job {job.id} ({job.name}): Dask dropped its task ({future.status}); the "
            "scheduler or the worker holding its result went away"
        )
    if isinstance(error, KilledWorker):
        crashed = WorkerCrashedError(
            f"job {job.id} ({job.name}): the worker process running it died ({error})"
        )
        crashed.__cause__ = error
        return crashed
    return error
