"""The reader thread of ProcessWorkers: results, progress, crashes, timeouts, idle workers."""

from __future__ import annotations

import multiprocessing.connection
import os
import time
from typing import Any

from atomiton.execution._errors import JobTimeoutError, SerializationError, WorkerCrashedError
from atomiton.execution._job import Job, JobStatus
from atomiton.execution._pool_state import (
    _FAILED,
    _PENDING_STATE,
    _SUCCEEDED,
    EXIT_POLL,
    LOW_WATER,
    MAX_WAIT,
    PoolState,
    _describe_exit,
    _loads,
    _RemoteTraceback,
    _Worker,
    logger,
)
from atomiton.execution._worker import ERROR, OK, PROGRESS, SKIPPED
from atomiton.platform import JobEventKind


class Reader(PoolState):
    """The reader thread's side of a process pool."""

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
                # Drain first, then clear the flag: a poke that lands in between finds the flag
                # still set and writes nothing, but its change is made before it, under the
                # lock, so the next loop (which reads the state under the lock) sees it.
                # Clearing first would let a poke's byte be drained with the flag left set,
                # and every later poke would be swallowed.
                while self._wakeup_r.poll():
                    self._wakeup_r.recv_bytes()
                with self._lock:
                    self._poked = False
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
        if self._exit_polled():
            soonest = time.monotonic() + EXIT_POLL
        idle_timeout = self._idle_timeout
        live = sum(1 for w in self._workers.values() if w.exit_reason is None)
        for worker in self._workers.values():
            when = worker.deadline
            if (
                idle_timeout is not None
                and not worker.outstanding
                and worker.exit_reason is None
                and live > self._min_workers
            ):
                idle_end = worker.idle_since + idle_timeout
                when = idle_end if when is None else min(when, idle_end)
            if when is not None and (soonest is None or when < soonest):
                soonest = when
        return None if soonest is None else min(MAX_WAIT, max(0.0, soonest - time.monotonic()))

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
            self._job_changed(other, JobEventKind.STARTED)
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
            self._by_handle.pop(worker.death, None)
            self._rebuild_wait_list()
            jobs = list(worker.outstanding)
            worker.outstanding.clear()
            self._retired[0] += worker.succeeded
            self._retired[1] += worker.failed
            # A crash takes the job the worker was running (the first unanswered one) with it;
            # a kill for cancel or timeout ends the job it was aimed at, which is already
            # final. Any other job it held had not started, or was cut short through no fault
            # of its own (its predecessor finished just before the kill): run it elsewhere.
            head = jobs[0] if jobs and worker.exit_reason is None else None
            for job in reversed(jobs):
                if job is head or job is worker.killed_job:
                    continue
                job._requeue()
                if job._state == _PENDING_STATE:
                    self._pending.appendleft(job)
            live = sum(1 for w in self._workers.values() if w.exit_reason is None)
            if (
                not self._stopping
                and live < self._min_workers
                and len(self._workers) < self._max_workers
            ):
                self._start_worker()
            if self._dispatcher_waiting:
                self._wake.notify()
        worker.conn.close()
        worker.process.close()
        if worker.pidfd is not None:
            os.close(worker.pidfd)
        worker.killed_job = None  # a job the caller holds keeps this worker; not other jobs
        if not jobs and worker.exit_reason is None:
            logger.warning(
                "worker process %s (pid %s) exited while idle: %s",
                worker.name,
                worker.pid,
                _describe_exit(exitcode),
            )
        if head is not None:
            error = WorkerCrashedError(
                f"the worker process {worker.pid} running job {head.id} ({head.name}) died: "
                f"{_describe_exit(exitcode)}"
            )
            if head._finish(JobStatus.FAILED, error=error):
                self._crashed += 1

    def _exit_polled(self) -> bool:
        """Under the lock: True if some worker's exit can only be learned by asking the OS."""
        return self._start_method != "forkserver" and any(
            w.pidfd is None for w in self._workers.values()
        )

    def _check_timers(self) -> None:
        now = time.monotonic()
        expired: list[Job[Any]] = []
        with self._lock:
            polled = list(self._workers.values()) if self._exit_polled() else []
        for worker in polled:
            # waitpid(WNOHANG) through multiprocessing, which keeps the exit code for join().
            if worker.pidfd is None and not worker.gone and worker.process.exitcode is not None:
                self._on_exit(worker)
        with self._lock:
            live = sum(1 for w in self._workers.values() if w.exit_reason is None)
            for worker in list(self._workers.values()):
                if worker.exit_reason is not None:
                    continue
                if worker.deadline is not None and worker.deadline <= now and worker.outstanding:
                    expired.append(worker.outstanding[0])
                    self._kill(worker, "timeout")
                elif (
                    self._idle_timeout is not None
                    and not worker.outstanding
                    and live > self._min_workers
                    and now - worker.idle_since >= self._idle_timeout
                ):
                    self._retire(worker)
                    live -= 1
        for job in expired:
            error = JobTimeoutError(f"job {job.id} ({job.name}) ran longer than {job.timeout} s")
            if job._finish(JobStatus.TIMED_OUT, error=error):
                self._count_final(JobStatus.TIMED_OUT)
