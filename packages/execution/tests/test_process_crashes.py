"""Real crashes: a dying worker fails only its own job, and the pool keeps serving."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from atomiton.execution import (
    Job,
    JobStatus,
    JobTimeoutError,
    ProcessWorkers,
    WorkerCrashedError,
    _pool_state,
)

from .execution_jobs import (
    ProcessWorkersFactory,
    exit_abruptly,
    fork_a_sleeping_child,
    kill_myself,
    pid_of_worker,
    segfault,
    sleep_then_return,
    square,
    touch,
)

# The bounds, plus a margin for this shared, loaded machine (measured: a few ms).
CRASH_BOUND = 0.2 + 0.5
TIMEOUT_SLACK = 0.15 + 0.5


def wait_until_running(job: Job[Any], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not job.running():
        assert time.monotonic() < deadline, f"{job!r} never started"
        time.sleep(0.002)


@pytest.mark.parametrize(
    ("crash", "detail"),
    [(exit_abruptly, "exit code 3"), (segfault, "SIGSEGV"), (kill_myself, "SIGKILL")],
)
def test_a_crashing_job_fails_with_worker_crashed_error_and_the_pool_goes_on(
    make_process_workers: ProcessWorkersFactory, crash: Callable[[], None], detail: str
) -> None:
    workers = make_process_workers(max_workers=2)
    start = time.monotonic()
    job = workers.submit(crash)
    with pytest.raises(WorkerCrashedError, match=detail):
        job.result(timeout=10)
    assert job.status is JobStatus.FAILED
    assert workers.submit(square, 12).result(timeout=10) == 144
    assert workers.stats().crashed == 1
    assert time.monotonic() - start < 10


def test_sigkill_from_outside_fails_only_that_workers_job_within_200_ms(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=2, min_workers=2)
    victim = workers.submit(sleep_then_return, 5.0, "victim")
    bystander = workers.submit(sleep_then_return, 0.5, "bystander")
    wait_until_running(victim)
    wait_until_running(bystander)
    victim_pid = next(w.pid for w in workers.stats().workers if w.job_id == victim.id)
    assert victim_pid is not None
    killed_at = time.monotonic()
    os.kill(victim_pid, signal.SIGKILL)
    with pytest.raises(WorkerCrashedError, match="SIGKILL"):
        victim.result(timeout=10)
    assert time.monotonic() - killed_at < CRASH_BOUND
    assert bystander.result(timeout=10) == "bystander"
    assert workers.submit(square, 3).result(timeout=10) == 9


def test_a_thousand_jobs_are_served_after_a_crash(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=2)
    with pytest.raises(WorkerCrashedError):
        workers.submit(exit_abruptly).result(timeout=10)
    assert list(workers.map(square, range(1000), chunksize=1)) == [n * n for n in range(1000)]
    jobs = [workers.submit(square, n) for n in range(1000)]
    assert [job.result(timeout=30) for job in jobs] == [n * n for n in range(1000)]
    stats = workers.stats()
    assert (stats.crashed, stats.failed) == (1, 1)


def test_jobs_queued_behind_a_crash_are_rerun_not_failed(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    crash = workers.submit(exit_abruptly)
    after = [workers.submit(square, n) for n in range(200)]
    with pytest.raises(WorkerCrashedError):
        crash.result(timeout=10)
    assert [job.result(timeout=30) for job in after] == [n * n for n in range(200)]


def test_a_hung_job_is_killed_within_its_timeout_plus_150_ms(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    job = workers.schedule(sleep_then_return, args=(60,), timeout=0.3)
    with pytest.raises(JobTimeoutError, match=r"longer than 0\.3 s"):
        job.result(timeout=10)
    # Counted from when the job started (a worker process had to start first).
    assert job.started_at is not None
    elapsed = time.monotonic() - job.started_at
    assert 0.3 <= elapsed < 0.3 + TIMEOUT_SLACK
    assert job.status is JobStatus.TIMED_OUT
    assert workers.submit(square, 5).result(timeout=10) == 25
    assert workers.stats().timed_out == 1


def test_cancelling_a_running_process_job_kills_and_replaces_its_worker(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    job = workers.submit(sleep_then_return, 60)
    wait_until_running(job)
    old_pid = workers.stats().workers[0].pid
    assert old_pid is not None
    assert job.cancel() is True
    assert job.status is JobStatus.CANCELLED
    with pytest.raises(concurrent.futures.CancelledError):
        job.result(timeout=0)
    new_pid = workers.submit(pid_of_worker).result(timeout=10)
    assert new_pid != old_pid
    assert not psutil.pid_exists(old_pid) or psutil.Process(old_pid).status() != "zombie"


def test_a_job_sent_ahead_and_then_cancelled_never_runs(
    make_process_workers: ProcessWorkersFactory, tmp_path: Path
) -> None:
    workers = make_process_workers(max_workers=1)
    blocker = workers.submit(sleep_then_return, 1.0, "done")
    wait_until_running(blocker)
    markers = [tmp_path / f"ran-{n}" for n in range(30)]
    jobs = [workers.submit(touch, str(marker)) for marker in markers]
    # Let the dispatcher send them ahead to the busy worker (some do go ahead).
    deadline = time.monotonic() + 0.8
    while not any(job._worker is not None for job in jobs):
        assert time.monotonic() < deadline, "no job was sent ahead to the busy worker"
        time.sleep(0.002)
    assert all(job.cancel() for job in jobs)
    assert blocker.result(timeout=10) == "done"
    workers.shutdown(wait=True)
    assert [marker.name for marker in markers if marker.exists()] == []
    assert workers.stats().cancelled == 30


def test_max_tasks_per_worker_replaces_the_worker(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1, max_tasks_per_worker=3)
    pids = [workers.submit(pid_of_worker).result(timeout=10) for _ in range(7)]
    assert pids[0] == pids[1] == pids[2]
    assert pids[3] == pids[4] == pids[5] != pids[0]
    assert pids[6] not in (pids[0], pids[3])


def test_no_worker_process_is_left_behind_after_shutdown(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    workers = make_process_workers(max_workers=2, min_workers=2)
    with pytest.raises(WorkerCrashedError):
        workers.submit(kill_myself).result(timeout=10)
    workers.schedule(sleep_then_return, args=(60,), timeout=0.1).exception(timeout=10)
    assert workers.submit(square, 2).result(timeout=10) == 4
    pids = [w.pid for w in workers.stats().workers]
    workers.shutdown(wait=True)
    assert not workers.stats().workers
    ours = [child for child in me.children(recursive=True) if child.pid not in before]
    assert ours == []
    assert not any(psutil.pid_exists(pid) for pid in pids if pid is not None)


def test_spawn_start_method_works(make_process_workers: ProcessWorkersFactory) -> None:
    workers = make_process_workers(max_workers=1, start_method="spawn")
    assert workers.start_method == "spawn"
    assert workers.submit(square, 11).result(timeout=60) == 121


class _NoProcesses:
    """A multiprocessing context whose Process cannot start (as when the OS refuses to fork)."""

    def __init__(self, real: Any) -> None:
        self.Pipe = real.Pipe

    def Process(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError("Resource temporarily unavailable")


def test_jobs_fail_instead_of_hanging_when_no_worker_can_start(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    workers._context = _NoProcesses(workers._context)
    job = workers.submit(square, 2)
    with pytest.raises(WorkerCrashedError, match="no worker process could be started"):
        job.result(timeout=10)


ORPHAN_SCRIPT = """
import sys, time
from atomiton.execution import ProcessWorkers
if __name__ == "__main__":
    workers = ProcessWorkers(2, min_workers=2)
    print(" ".join(str(w.pid) for w in workers.stats().workers), flush=True)
    time.sleep(60)
