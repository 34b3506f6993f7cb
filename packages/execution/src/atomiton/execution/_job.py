"""Job: a concurrent.futures.Future that also knows its id, name, status and progress.

The state changes below reuse the Future's own condition, state strings and waiter list (the
same private names CPython 3.11 to 3.13 use; the suite runs on 3.11 and 3.13), so ``wait()``,
``as_completed()``, done callbacks and ``asyncio.wrap_future`` see a Job exactly as they see any
Future. That lets a Job do
two things a plain Future cannot: be cancelled while running (process workers kill the worker,
thread workers flag it cooperatively) and finish as *timed out*.

Cheaper than a Future: the Future's ``threading.Condition`` (~0.55 µs to build on 3.11, most of
a Future's cost) and its two lists are made only when someone needs them (``result()`` on an
unfinished job, ``wait()``, ``as_completed()``, a done callback). Until then nobody can wait on
the job or be registered with it, so a state change needs no notifying and takes the owning
pool's one plain lock instead. The condition is created under that same lock, and a change
checks for it under the lock: a change that finds no condition completes before anyone can
read the state under the condition; once the condition exists, every change is made under it
exactly as ``Future`` does (state, waiters and ``notify_all`` in one step).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future
from concurrent.futures._base import (
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    FINISHED,
    PENDING,
    RUNNING,
)
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from atomiton.platform import JobEventKind, JobStatus

# JobStatus and JobEventKind are atomiton.platform's, re-exported by the package face.
__all__ = ["Job", "JobEventKind", "JobStatus", "Progress"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_ids = itertools.count(1)
_DONE_STATES = (CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED)


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of what a job reported through ``current_job().report_progress()``.

    Attributes:
        current: Units done so far, or None before the first report.
        total: Units expected in all, or None when unknown.
        percentage: ``100 * current / total`` when both are known, else None.
        eta: Estimated seconds left, from the rate since the job started, else None.
    """

    current: float | None = None
    total: float | None = None
    percentage: float | None = None
    eta: float | None = None


_NO_PROGRESS = Progress()
# Enum attribute lookups cost ~0.2 µs on 3.11; the hot paths use these module constants.
_PENDING_STATUS = JobStatus.PENDING
_RUNNING_STATUS = JobStatus.RUNNING


class _JobOwner(Protocol):
    """What a Job needs from the pool that runs it."""

    #: Guards every job's state changes (held only for a few attribute writes).
    _job_lock: threading.Lock

    @property
    def _observed(self) -> bool: ...

    def _job_changed(self, job: Job[Any], kind: str) -> None: ...

    def _job_cancelled(self, job: Job[Any], was_running: bool) -> None: ...


