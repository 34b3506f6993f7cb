"""One Executor conformance suite, run against ThreadWorkers and ProcessWorkers alike.

Each test states a behaviour ``concurrent.futures`` documents (or the Job API adds); a new kind
of worker pool is checked by adding it to the ``kind`` fixture in conftest.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import threading
import time
import traceback
from concurrent.futures import CancelledError, Executor, Future

import pytest

from atomiton.execution import (
    Job,
    JobStatus,
    JobTimeoutError,
    NotInJobError,
    Progress,
    WorkersShutdownError,
    current_job,
)

from .execution_jobs import (
    WorkersFactory,
    add,
    echo,
    fail_with_value_error,
    job_identity,
    noop,
    report_steps,
    sleep_then_return,
    square,
)


def test_pool_is_a_concurrent_futures_executor(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    assert isinstance(workers, Executor)
    job = workers.submit(square, 7)
    assert isinstance(job, Future)
    assert isinstance(job, Job)
    assert job.result(timeout=10) == 49


def test_submit_passes_args_and_kwargs_and_fn_is_positional_only(
    make_workers: WorkersFactory,
) -> None:
    workers = make_workers()
    # "fn" as a keyword belongs to the job, not to submit().
    assert workers.submit(echo, 1, 2, fn="f", x=3).result(timeout=10) == (
        (1, 2),
        {"fn": "f", "x": 3},
    )


def test_exception_is_reraised_with_its_traceback(make_workers: WorkersFactory, kind: str) -> None:
    workers = make_workers()
    job = workers.submit(fail_with_value_error, "bad input")
    with pytest.raises(ValueError, match="bad input") as raised:
        job.result(timeout=10)
    text = "".join(traceback.format_exception(raised.value))
    assert "fail_with_value_error" in text
    assert isinstance(job.exception(), ValueError)
    assert job.status is JobStatus.FAILED


def test_map_returns_results_in_order_over_several_iterables(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    assert list(workers.map(add, range(50), range(100, 150))) == [
        a + b for a, b in zip(range(50), range(100, 150), strict=True)
    ]


@pytest.mark.parametrize("chunksize", [None, 1, 3, 1000])
def test_map_chunksize_never_changes_the_results(
    make_workers: WorkersFactory, chunksize: int | None
) -> None:
    workers = make_workers()
    assert list(workers.map(square, range(37), chunksize=chunksize)) == [x * x for x in range(37)]


def test_map_of_nothing_is_empty(make_workers: WorkersFactory) -> None:
    assert list(make_workers().map(square, [])) == []


def test_map_rejects_a_chunksize_below_one(make_workers: WorkersFactory) -> None:
    with pytest.raises(ValueError, match="chunksize"):
        make_workers().map(square, [1], chunksize=0)


def test_map_raises_timeout_error_when_results_are_late(make_workers: WorkersFactory) -> None:
    workers = make_workers(max_workers=1)
    results = workers.map(sleep_then_return, [0.3, 0.3], timeout=0.1)
    with pytest.raises(TimeoutError):
        list(results)


@pytest.mark.parametrize("chunksize", [None, 1])
def test_abandoning_a_map_cancels_what_has_not_started(
    make_workers: WorkersFactory, chunksize: int | None
) -> None:
    workers = make_workers(max_workers=1)
    results = workers.map(sleep_then_return, [0.05] * 40, chunksize=chunksize)
    assert next(results) is None
    results.close()  # type: ignore[attr-defined]
    workers.shutdown(wait=True)
    stats = workers.stats()
    assert stats.cancelled > 0
    assert stats.succeeded < 40


def test_map_reraises_the_first_error_when_reached(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    results = workers.map(fail_with_value_error, ["x"], chunksize=1)
    with pytest.raises(ValueError, match="x"):
        next(iter(results))


def test_submit_after_shutdown_raises_runtime_error(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    workers.shutdown()
    with pytest.raises(RuntimeError):
        workers.submit(noop)
    with pytest.raises(WorkersShutdownError, match="after shutdown"):
        workers.schedule(noop)


def test_shutdown_waits_for_queued_jobs(make_workers: WorkersFactory) -> None:
    workers = make_workers(max_workers=1)
    jobs = [workers.submit(sleep_then_return, 0.05, n) for n in range(4)]
    workers.shutdown(wait=True)
    assert [job.result(timeout=0) for job in jobs] == [0, 1, 2, 3]


def test_shutdown_with_cancel_futures_cancels_what_has_not_started(
    make_workers: WorkersFactory,
) -> None:
    workers = make_workers(max_workers=1)
    # Long enough that the queued jobs cannot start before shutdown() on a loaded machine.
    first = workers.submit(sleep_then_return, 1.0, "first")
    deadline = time.monotonic() + 10
    while not first.running() and time.monotonic() < deadline:
        time.sleep(0.005)
    queued = [workers.submit(square, n) for n in range(5)]
    workers.shutdown(wait=True, cancel_futures=True)
    assert first.result(timeout=0) == "first"
    assert all(job.cancelled() for job in queued)
    assert all(job.status is JobStatus.CANCELLED for job in queued)


def test_shutdown_without_wait_returns_at_once_and_jobs_still_finish(
    make_workers: WorkersFactory,
) -> None:
    workers = make_workers(max_workers=1)
    jobs = [workers.submit(sleep_then_return, 0.3, n) for n in range(3)]
    workers.shutdown(wait=False)
    # The last job needs 0.9 s of the only worker: shutdown did not wait for it. (No bound on
    # how long shutdown took: this machine is shared and loaded.)
    assert not jobs[-1].done()
    assert [job.result(timeout=10) for job in jobs] == [0, 1, 2]


def test_callbacks_and_listeners_may_submit_more_work(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    follow_ups: list[Job[int]] = []
    workers.add_job_listener(
        lambda job: (
            follow_ups.append(workers.submit(square, 5))
            if job.name == "trigger" and job.status is JobStatus.SUCCEEDED
            else None
        )
    )
    first = workers.schedule(square, args=(2,), name="trigger")
    first.add_done_callback(lambda job: follow_ups.append(workers.submit(square, 3)))
    assert first.result(timeout=10) == 4
    deadline = time.monotonic() + 10
    while len(follow_ups) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert sorted(job.result(timeout=10) for job in follow_ups) == [9, 25]


def test_context_manager_shuts_down_on_exit(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    with workers as entered:
        assert entered is workers
        job = workers.submit(square, 3)
    assert job.result(timeout=0) == 9
    with pytest.raises(RuntimeError):
        workers.submit(noop)


def test_cancel_a_pending_job_means_it_never_runs(make_workers: WorkersFactory) -> None:
    workers = make_workers(max_workers=1)
    blocker = workers.submit(sleep_then_return, 0.3)
    waiting = workers.submit(square, 2)
    assert waiting.cancel() is True
    assert waiting.cancelled()
    with pytest.raises(CancelledError):
        waiting.result(timeout=0)
    blocker.result(timeout=10)
    assert waiting.status is JobStatus.CANCELLED
    assert workers.stats().cancelled == 1


def test_cancel_after_completion_returns_false(make_workers: WorkersFactory) -> None:
    job = make_workers().submit(square, 2)
    job.result(timeout=10)
    assert job.cancel() is False
    assert job.status is JobStatus.SUCCEEDED


def test_done_callbacks_wait_and_as_completed_see_jobs_as_futures(
    make_workers: WorkersFactory,
) -> None:
    workers = make_workers()
    seen: list[int] = []
    jobs = [workers.submit(square, n) for n in range(6)]
    jobs[0].add_done_callback(lambda job: seen.append(job.result()))
    done, not_done = concurrent.futures.wait(jobs, timeout=10)
    assert len(done) == 6
    assert not not_done
    assert sorted(job.result() for job in concurrent.futures.as_completed(jobs, timeout=10)) == [
        n * n for n in range(6)
    ]
    assert seen == [0]


async def test_run_in_executor_and_await_job_work_in_asyncio(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(workers, square, 9) == 81
    assert await workers.submit(add, 2, 3) == 5


def test_job_has_id_name_and_status(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    first = workers.submit(square, 1)
    named = workers.schedule(square, args=(2,), name="resize")
    assert first.result(timeout=10) == 1
    assert named.result(timeout=10) == 4
    assert first.id != named.id
    assert first.name == "square"
    assert named.name == "resize"
    assert first.status is JobStatus.SUCCEEDED
    assert workers.submit(job_identity).result(timeout=10)[1] == "job_identity"


def test_current_job_inside_a_job_knows_its_id(make_workers: WorkersFactory) -> None:
    job = make_workers().schedule(job_identity, name="who-am-i")
    assert job.result(timeout=10) == (job.id, "who-am-i")


def test_current_job_outside_a_job_raises_not_in_job_error() -> None:
    with pytest.raises(NotInJobError, match="outside a job"):
        current_job()


def test_progress_reports_reach_the_caller_with_callbacks(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    received: list[Progress] = []
    arrived = threading.Event()

    def on_progress(progress: Progress) -> None:
        received.append(progress)
        if progress.current == 4:
            arrived.set()

    job = workers.submit(report_steps, 4)
    job.add_progress_callback(on_progress)
    assert job.result(timeout=10) == 4
    assert arrived.wait(10)
    final = job.progress
    assert (final.current, final.total, final.percentage) == (4, 4, 100.0)
    assert final.eta == 0.0
    assert received[-1] == final


def test_progress_is_empty_before_any_report(make_workers: WorkersFactory) -> None:
    job = make_workers().submit(noop)
    job.result(timeout=10)
    assert job.progress == Progress(None, None, None, None)


def test_timeout_fails_a_job_that_overruns_with_job_timeout_error(
    make_workers: WorkersFactory,
) -> None:
    workers = make_workers()
    job = workers.schedule(sleep_then_return, args=(0.6,), timeout=0.2)
    with pytest.raises(JobTimeoutError):
        job.result(timeout=10)
    assert job.status is JobStatus.TIMED_OUT
    assert isinstance(job.exception(), TimeoutError)
    assert workers.stats().timed_out == 1


def test_a_job_within_its_timeout_succeeds(make_workers: WorkersFactory) -> None:
    job = make_workers().schedule(sleep_then_return, args=(0.01, "ok"), timeout=5)
    assert job.result(timeout=10) == "ok"


@pytest.mark.parametrize("timeout", [0, -1, math.nan, "soon"])
def test_schedule_rejects_a_bad_timeout(make_workers: WorkersFactory, timeout: object) -> None:
    with pytest.raises((ValueError, TypeError), match="timeout"):
        make_workers().schedule(noop, timeout=timeout)  # type: ignore[arg-type]


def test_an_infinite_timeout_or_idle_timeout_means_no_limit(make_workers: WorkersFactory) -> None:
    # Regression: math.inf reached the pools' waits, which cannot take it: the process pool's
    # reader failed in a loop (results never arrived), thread workers died as they started.
    workers = make_workers(idle_timeout=math.inf)
    job = workers.schedule(sleep_then_return, args=(0.01, "ok"), timeout=math.inf)
    assert job.result(timeout=10) == "ok"
    assert job.timeout is None
    late = workers.schedule(sleep_then_return, args=(0.6,), timeout=0.1)
    assert isinstance(late.exception(timeout=10), JobTimeoutError)
    assert workers.submit(square, 3).result(timeout=10) == 9


@pytest.mark.parametrize("idle_timeout", [0, math.nan, "long"])
def test_a_bad_idle_timeout_is_refused_naming_it(
    make_workers: WorkersFactory, idle_timeout: object
) -> None:
    with pytest.raises((ValueError, TypeError), match="idle_timeout"):
        make_workers(idle_timeout=idle_timeout)


def test_submit_rejects_what_is_not_callable(make_workers: WorkersFactory) -> None:
    with pytest.raises(TypeError, match="callable"):
        make_workers().submit(42)  # type: ignore[arg-type]


def test_stats_count_queued_running_succeeded_and_failed(make_workers: WorkersFactory) -> None:
    workers = make_workers()
    ok = [workers.submit(square, n) for n in range(5)]
    bad = workers.submit(fail_with_value_error, "no")
    concurrent.futures.wait([*ok], timeout=10)
    concurrent.futures.wait([bad], timeout=10)
    deadline = time.monotonic() + 5
    while workers.stats().succeeded < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = workers.stats()
    assert (stats.succeeded, stats.failed, stats.crashed) == (5, 1, 0)
    assert stats.queued == 0
    assert len(stats.workers) in (1, 2)
    assert sum(w.tasks for w in stats.workers) == 6


def test_min_workers_start_at_once_and_max_workers_caps_the_pool(
    make_workers: WorkersFactory,
) -> None:
    workers = make_workers(max_workers=3, min_workers=2)
    assert len(workers.stats().workers) == 2
    jobs = [workers.submit(sleep_then_return, 0.2) for _ in range(6)]
    sizes = {len(workers.stats().workers)}
    deadline = time.monotonic() + 10
    while 3 not in sizes and time.monotonic() < deadline:
        time.sleep(0.005)
        sizes.add(len(workers.stats().workers))
    concurrent.futures.wait(jobs, timeout=10)
    sizes.add(len(workers.stats().workers))
    assert max(sizes) == 3


def test_idle_workers_above_min_workers_are_retired(make_workers: WorkersFactory) -> None:
    workers = make_workers(max_workers=2, min_workers=1, idle_timeout=0.2)
    concurrent.futures.wait([workers.submit(sleep_then_return, 0.1) for _ in range(2)], timeout=10)
    deadline = time.monotonic() + 5
    while len(workers.stats().workers) > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(workers.stats().workers) == 1
    assert workers.submit(square, 4).result(timeout=10) == 16


def test_a_pool_that_idled_down_to_no_workers_still_serves(make_workers: WorkersFactory) -> None:
    workers = make_workers(max_workers=2, idle_timeout=0.1)
    assert workers.submit(square, 2).result(timeout=10) == 4
    deadline = time.monotonic() + 5
    while workers.stats().workers and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workers.stats().workers == ()
    assert workers.submit(square, 3).result(timeout=10) == 9


@pytest.mark.parametrize("bad", [{"max_workers": 0}, {"min_workers": -1}, {"min_workers": 5}])
def test_bad_pool_sizes_are_rejected(make_workers: WorkersFactory, bad: dict[str, int]) -> None:
    options = {"max_workers": 2, **bad}
    with pytest.raises(ValueError, match="workers"):
        make_workers(**options)