"""


@pytest.mark.slow
def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT)
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    ) as parent:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2
        parent.kill()
        parent.wait(timeout=10)

    def gone(pid: int) -> bool:
        try:
            return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True

    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(gone(pid) for pid in pids)


@pytest.mark.slow
def test_timeouts_and_crashes_stay_prompt_when_they_keep_coming(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    # Regression: worker replacements and deadlines both wake the reader; no wake-up may be lost.
    workers = make_process_workers(max_workers=2, min_workers=2)
    for _ in range(8):
        timed = workers.schedule(sleep_then_return, args=(30,), timeout=0.1)
        assert isinstance(timed.exception(timeout=10), JobTimeoutError)
        assert timed.started_at is not None
        assert time.monotonic() - timed.started_at < 0.1 + TIMEOUT_SLACK
        victim = workers.submit(sleep_then_return, 30)
        wait_until_running(victim)
        time.sleep(0.05)  # let the timed-out worker's replacement start meanwhile
        pid = next(w.pid for w in workers.stats().workers if w.job_id == victim.id)
        assert pid is not None
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        assert isinstance(victim.exception(timeout=10), WorkerCrashedError)
        assert time.monotonic() - killed_at < CRASH_BOUND
    assert workers.submit(square, 9).result(timeout=10) == 81


@pytest.mark.parametrize("stop", ["timeout", "cancel"])
def test_jobs_queued_behind_a_killed_job_still_run(
    make_process_workers: ProcessWorkersFactory, stop: str
) -> None:
    workers = make_process_workers(max_workers=1)
    timeout = 0.2 if stop == "timeout" else None
    doomed = workers.schedule(sleep_then_return, args=(30,), timeout=timeout)
    behind = [workers.submit(square, n) for n in range(10)]
    wait_until_running(doomed)
    if stop == "cancel":
        time.sleep(0.05)
        assert doomed.cancel()
    assert [job.result(timeout=10) for job in behind] == [n * n for n in range(10)]
    expected = JobStatus.TIMED_OUT if stop == "timeout" else JobStatus.CANCELLED
    assert doomed.status is expected


def _watch_pool_size(workers: ProcessWorkers, stop: threading.Event, sizes: list[int]) -> None:
    while not stop.is_set():
        sizes.append(len(workers.stats().workers))
        time.sleep(0.001)


@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
@pytest.mark.parametrize("death", ["crash", "timeout"])
def test_a_forked_grandchild_does_not_hide_a_later_worker_death(
    make_process_workers: ProcessWorkersFactory, start_method: str, death: str
) -> None:
    # Regression: the death of a worker was noticed through a pipe its forked child inherited, so
    # a crash stayed hidden for as long as that child lived, and the replacement of a killed
    # worker made stats() list more workers than max_workers.
    if start_method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start_method} start method here")
    _grandchild_then_death(make_process_workers, start_method, death)


@pytest.mark.parametrize("death", ["crash", "timeout"])
def test_without_pidfds_a_grandchild_still_cannot_hide_a_worker_death(
    make_process_workers: ProcessWorkersFactory, death: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where the OS has no pidfd (macOS, old kernels, sandboxes), the reader polls waitpid.
    monkeypatch.setattr(_pool_state, "open_pidfd", lambda pid: None)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    _grandchild_then_death(make_process_workers, method, death)


def _grandchild_then_death(
    make_process_workers: ProcessWorkersFactory, start_method: str, death: str
) -> None:
    workers = make_process_workers(max_workers=1, start_method=start_method)
    grandchild = workers.submit(fork_a_sleeping_child, 60).result(timeout=60)
    sizes: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_pool_size, args=(workers, stop, sizes))
    watcher.start()
    try:
        if death == "crash":
            started = time.monotonic()
            job = workers.submit(exit_abruptly)
            assert isinstance(job.exception(timeout=10), WorkerCrashedError)
        else:
            job = workers.schedule(sleep_then_return, args=(60,), timeout=0.2)
            wait_until_running(job)
            started = time.monotonic() + 0.2
            assert isinstance(job.exception(timeout=10), JobTimeoutError)
        assert workers.submit(square, 3).result(timeout=60) == 9
        # The replacement served a job: the dead worker was noticed and reaped, promptly.
        assert time.monotonic() - started < CRASH_BOUND + (2.0 if start_method == "spawn" else 0)
        assert psutil.pid_exists(grandchild)  # it still holds every descriptor it inherited
    finally:
        stop.set()
        watcher.join()
        os.kill(grandchild, signal.SIGKILL)
    assert sizes
    assert max(sizes) <= 1, f"stats() listed {max(sizes)} workers with max_workers=1"
