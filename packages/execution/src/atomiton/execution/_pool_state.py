"""The state a process pool shares between its dispatcher and reader threads, and its workers.

Design (measured against ProcessPoolExecutor, multiprocessing.Pool, loky and pebble):

- One duplex pipe per worker, so the parent always knows which worker runs which job; results
  come back one per job, in order, so a worker's first unanswered job is the one it runs.
- One dispatcher thread (``_dispatcher.py``) sends pickled jobs; when many are queued it sends
  them in small batches (one pipe write for many jobs) and tops busy workers up before they run
  dry.
- One reader thread (``_reader.py``) waits on every worker's pipe *and* on the worker process
  itself: a Linux pidfd, which becomes ready when that very process exits. (The multiprocessing
  sentinel is a pipe the worker holds open; a child the job forked inherits it and would hide
  the worker's death for as long as it lives. Without pidfds the sentinel is used, plus a
  ``waitpid`` poll every ``EXIT_POLL`` seconds unless the start method is forkserver, whose
  sentinel only the fork server holds.) Only the dead worker's running job fails with
  WorkerCrashedError; jobs queued behind it are re-run. The same thread enforces timeouts and
  retires idle workers.
- A worker counts against ``max_workers`` until it is reaped, so the pool never has more
  processes (nor ``stats()`` more entries) than ``max_workers``.
- Everything below runs under ``self._lock`` unless it says otherwise.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from typing import Any

from atomiton.execution._job import Job, JobStatus
from atomiton.execution._worker import worker_main
from atomiton.execution._workers import Workers

logger = logging.getLogger(__name__)
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
#: Longest single wait of the reader (it recomputes its deadlines after each): poll() cannot
#: take more than ~24 days, and a far-off deadline must not make it fail.
MAX_WAIT = 3600.0
#: Without a pidfd, how often the reader asks the OS whether a worker exited (see above).
EXIT_POLL = 0.1


def open_pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when process ``pid`` exits, or None where unsupported."""
    pidfd_open = getattr(os, "pidfd_open", None)  # Linux 5.3+, Python 3.9+
    if pidfd_open is None:
        return None
    try:
        fd: int = pidfd_open(pid)
    except OSError:  # an old kernel, or a sandbox that forbids the call
        return None
    return fd


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
        "killed_job",
        "name",
        "outstanding",
        "pid",
        "pidfd",
        "process",
        "send_lock",
        "sent",
        "succeeded",
    )

    def __init__(
        self,
        name: str,
        process: Any,
        conn: multiprocessing.connection.Connection,
        pidfd: int | None = None,
    ) -> None:
        self.name = name
        self.process = process
        self.pid: int = process.pid
        self.conn = conn
        #: Ready when the process exits (Linux); None: watch ``process.sentinel`` instead.
        self.pidfd = pidfd
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
        #: The job a kill for cancel or timeout was aimed at.
        self.killed_job: Job[Any] | None = None

    @property
    def death(self) -> Any:
        """What the reader waits on to learn that this worker process exited."""
        return self.process.sentinel if self.pidfd is None else self.pidfd

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


class PoolState(Workers):
    """What the dispatcher and the reader of a ProcessWorkers pool share."""

    _start_method: str
    _context: Any
    _max_workers: int
    _min_workers: int
    _idle_timeout: float | None  # None: idle workers are never retired
    _max_tasks: int | None
    _lock: threading.Lock
    _wake: threading.Condition
    _dispatcher_waiting: bool
    _pending: deque[Job[Any]]
    _workers: dict[str, _Worker]
    _by_handle: dict[Any, _Worker]
    _names: itertools.count[int]
    _wakeup_r: multiprocessing.connection.Connection
    _wakeup_w: multiprocessing.connection.Connection
    _wait_list: list[Any]
    _poked: bool
    _stopping: bool
    _crashed: int
    _retired: list[int]

    def _any_outstanding(self) -> bool:
        return any(worker.outstanding for worker in self._workers.values())

    def _begin_head(self, worker: _Worker, started: list[Job[Any]]) -> None:
        """Under the lock: the worker's first unanswered job is now the one it runs."""
        job = worker.outstanding[0]
        if job._start():
            if job.timeout is not None:
                worker.deadline = time.monotonic() + job.timeout
                self._poke_reader()
            if self._observers.active:
                started.append(job)

    def _start_worker(self) -> _Worker:
        """Under the lock: start one worker process and watch it."""
        parent, child = self._context.Pipe(duplex=True)
        close_fds: list[int] = []
        if self._start_method == "fork":  # the child inherits every pipe end we hold
            close_fds = [w.conn.fileno() for w in self._workers.values() if not w.gone]
            close_fds += [w.pidfd for w in self._workers.values() if w.pidfd is not None]
            close_fds += [self._wakeup_r.fileno(), self._wakeup_w.fileno(), parent.fileno()]
        name = f"process-{next(self._names)}"
        process = self._context.Process(
            target=worker_main,
            args=(child, close_fds, list(sys.path)),
            name=f"atomiton-{name}",
            daemon=True,
        )
        process.start()
        child.close()
        # Our unreaped child: its pid cannot be reused before the reader joins it.
        worker = _Worker(name, process, parent, open_pidfd(process.pid))
        self._workers[name] = worker
        self._by_handle[parent] = worker
        self._by_handle[worker.death] = worker
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
        worker.killed_job = worker.outstanding[0] if worker.outstanding else None
        worker.deadline = None  # enforced: the reader must not wake for it again
        try:
            worker.process.kill()
        except (OSError, ValueError, AttributeError):
            logger.debug("worker %s was already gone", worker.name)
