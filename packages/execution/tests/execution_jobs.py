"""Job functions for the tests: module level, so process workers can import them by name."""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from atomiton.execution import ProcessWorkers, Workers, current_job

WorkersFactory = Callable[..., Workers]
ProcessWorkersFactory = Callable[..., ProcessWorkers]


def square(x: int) -> int:
    return x * x


def add(x: int, y: int) -> int:
    return x + y


def echo(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


def noop() -> None:
    return None


def fail_with_value_error(message: str) -> None:
    raise ValueError(message)


def sleep_then_return(seconds: float, value: Any = None) -> Any:
    time.sleep(seconds)
    return value


def pid_of_worker() -> int:
    return os.getpid()


def report_steps(steps: int) -> int:
    job = current_job()
    for step in range(1, steps + 1):
        job.report_progress(step, steps)
    return steps


def job_identity() -> tuple[str, str]:
    job = current_job()
    return job.id, job.name


def spin_until_cancelled(started: threading.Event, limit: float) -> str:
    """A cooperative thread job: runs until current_job().cancelled turns True."""
    job = current_job()
    started.set()
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if job.cancelled:
            return "stopped"
        time.sleep(0.005)
    return "never cancelled"


def exit_abruptly(code: int = 3) -> None:
    os._exit(code)


def segfault() -> None:
    faulthandler.disable()  # pytest's handler, inherited through fork, would print a dump
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def kill_myself() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def return_a_lock() -> Any:
    return threading.Lock()


class UnpicklableError(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickle cannot rebuild it from .args
        super().__init__(f"{a}-{b}")


def raise_unpicklable_error() -> None:
    raise UnpicklableError(1, 2)


def raise_error_holding_a_lock() -> None:
    error = RuntimeError("holds a lock")
    error.lock = threading.Lock()  # type: ignore[attr-defined]
    raise error


class RecordingBus:
    """An event bus stand-in that records what it receives."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], str]] = []

    def emit(self, type: str, data: dict[str, Any], *, source: str) -> None:
        self.events.append((type, data, source))


def touch(path: str) -> None:
    with open(path, "a"):
        pass


def report_one_then_rest(go: threading.Event, steps: int) -> int:
    """A thread job: reports step 1, waits for ``go``, then reports the rest at once."""
    job = current_job()
    job.report_progress(1, steps)
    assert go.wait(10)
    for step in range(2, steps + 1):
        job.report_progress(step, steps)
    return steps


class MyObject:
    """CPython's test object: the executor must not keep it alive once its job is done."""

    def my_method(self) -> None:
        pass


def make_dummy_object(_: object) -> MyObject:
    return MyObject()


def sleep_and_print(seconds: float, message: str) -> None:
    """CPython's sleep_and_print: prints from the worker, so output proves the job ran."""
    time.sleep(seconds)
    print(message, flush=True)


def fork_a_sleeping_child(seconds: float) -> int:
    """Fork a child that outlives this job (it inherits every descriptor); return its pid."""
    pid = os.fork()
    if pid == 0:  # the grandchild: hold the worker's descriptors open, then vanish quietly
        try:
            time.sleep(seconds)
        finally:
            os._exit(0)
    return pid