class _LazyCondition:
    """``Job._condition``: made on first read, under the owning pool's job lock (see above)."""

    def __get__(self, obj: Job[Any] | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        with obj._owner._job_lock:
            return obj.__dict__.setdefault("_condition", threading.Condition())


class _Lazy:
    """A per-instance attribute made on first read (then a plain instance attribute)."""

    def __init__(self, factory: Callable[[], object]) -> None:
        self._factory = factory

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        # setdefault is atomic: two threads racing here get the same object.
        return obj.__dict__.setdefault(self._name, self._factory())


class Job(Future[T]):
    """A unit of work submitted to ThreadWorkers or ProcessWorkers: a Future with more to say.

    Everything a :class:`concurrent.futures.Future` does works unchanged (``result()``,
    ``exception()``, ``add_done_callback()``, ``wait()``, ``as_completed()``); a Job adds an
    ``id``, a ``name``, a :class:`JobStatus`, :class:`Progress` with callbacks, and ``await job``.
    """

    # Class-level defaults: submit() is a hot path, so __init__ sets only what every job needs
    # (a Future already carries a __dict__, so slots would not save memory here).
    #: What the pool needs to run the job (a work item or pickled bytes); dropped when done.
    _payload: Any = None
    #: Which worker ran (or runs) the job, for stats and crash attribution.
    _worker: Any = None
    _status = JobStatus.PENDING
    _started_at: float | None = None
    _current: float | None = None
    _total: float | None = None
    _progress = _NO_PROGRESS
    _progress_callbacks: list[Callable[[Progress], object]] | None = None
    # The Future's fields that cost an allocation, made on first use (see the module docstring).
    _condition = _LazyCondition()
    _waiters = _Lazy(list)
    _done_callbacks = _Lazy(list)

    if TYPE_CHECKING:
        # Future's own (private, so not in typeshed) callback runner, which Job calls as
        # Future.set_result does.
        def _invoke_callbacks(self) -> None: ...

    def __init__(self, owner: _JobOwner, name: str, timeout: float | None) -> None:
        # Future.__init__, inlined (the same fields as CPython 3.11-3.13, the lazy ones aside).
        self._state = PENDING
        self._result = None
        self._exception = None
        self.id: str = str(next(_ids))
        self.name: str = name
        self.timeout: float | None = timeout
        self._owner = owner

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.name!r} {self._status.value}>"

    @property
    def status(self) -> JobStatus:
        """The job's current :class:`JobStatus`."""
        return self._status

    @property
    def progress(self) -> Progress:
        """The latest :class:`Progress` the job reported (all None before the first report)."""
        return self._progress

    @property
    def started_at(self) -> float | None:
        """``time.monotonic()`` when the job started running, or None while pending."""
        return self._started_at

    def add_progress_callback(self, callback: Callable[[Progress], object]) -> None:
        """Call ``callback(progress)`` on every progress report (in the reporting thread).

        As ``add_done_callback``: if the job already reported progress, ``callback`` is called
        at once with the latest report, so no caller misses the end.

        Args:
            callback: Receives the new :class:`Progress`; its exceptions are logged, not raised.
        """
        if self._progress_callbacks is None:
            self._progress_callbacks = []
        self._progress_callbacks.append(callback)
        progress = self._progress
        # A report may land while this runs (the reporting thread calls the callback too): call
        # again until the latest report was passed last, so a stale one is never the final word.
        while progress.current is not None:
            try:
                callback(progress)
            except Exception:
                logger.exception("progress callback %r of %r failed", callback, self)
            latest = self._progress
            if latest is progress:
                break
            progress = latest

    def cancel(self) -> bool:
        """Cancel the job; unlike a plain Future this also works while it runs.

        A pending job never runs. A running process job has its worker killed (and replaced); a
        running thread job is marked cancelled and ``current_job().cancelled`` turns True so the
        code can stop cooperatively. Either way ``result()`` raises ``CancelledError`` at once.

        Returns:
            True if the job is now cancelled, False if it had already finished.
        """
        return self._cancel(only_pending=False)

    def _cancel(self, *, only_pending: bool) -> bool:
        with self._owner._job_lock:
            condition = self.__dict__.get("_condition")
            if condition is None:
                outcome = self._to_cancelled(only_pending)
        if condition is not None:
            with condition:
                outcome = self._to_cancelled(only_pending)
                if outcome is not None and outcome[0]:
                    for waiter in self._waiters:
                        waiter.add_cancelled(self)
                    condition.notify_all()
        if outcome is None or not outcome[0]:
            return outcome is not None
        was_running = outcome[1]
        self._payload = None
        self._owner._job_cancelled(self, was_running)
        if self._owner._observed:
            self._owner._job_changed(self, JobEventKind.CANCELLED)
        if "_done_callbacks" in self.__dict__:
            self._invoke_callbacks()
        return True

    def _to_cancelled(self, only_pending: bool) -> tuple[bool, bool] | None:
        """Cancel under the lock: None if too late, else (changed now, was running)."""
        state = self._state
        if state == FINISHED or (only_pending and state == RUNNING):
            return None
        if state in (CANCELLED, CANCELLED_AND_NOTIFIED):
            return (False, False)
        self._status = JobStatus.CANCELLED
        self._state = CANCELLED_AND_NOTIFIED
        return (True, state == RUNNING)

    # Reading the state needs no lock (one attribute read); the Future's versions would make
    # the condition just to read it.

    def done(self) -> bool:
        """True if the job finished, failed, timed out or was cancelled."""
        return self._state in _DONE_STATES

    def running(self) -> bool:
        """True while the job runs."""
        return self._state == RUNNING

    def cancelled(self) -> bool:
        """True if the job was cancelled."""
        return self._state in (CANCELLED, CANCELLED_AND_NOTIFIED)

    def result(self, timeout: float | None = None) -> T:
        """The job's return value, waiting up to ``timeout`` seconds, as ``Future.result``."""
        if self._state == FINISHED and self._exception is None:
            return self._result  # type: ignore[return-value]
        return super().result(timeout)

    def __await__(self) -> Generator[Any, None, T]:
        """``await job`` in asyncio: waits without blocking the event loop."""
        import asyncio

        future: asyncio.Future[T] = asyncio.wrap_future(self)
        return future.__await__()

    # --- used by the pools -----------------------------------------------------------------

    def _start(self) -> bool:
        """Move a pending job to running; False if it was cancelled meanwhile."""
        with self._owner._job_lock:
            condition = self.__dict__.get("_condition")
            if condition is None:
                if self._state != PENDING:
                    return False
                self._state = RUNNING
                self._status = _RUNNING_STATUS
        if condition is not None:
            with condition:
                if self._state != PENDING:
                    return False
                self._state = RUNNING
                self._status = _RUNNING_STATUS
        self._started_at = time.monotonic()
        return True

    def _requeue(self) -> bool:
        """Move a running job back to pending (its worker died before it began)."""
        with self._owner._job_lock:
            condition = self.__dict__.get("_condition")
            if condition is None:
                if self._state != RUNNING:
                    return False
                self._state = PENDING
                self._status = _PENDING_STATUS
        if condition is not None:
            with condition:
                if self._state != RUNNING:
                    return False
                self._state = PENDING
                self._status = _PENDING_STATUS
        self._started_at = None
        return True

    def _finish(
        self, status: JobStatus, result: Any = None, error: BaseException | None = None
    ) -> bool:
        """Complete the job with a result or an error; False if it already ended (cancelled)."""
        with self._owner._job_lock:
            condition = self.__dict__.get("_condition")
            if condition is None:  # nobody waits or is registered: see the module docstring
                if self._state in _DONE_STATES:
                    return False
                self._status = status
                if error is None:
                    self._result = result
                else:
                    self._exception = error
                self._state = FINISHED
        if condition is not None:
            with condition:
                if self._state in _DONE_STATES:
                    return False
                self._status = status
                if error is None:
                    self._result = result
                    self._state = FINISHED
                    for waiter in self._waiters:
                        waiter.add_result(self)
                else:
                    self._exception = error
                    self._state = FINISHED
                    for waiter in self._waiters:
                        waiter.add_exception(self)
                condition.notify_all()
        self._payload = None
        if self._owner._observed:
            self._owner._job_changed(self, JobEventKind(status.value))
        if "_done_callbacks" in self.__dict__:
            self._invoke_callbacks()
        return True

    def _report(self, current: float, total: float | None) -> None:
        """Record a progress report and tell callbacks, listeners and the event bus."""
        if total is not None and total > 0:
            percentage: float | None = 100.0 * current / total
            eta: float | None = None
            if self._started_at is not None and current > 0:
                elapsed = time.monotonic() - self._started_at
                eta = max(0.0, elapsed * (total - current) / current)
        else:
            percentage = eta = None
        self._current = current
        self._total = total
        progress = self._progress = Progress(current, total, percentage, eta)
        for callback in self._progress_callbacks or ():
            try:
                callback(progress)
            except Exception:
                logger.exception("progress callback %r of %r failed", callback, self)
        if self._owner._observed:
            self._owner._job_changed(self, JobEventKind.PROGRESS)

    def _is_stopping(self) -> bool:
        """True once nobody waits for the running job any more (cancelled or timed out)."""
        return self._state != RUNNING


def check_progress(current: object, total: object) -> tuple[float, float | None]:
    """Validate a progress report, naming the bad value.

    Raises:
        TypeError: ``current`` or ``total`` is not a number.
        ValueError: ``current`` is negative or ``total`` is not positive.
    """
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise TypeError(f"report_progress(current=...) must be a number, got {current!r}")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int | float)):
        raise TypeError(f"report_progress(total=...) must be a number or None, got {total!r}")
    if current < 0:
        raise ValueError(f"report_progress(current=...) must be >= 0, got {current!r}")
    if total is not None and total <= 0:
        raise ValueError(f"report_progress(total=...) must be > 0, got {total!r}")
    return float(current), None if total is None else float(total)
