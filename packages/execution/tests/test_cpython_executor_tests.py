"""CPython 3.13's own concurrent.futures tests, ported to both worker kinds.

``test_free_reference``, ``test_no_stale_references`` and ``test_interpreter_shutdown`` come from
``Lib/test/test_concurrent_futures`` (adapted to the ``make_workers`` fixture and to a subprocess
per worker kind); ``test_max_workers_negative`` keeps the standard message. CPython's
``test_cancel_futures`` expects some queued jobs to finish because the standard pools cannot
cancel what they pre-dispatched; ours can, so that test is replaced by a stricter one.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

from atomiton.execution import JobStatus, ProcessWorkers, ThreadWorkers

from .conftest import ROOT
from .execution_jobs import (
    MyObject,
    ProcessWorkersFactory,
    WorkersFactory,
    make_dummy_object,
    sleep_then_return,
    touch,
)


@pytest.fixture(params=["threads", "processes"])
def kind(request: pytest.FixtureRequest) -> str:
    """The issue names the two local worker kinds (other backends state their own guarantees)."""
    return str(request.param)


#: CPython's support.SHORT_TIMEOUT.
SHORT_TIMEOUT = 30.0


def wait_until_collected(ref: weakref.ref[Any], limit: float = SHORT_TIMEOUT) -> bool:
    """support.sleeping_retry: poll until the object is gone (the worker may still be unwinding)."""
    deadline = time.monotonic() + limit
    while ref() is not None:
        if time.monotonic() > deadline:
            return False
        gc.collect()
        time.sleep(0.01)
    return True


def test_free_reference(make_workers: WorkersFactory) -> None:
    # bpo-14406: the result iterator keeps no reference to results it already yielded.
    workers = make_workers()
    for obj in workers.map(make_dummy_object, range(10)):
        ref = weakref.ref(obj)
        del obj
        assert wait_until_collected(ref), "a yielded result is still referenced"


def test_free_reference_with_explicit_chunks(make_workers: WorkersFactory) -> None:
    # The same with several items per process job: a chunk drops each item as it is yielded.
    workers = make_workers()
    results = workers.map(make_dummy_object, range(10), chunksize=5)
    first = next(results)
    ref = weakref.ref(first)
    del first
    assert wait_until_collected(ref), "the rest of its chunk keeps a yielded result alive"
    assert sum(1 for _ in results) == 9


def test_no_stale_references(make_workers: WorkersFactory) -> None:
    # bpo-16284: the pool keeps no reference to a finished job's callable or arguments.
    workers = make_workers()
    my_object = MyObject()
    collected = threading.Event()
    ref = weakref.ref(my_object, lambda _: collected.set())
    workers.submit(my_object.my_method)  # deliberately discarding the job
    del my_object
    assert collected.wait(timeout=SHORT_TIMEOUT), "stale reference not collected within timeout"
    assert ref() is None


def test_a_finished_job_releases_its_arguments_while_the_caller_holds_it(
    make_workers: WorkersFactory,
) -> None:
    workers = make_workers()
    argument = MyObject()
    ref = weakref.ref(argument)
    job = workers.schedule(sleep_then_return, args=(0, argument), timeout=60)
    returned = job.result(timeout=10)
    assert isinstance(returned, MyObject)
    del argument, returned
    if isinstance(workers, ThreadWorkers):
        # The result is the argument itself: the job the caller holds keeps it, nothing else.
        assert ref() is not None
        del job
    assert wait_until_collected(ref), "the pool keeps a finished job's argument or result"


def test_a_finished_job_that_nobody_holds_is_released(make_workers: WorkersFactory) -> None:
    # jobs() history and the pool's threads keep no finished job (and so no result) alive.
    workers = make_workers(history_limit=1000)
    job = workers.schedule(make_dummy_object, args=(0,), timeout=60)
    result_ref = weakref.ref(job.result(timeout=10))
    job_ref = weakref.ref(job)
    assert workers.jobs() == [job]
    del job
    assert wait_until_collected(job_ref), "the pool keeps a finished job alive"
    assert wait_until_collected(result_ref)
    assert workers.jobs() == []


INTERPRETER_SHUTDOWN = """
import sys
sys.path.append({root!r})
from atomiton.execution import {kind}
from packages.execution.tests.execution_jobs import sleep_and_print

if __name__ == "__main__":
    workers = {kind}(1)
    for word in ("apple", "banana", "cherry"):
        workers.submit(sleep_and_print, 0.2, word)
    # no shutdown(): the jobs still queued must run before the interpreter exits
"""


@pytest.mark.slow
@pytest.mark.parametrize("pool", [ThreadWorkers, ProcessWorkers])
def test_interpreter_shutdown(pool: type, tmp_path: Path) -> None:
    script = tmp_path / "exits_without_shutdown.py"
    script.write_text(INTERPRETER_SHUTDOWN.format(root=ROOT, kind=pool.__name__))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Errors in atexit hooks do not change the exit code: check stderr too, as CPython does.
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split() == ["apple", "banana", "cherry"]


@pytest.mark.parametrize("max_workers", [0, -1])
def test_max_workers_negative(make_workers: WorkersFactory, max_workers: int) -> None:
    with pytest.raises(ValueError, match="max_workers must be greater than 0"):
        make_workers(max_workers=max_workers)


def test_shutdown_cancels_the_jobs_sent_ahead_to_a_busy_worker(
    make_process_workers: ProcessWorkersFactory, tmp_path: Path
) -> None:
    # Beyond CPython's test_cancel_futures: jobs already handed to a busy worker's own queue are
    # cancelled too and never run (the standard pools run what they pre-dispatched).
    workers = make_process_workers(max_workers=1)
    blocker = workers.submit(sleep_then_return, 1.0, "done")
    deadline = time.monotonic() + 10
    while not blocker.running():
        assert time.monotonic() < deadline, "the first job never started"
        time.sleep(0.002)
    markers = [tmp_path / f"ran-{n}" for n in range(50)]
    jobs = [workers.submit(touch, str(marker)) for marker in markers]
    deadline = time.monotonic() + 0.8
    while not any(job._worker is not None for job in jobs):
        assert time.monotonic() < deadline, "no job was sent ahead to the busy worker"
        time.sleep(0.002)
    workers.shutdown(wait=True, cancel_futures=True)
    assert blocker.result(timeout=0) == "done"
    assert all(job.status is JobStatus.CANCELLED for job in jobs)
    assert [marker.name for marker in markers if marker.exists()] == []
    assert workers.stats().cancelled == 50
