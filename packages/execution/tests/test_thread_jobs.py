"""Thread jobs: cooperative cancellation and timeouts (a thread cannot be killed)."""

from __future__ import annotations

import math
import threading
import time

import pytest

from atomiton.execution import JobStatus, JobTimeoutError, Progress, ThreadWorkers

from .execution_jobs import report_one_then_rest, sleep_then_return, spin_until_cancelled


def test_cancelling_a_running_thread_job_sets_its_cooperative_flag() -> None:
    with ThreadWorkers(max_workers=1) as workers:
        started = threading.Event()
        job = workers.submit(spin_until_cancelled, started, 10.0)
        assert started.wait(10)
        assert job.cancel() is True
        assert job.status is JobStatus.CANCELLED
        assert job.cancelled()
        # The thread notices, stops early, and its return value is discarded.
        deadline = time.monotonic() + 5
        while workers.stats().running and time.monotonic() < deadline:
            time.sleep(0.005)
        assert workers.stats().running == 0


def test_a_timed_out_thread_job_is_marked_and_its_flag_turns_true() -> None:
    with ThreadWorkers(max_workers=1) as workers:
        started = threading.Event()
        job = workers.schedule(spin_until_cancelled, args=(started, 10.0), timeout=0.1)
        with pytest.raises(JobTimeoutError):
            job.result(timeout=10)
        assert job.status is JobStatus.TIMED_OUT
        deadline = time.monotonic() + 5
        while workers.stats().running and time.monotonic() < deadline:
            time.sleep(0.005)
        assert workers.stats().running == 0


def test_max_tasks_per_worker_replaces_the_thread() -> None:
    with ThreadWorkers(max_workers=1, max_tasks_per_worker=2) as workers:
        names = []
        for _ in range(4):
            job = workers.submit(sleep_then_return, 0, None)
            job.result(timeout=10)
            names.append(job._worker)
        assert names[0] == names[1] != names[2] == names[3]


def test_shutdown_runs_every_queued_job_while_max_tasks_per_worker_recycles_threads() -> None:
    # Regression: a thread retired by max_tasks_per_worker during shutdown was not replaced, so
    # the jobs queued behind it stayed pending forever.
    workers = ThreadWorkers(max_workers=1, max_tasks_per_worker=2)
    jobs = [workers.submit(sleep_then_return, 0.01, n) for n in range(7)]
    workers.shutdown(wait=True)
    assert [job.result(timeout=0) for job in jobs] == list(range(7))
    assert workers.stats().workers == ()


def test_shutdown_stops_every_thread_promptly() -> None:
    # Each thread takes one stop marker; a thread that took one must not start a replacement,
    # or the replacement takes a marker meant for another thread, which then waits forever.
    for _ in range(5):
        workers = ThreadWorkers(max_workers=4, min_workers=4, idle_timeout=math.inf)
        stopper = threading.Thread(target=workers.shutdown, daemon=True)
        stopper.start()
        stopper.join(timeout=10)
        assert not stopper.is_alive(), "shutdown(wait=True) hung"
        assert workers.stats().workers == ()


def test_a_progress_callback_added_mid_run_ends_on_the_latest_report() -> None:
    # The callback is called at once with the report so far (step 1) while the job goes on
    # reporting on its own thread; that stale call must not be the last one the callback sees.
    with ThreadWorkers(max_workers=1) as workers:
        go = threading.Event()
        job = workers.submit(report_one_then_rest, go, 5)
        deadline = time.monotonic() + 10
        while job.progress.current is None:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        caller = threading.current_thread()
        seen: list[float | None] = []

        def slow_on_the_caller(progress: Progress) -> None:
            if threading.current_thread() is caller:
                go.set()  # the job reports steps 2..5 while this call is still busy
                time.sleep(0.1)
            seen.append(progress.current)

        job.add_progress_callback(slow_on_the_caller)
        assert job.result(timeout=10) == 5
        assert seen[-1] == 5


def test_thread_names_carry_the_prefix() -> None:
    with ThreadWorkers(max_workers=1, thread_name_prefix="resize") as workers:
        name = workers.submit(lambda: threading.current_thread().name).result(timeout=10)
    assert name.startswith("resize-")
