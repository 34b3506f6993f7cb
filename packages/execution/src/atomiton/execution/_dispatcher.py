"""The dispatcher thread of ProcessWorkers: grows the pool and hands queued jobs to workers."""

from __future__ import annotations

from typing import Any

from atomiton.execution._errors import WorkerCrashedError
from atomiton.execution._job import Job
from atomiton.execution._pool_state import (
    _FAILED,
    _PENDING_STATE,
    _PROTOCOL,
    BATCH_MAX,
    LOW_WATER,
    PoolState,
    _dumps,
    _Worker,
    logger,
)
from atomiton.platform import JobEventKind


class Dispatcher(PoolState):
    """The dispatcher thread's side of a process pool."""

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
            self._deliver(started, sends, doomed)

    def _deliver(
        self,
        started: list[Job[Any]],
        sends: list[tuple[_Worker, bytes]],
        doomed: list[tuple[Job[Any], BaseException]],
    ) -> None:
        """Outside the lock: announce, send and fail what ``_plan`` decided.

        A method of its own so that its loop variables die with it: the dispatcher then holds
        no job while it waits (a finished job must not stay alive through it).
        """
        # "started" goes out before the job does, so no progress or result event of it can
        # overtake it (the reader emits those).
        for job in started:
            self._job_changed(job, JobEventKind.STARTED)
        for worker, data in sends:
            worker.send(data)  # if it died meanwhile, the reader re-queues these jobs
        for job, error in doomed:
            job._finish(_FAILED, error=error)

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
        # Every unreaped process counts, dying ones too: never more than max_workers at once.
        shortfall = min(len(pending) - len(idle), self._max_workers - len(self._workers))
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
            payload = job._payload  # read first: cancel() drops it from the job
            if payload is None or job._state != _PENDING_STATE:  # cancelled while queued
                continue
            job._worker = worker
            outstanding.append(job)
            items.append((job.id, job.name, payload))
            count -= 1
        if not items:
            return None
        worker.sent += len(items)
        if was_idle:
            self._begin_head(worker, started)
        return _dumps(items, _PROTOCOL)
