"""What runs inside the Dask cluster for DaskWorkers: the task wrapper and the two plugins.

Everything here is unpickled on the cluster's workers (and the crash guard on its scheduler), so
atomiton-execution must be installed there too. The messages it sends are small msgpack lists
through Dask's structured events, which reach the client on the same ordered stream as Dask's own
task reports:

- ``["s", job_id, key, worker, pid]``: the job started on ``worker`` (process ``pid``); written
  to the worker's stream to the scheduler by the worker's event loop as the task is handed to
  its thread, before the function runs (not answered), where the crash guard records it and
  publishes it;
- ``["p", job_id, current, total]``: a progress report (``Worker.log_event``: no waiting);
- ``["r", job_id, pickled]``: the job's result, if small, queued by the worker's event loop as
  the task ends, just ahead of Dask's "task finished", and passed by the crash guard to the
  pool's client only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import threading
import time
from typing import Any

import cloudpickle  # type: ignore[import-untyped]
from dask.sizeof import sizeof
from distributed import get_worker
from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin
from distributed.protocol import pickle as dask_pickle
from distributed.utils import sync

from atomiton.execution._context import JobContext, set_running
from atomiton.execution._errors import NotImportableError, SerializationError, WorkerCrashedError

__all__ = [
    "CRASHED",
    "INLINE_LIMIT",
    "RESULT_OP",
    "STARTED_OP",
    "CrashGuard",
    "DaskCall",
    "JobsPlugin",
    "flag_cancelled",
    "is_running",
    "topic_prefix",
]

logger = logging.getLogger(__name__)
#: Prefix of every DaskWorkers pool's event topic (the crash guard watches these).
topic_prefix = "atomiton-jobs-"
#: Operation of a job's start message on a worker's stream to the scheduler.
STARTED_OP = "atomiton-job-started"
#: Operation of a job's small result on a worker's stream to the scheduler.
RESULT_OP = "atomiton-job-result"
#: Results up to this many bytes (serialized) reach the caller with the task's end, unasked.
INLINE_LIMIT = 16 * 1024
#: Seconds a task waits for its start notice from the loop before sending it itself.
_ANNOUNCE_WAIT = 5.0
#: Annotation the crash guard puts on a job whose worker died while running it.
CRASHED = "atomiton-crashed-on"


class JobsPlugin(WorkerPlugin):
    """Per-pool state on each worker, and the pool's messages sent from the worker's event loop.

    Keeps which jobs run here and which were asked to stop. Its ``transition`` hook, called by
    the worker in its event loop as the pool's tasks change state, sends their start notices and
    small results from there, so the task's own thread never waits for the loop:

    - a task about to execute: its start notice is written to the scheduler connection in a
      loop callback queued before Dask's own callback that hands the task to a thread, so it is
      on the socket before the function runs (the task's thread checks, and waits only if not);
    - a task that finished with a small result: the result is queued on the worker's stream just
      before Dask's "task finished", in the same batch.
    """

    idempotent = True

    def __init__(self, topic: str = "", client: str = "") -> None:
        self.topic = topic
        self.client = client
        self.prefix = topic + "-"
        self.running: dict[str, int] = {}
        self.cancelled: set[str] = set()
        #: key -> set once its start notice is on the socket (written by the loop)
        self.announced: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.worker: Any = None
        self._writing: set[asyncio.Task[None]] = set()  # held until done (asyncio keeps weak refs)

    def __getstate__(self) -> dict[str, Any]:
        # Every worker starts with empty state (a lock cannot be pickled).
        return {"topic": self.topic, "client": self.client}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def setup(self, worker: Any) -> None:
        """Called by Dask when the plugin is installed on a worker."""
        self.worker = worker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        """Called by the worker in its event loop on every task state change."""
        if not (isinstance(key, str) and key.startswith(self.prefix)):
            return
        worker = self.worker
        if worker is None:
            return
        try:
            if finish == "executing" and start in ("ready", "constrained"):
                # Only Dask's two ways into a new execution: a task taken back from
                # "cancelled" while its thread still runs must not announce a second start.
                self._announce(worker, key)
            elif finish in ("memory", "error", "released", "forgotten"):
                # Its thread is done (or never ran): an unread notice flag is dropped. Not on
                # "cancelled": the thread may still start, and must find that it was written.
                self.announced.pop(key, None)
                if start == "executing" and finish == "memory":
                    self._send_result(worker, key)
        except Exception:  # a failing hook must not disturb the worker; the task falls back
            logger.exception("atomiton jobs plugin: %s %s -> %s", key, start, finish)

    def _announce(self, worker: Any, key: str) -> None:
        ts = worker.state.tasks.get(key)
        if ts is None or (ts.annotations and CRASHED in ts.annotations):
            return  # the task raises WorkerCrashedError without running anything
        loop = asyncio.get_running_loop()
        written = threading.Event()
        started = ["s", key[len(self.prefix) :], key, worker.address, os.getpid()]
        message = {"op": STARTED_OP, "topic": self.topic, "msg": started}
        self.announced[key] = written
        # Queued now, before Dask queues the task's execution (after this hook returns).
        task = loop.create_task(_send_now(worker, message, written))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    def _send_result(self, worker: Any, key: str) -> None:
        ts = worker.state.tasks.get(key)
        if ts is None or ts.nbytes is None or ts.nbytes > INLINE_LIMIT or key not in worker.data:
            return
        blob = _small(worker.data[key])
        if blob is not None:
            # Before Dask's "task finished" (sent once the transitions are done), same batch:
            # the caller gets the result without asking for it (Dask still keeps it).
            message = ["r", key[len(self.prefix) :], blob]
            worker.batched_send(
                {"op": RESULT_OP, "topic": self.topic, "msg": message, "client": self.client}
            )


class DaskCall:
    """One job as Dask sees it: an opaque callable, so Dask never reads the user's arguments.

    Dask takes ``key=``, ``workers=``, ``retries=``, ``priority=``, ``resources=`` and ``pure=``
    for itself and looks for futures inside argument lists; here the user's callable and
    arguments are one cloudpickle ``payload`` (plus its out-of-band buffers) that reaches ``fn``
    untouched. The payload is loaded when the task runs, not when the worker reads it off its
    connection: a callable the worker cannot import then fails its job with
    ``NotImportableError``, where Dask's own unpickling of the message would fail the worker's
    whole connection to the scheduler and leave the job queued forever. cloudpickle (rather than
    Dask's plain pickle first) because it honours ``cloudpickle.register_pickle_by_value`` for
    the callable and the arguments; Dask only checks the object it is given, here this wrapper.
    """

    __slots__ = ("buffers", "job_id", "name", "payload", "plugin", "topic")

    def __init__(
        self,
        fn: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        job_id: str,
        name: str,
        plugin: str,
        topic: str,
    ) -> None:
        buffers: list[pickle.PickleBuffer] = []
        try:
            self.payload = cloudpickle.dumps(
                (fn, args, kwargs), protocol=5, buffer_callback=buffers.append
            )
        except Exception as exc:
            raise SerializationError(
                f"job {name!r} cannot be sent to Dask: its callable or an argument cannot be "
                f"pickled ({type(exc).__name__}: {exc})"
            ) from exc
        self.buffers = buffers  # large arrays' memory, sent by Dask without a copy
        self.job_id = job_id
        self.name = name
        self.plugin = plugin
        self.topic = topic

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)

    def _load(self) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        try:
            loaded: tuple[Any, tuple[Any, ...], dict[str, Any]] = cloudpickle.loads(
                self.payload, buffers=self.buffers
            )
        except (ImportError, AttributeError) as exc:
            raise NotImportableError(
                f"the Dask worker cannot load job {self.name!r}: {type(exc).__name__}: {exc}. "
                "Dask workers import the callable (and the arguments' classes) by name: "
                "install its module on the workers, or have cloudpickle send the module by "
                "value (cloudpickle.register_pickle_by_value)"
            ) from None
        except Exception as exc:
            raise SerializationError(
                f"the Dask worker cannot unpickle job {self.name!r}: {type(exc).__name__}: {exc}"
            ) from None
        return loaded

    def __call__(self) -> Any:
        worker = get_worker()
        key = worker.get_current_task()
        state = worker.state.tasks.get(key)
        annotations = state.annotations if state is not None else None
        if annotations and CRASHED in annotations:
            raise WorkerCrashedError(
                f"job {self.job_id} ({self.name}): the worker process running it "
                f"({annotations[CRASHED]}) died; Dask would have run it again, atomiton does not"
            )
        topic, job_id = self.topic, self.job_id
        plugin = worker.plugins.get(self.plugin)
        jobs = plugin if isinstance(plugin, JobsPlugin) else None
        if jobs is not None:
            with jobs.lock:
                jobs.running[job_id] = threading.get_ident()
        # The start notice is on the scheduler connection before the function runs, so the
        # crash guard reads it before it learns that this worker died, even if the function
        # kills the process at once. Normally the plugin had the loop write it already.
        written = jobs.announced.pop(str(key), None) if jobs is not None else None
        if written is None or not written.wait(_ANNOUNCE_WAIT):
            started = ["s", job_id, str(key), worker.address, os.getpid()]
            message = {"op": STARTED_OP, "topic": topic, "msg": started}
            sync(worker.loop, _send_now, worker, message, None)

        def send(current: float, total: float | None) -> None:
            worker.log_event(topic, ["p", job_id, current, total])

        def stopping() -> bool:
            return jobs is not None and job_id in jobs.cancelled

        set_running(JobContext(job_id, self.name, send, stopping))
        try:
            fn, args, kwargs = self._load()
            return fn(*args, **kwargs)
        finally:
            set_running(None)
            if jobs is not None:
                with jobs.lock:
                    jobs.running.pop(job_id, None)


def _small(value: Any) -> bytes | None:
    """``value`` serialized as Dask sends results, if it is at most ``INLINE_LIMIT`` bytes."""
    if sizeof(value) > INLINE_LIMIT:
        return None
    try:
        blob: bytes = dask_pickle.dumps(value)  # type: ignore[no-untyped-call]
    except Exception:  # Dask reports it when it sends the result itself
        return None
    return blob if len(blob) <= INLINE_LIMIT else None


async def _send_now(worker: Any, message: dict[str, Any], written: threading.Event | None) -> None:
    """Write ``message`` on the worker's stream to the scheduler now, with what is queued on it.

    The stream's own writer sends at most every 2 ms; here the message, after the ones queued
    before it (so their order holds), goes to the socket at once (a small message is written
    before the first ``await`` returns). Once written the kernel delivers it even if this
    process dies next, and the scheduler reads the stream in order, so it handles the message
    before it handles the closed connection (the worker's removal). ``written`` is set after,
    whatever happened (a closed connection means the worker is going away anyway).
    """
    try:
        stream = worker.batched_stream
        stream.send(message)
        payload, stream.buffer = stream.buffer, []
        if payload:
            await stream.comm.write(payload, serializers=stream.serializers, on_error="raise")
    finally:
        if written is not None:
            written.set()


def _jobs(dask_worker: Any, plugin: str) -> JobsPlugin | None:
    found = dask_worker.plugins.get(plugin)
    return found if isinstance(found, JobsPlugin) else None


def flag_cancelled(plugin: str, job_id: str, dask_worker: Any = None) -> bool:
    """Run on a worker by ``Client.run``: turn the job's ``cancelled`` flag on.

    Returns:
        True if the job runs on this worker now.
    """
    jobs = _jobs(dask_worker, plugin)
    if jobs is None:
        return False
    with jobs.lock:
        running = job_id in jobs.running
        if running:
            jobs.cancelled.add(job_id)
        return running


def is_running(plugin: str, job_id: str, dask_worker: Any = None) -> bool:
    """Run on a worker by ``Client.run``: is the job still running here? Clears its flag if not."""
    jobs = _jobs(dask_worker, plugin)
    if jobs is None:
        return False
    with jobs.lock:
        running = job_id in jobs.running
        if not running:
            jobs.cancelled.discard(job_id)
        return running


class CrashGuard(SchedulerPlugin):
    """On the scheduler: a job whose worker died while running it fails instead of running again.

    Dask reschedules every task that was *processing* on a worker that died, whether it had
    started or was only assigned there. The guard learns from each job's start event which keys
    really started, and marks those (and only those) when they are taken off a dead worker; the
    task wrapper then raises ``WorkerCrashedError`` instead of calling the function again.
    """

    idempotent = True
    # The scheduler keeps one plugin per name. Versioned: this guard's messages arrive on the
    # workers' streams, and a stream message without a handler closes the worker's connection,
    # so a scheduler still holding an older guard must get this one beside it.
    name = "atomiton-crash-guard-2"

    def __init__(self) -> None:
        self.started: dict[str, str] = {}
        self.scheduler: Any = None

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        scheduler.stream_handlers[STARTED_OP] = self.job_started
        scheduler.stream_handlers[RESULT_OP] = self.job_result

    def job_started(self, topic: str, msg: list[Any], worker: str | None = None) -> None:
        """Handler of a task's start message: record it, then pass it on to the pool."""
        try:
            self.started[msg[2]] = msg[3]
            self.scheduler.log_event(topic, msg)
        except Exception:  # raising here would close the worker's stream
            logger.exception("atomiton crash guard: bad start message %r", msg)

    def job_result(
        self, topic: str, msg: list[Any], client: str, worker: str | None = None
    ) -> None:
        """Handler of a task's small result: pass it on to the pool's client only (not logged)."""
        try:
            event = {"op": "event", "topic": topic, "event": (time.time(), msg)}
            self.scheduler.send_all({client: [event]}, worker_msgs={})
        except Exception:  # raising here would close the worker's stream
            logger.exception("atomiton crash guard: could not pass on a result of %s", topic)

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        where = self.started.get(key) if isinstance(key, str) else None
        if where is None:
            return
        if start == "processing" and finish in ("released", "waiting"):
            ts = self.scheduler.tasks.get(key) if self.scheduler is not None else None
            if ts is not None and ts.who_wants and where not in self.scheduler.workers:
                ts.annotations = {**(ts.annotations or {}), CRASHED: where}
                return
        if finish != "processing":
            self.started.pop(key, None)
