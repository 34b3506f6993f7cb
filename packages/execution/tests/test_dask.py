"""DaskWorkers beyond the shared conformance suite: Dask's own pitfalls, cancel, timeout, crash."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("distributed", reason="DaskWorkers needs atomiton-execution[dask]")

from atomiton.execution import (
    DaskWorkers,
    JobStatus,
    JobTimeoutError,
    NotImportableError,
    Progress,
    SerializationError,
    WorkerCrashedError,
)

from .dask_jobs import (
    count_then_exit,
    fresh_token,
    kwargs_seen,
    record_pid_then_sleep,
    report_forever,
    spin_until_cancelled,
    triple,
)


def alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_for(condition: Callable[[], object], limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture(scope="module")
def pool() -> Iterator[DaskWorkers]:
    """One owned cluster of two worker processes for this module (restarts are its business)."""
    with DaskWorkers(n_workers=2, kill_grace=0.3) as workers:
        yield workers


def test_results_small_and_large_come_back_whole(pool: DaskWorkers) -> None:
    # Small results ride with the task's end, larger ones are fetched: both exact, types kept.
    from atomiton.execution._dask_task import INLINE_LIMIT

    small, large = pool.submit(tuple, [1, "a"]), pool.submit(bytes, INLINE_LIMIT * 4)
    assert pool.submit(frozenset, [2]).result(timeout=60) == frozenset({2})
    assert small.result(timeout=60) == (1, "a")
    assert large.result(timeout=60) == bytes(INLINE_LIMIT * 4)


def test_every_keyword_reaches_the_function_dask_takes_none(pool: DaskWorkers) -> None:
    # Each of these is an option of Client.submit; a job's kwargs must not be read as one.
    kwargs = {
        "key": "k",
        "workers": ["tcp://nowhere:1"],
        "retries": 5,
        "priority": 10,
        "resources": {"GPU": 1},
        "pure": True,
        "actor": True,
        "allow_other_workers": False,
        "fifo_timeout": "1s",
        "annotations": {"x": 1},
    }
    assert pool.submit(kwargs_seen, **kwargs).result(timeout=30) == kwargs
    assert pool.schedule(kwargs_seen, kwargs=kwargs).result(timeout=30) == kwargs


def module_the_workers_lack(source: str) -> ModuleType:
    """A module only this process has (in sys.modules, no file): workers cannot import it."""
    module = ModuleType(f"atomiton_test_only_here_{uuid.uuid4().hex}")
    exec(source, module.__dict__)
    sys.modules[module.__name__] = module
    return module


def test_a_callable_the_workers_cannot_import_fails_its_job_not_the_worker(
    pool: DaskWorkers,
) -> None:
    # Dask unpickles a task when the worker reads it off its connection: an unimportable
    # function there broke the worker's whole stream and left the job queued forever.
    module = module_the_workers_lack("def double(x):\n    return 2 * x\n")
    try:
        job = pool.submit(module.double, 21)
        with pytest.raises(NotImportableError, match=r"double.*register_pickle_by_value"):
            job.result(timeout=60)
        assert job.status is JobStatus.FAILED
        assert list(pool.map(triple, range(4), timeout=60)) == [0, 3, 6, 9]  # both workers
    finally:
        del sys.modules[module.__name__]


def test_a_module_registered_by_value_travels_with_its_jobs(pool: DaskWorkers) -> None:
    # Dask honours cloudpickle.register_pickle_by_value only for the object it pickles itself,
    # which is atomiton's wrapper; the wrapper honours it for the callable and its arguments.
    import cloudpickle  # type: ignore[import-untyped]

    module = module_the_workers_lack(
        "class Box:\n    def __init__(self, v):\n        self.v = v\n"
        "def size(box, data):\n    return (box.v, len(data), bytes(data[:2]))\n"
    )
    cloudpickle.register_pickle_by_value(module)
    try:
        data = bytearray(b"ab" * 2**19)  # sent out of band (pickle protocol 5)
        assert pool.submit(module.size, module.Box(7), data).result(timeout=60) == (
            7,
            2**20,
            b"ab",
        )
    finally:
        cloudpickle.unregister_pickle_by_value(module)
        del sys.modules[module.__name__]


def test_an_unpicklable_argument_is_refused_at_submit(pool: DaskWorkers) -> None:
    with pytest.raises(SerializationError, match=r"'str' cannot be sent to Dask.*lock"):
        pool.submit(str, threading.Lock())
    assert pool.stats().queued == 0


def test_identical_calls_all_run(pool: DaskWorkers) -> None:
    jobs = [pool.submit(fresh_token) for _ in range(6)]
    assert len({job.result(timeout=30) for job in jobs}) == 6


def test_a_cancelled_job_sees_its_flag_and_stops_cooperatively(
    pool: DaskWorkers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    job = pool.submit(spin_until_cancelled, str(marker), 60)
    assert wait_for(lambda: job.running() and marker.exists())
    assert job.cancel() is True
    assert job.status is JobStatus.CANCELLED
    with pytest.raises(CancelledError):
        job.result(timeout=0)
    assert wait_for(lambda: marker.read_text().startswith("stopped"))
    assert job.status is JobStatus.CANCELLED  # the task's return changed nothing


def test_progress_streams_until_the_job_is_cancelled(pool: DaskWorkers, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    seen: list[Progress] = []
    three = threading.Event()

    def on_progress(progress: Progress) -> None:
        seen.append(progress)
        if len(seen) >= 3:
            three.set()

    job = pool.submit(report_forever, str(marker))
    job.add_progress_callback(on_progress)
    assert three.wait(30)
    assert [p.current for p in seen[:3]] == [1.0, 2.0, 3.0]
    assert job.progress.total is None
    job.cancel()
    assert wait_for(marker.exists)


@pytest.mark.slow
def test_cancel_restarts_the_worker_of_a_job_that_ignores_its_flag(
    pool: DaskWorkers, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    job = pool.submit(record_pid_then_sleep, str(pid_file), 120)
    assert wait_for(lambda: job.running() and pid_file.exists() and pid_file.read_text() != "")
    pid = int(pid_file.read_text())
    assert job.cancel() is True
    assert job.status is JobStatus.CANCELLED
    assert wait_for(lambda: not alive(pid)), "the worker running the cancelled job lives on"
    assert job.status is JobStatus.CANCELLED
    assert pool.submit(triple, 2).result(timeout=60) == 6


@pytest.mark.slow
def test_timeout_stops_an_overrunning_job_and_raises_job_timeout_error(
    pool: DaskWorkers, tmp_path: Path
) -> None:
    before = pool.stats().timed_out
    pid_file = tmp_path / "pid"
    job = pool.schedule(record_pid_then_sleep, args=(str(pid_file), 120), timeout=0.5)
    with pytest.raises(JobTimeoutError, match=r"longer than 0\.5 s"):
        job.result(timeout=60)
    assert job.status is JobStatus.TIMED_OUT
    pid = int(pid_file.read_text())
    assert wait_for(lambda: not alive(pid)), "the worker running the timed-out job lives on"
    assert pool.stats().timed_out == before + 1


@pytest.mark.slow
def test_a_job_that_kills_its_worker_fails_once_and_others_still_run(
    pool: DaskWorkers, tmp_path: Path
) -> None:
    before = pool.stats()
    runs = tmp_path / "runs"
    crasher = pool.submit(count_then_exit, str(runs))
    # Some of these were assigned to the worker that dies before they started: Dask runs them
    # elsewhere, and they must succeed (only the job that was running fails).
    others = [pool.submit(triple, n) for n in range(20)]
    error = crasher.exception(timeout=60)
    assert isinstance(error, WorkerCrashedError)
    assert "died" in str(error)
    assert crasher.status is JobStatus.FAILED
    assert [job.result(timeout=60) for job in others] == [3 * n for n in range(20)]
    assert runs.read_text() == "run\n"  # ran once: Dask did not retry it on another worker
    after = pool.stats()
    assert after.crashed == before.crashed + 1
    assert after.failed == before.failed + 1


@pytest.mark.slow
def test_a_thousand_jobs_after_a_crash_and_a_hard_cancel_all_complete(
    pool: DaskWorkers, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    sleeper = pool.submit(record_pid_then_sleep, str(pid_file), 120)
    assert wait_for(lambda: sleeper.running() and pid_file.exists() and pid_file.read_text())
    crasher = pool.submit(count_then_exit, str(tmp_path / "runs"))
    assert wait_for(lambda: crasher.running() or crasher.done())
    # Cancelled before the crash is seen: Dask may queue the crashed job's second attempt on the
    # sleeper's worker, which only the hard cancel frees.
    sleeper.cancel()
    assert isinstance(crasher.exception(timeout=60), WorkerCrashedError)
    # Submitted while the cancelled job's worker is being restarted.
    assert list(pool.map(triple, range(1000), timeout=300)) == [3 * n for n in range(1000)]
    assert sleeper.status is JobStatus.CANCELLED
    assert wait_for(lambda: not alive(int(pid_file.read_text())))


def test_stats_name_the_worker_processes_that_ran_jobs(pool: DaskWorkers) -> None:
    job = pool.submit(os.getpid)
    pid = job.result(timeout=30)
    assert wait_for(lambda: pid in {w.pid for w in pool.stats().workers})
    assert all(w.id.startswith("tcp://127.0.0.1:") for w in pool.stats().workers)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"address": "tcp://127.0.0.1:1", "min_workers": 1}, ValueError, "joined cluster"),
        ({"address": "tcp://127.0.0.1:1", "n_workers": 2}, ValueError, "joined cluster"),
        ({"address": 8786}, TypeError, "address"),
        ({"n_workers": 2, "max_workers": 3}, ValueError, "not both"),
        ({"n_workers": 0}, ValueError, "workers"),
        ({"threads_per_worker": 0}, ValueError, "threads_per_worker"),
        ({"kill_grace": 0}, ValueError, "kill_grace"),
        ({"address": "tcp://127.0.0.1:1", "max_workers": 0}, ValueError, "max_workers"),
    ],
)
def test_bad_options_are_refused_before_any_cluster_is_touched(
    options: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        DaskWorkers(**options)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_crashed_worker_comes_back_even_when_dask_gives_up_on_lost_workers_early() -> None:
    # Dask's SpecCluster closes the nanny of a worker still missing lost-worker-timeout after
    # its removal; a restart gap that overlaps that timer used to shrink the cluster for good.
    # At 0.2 s, every crash's own restart gap overlaps it.
    import dask

    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": "0.2s"}),
        DaskWorkers(n_workers=2, kill_grace=0.3) as workers,
        tempfile.TemporaryDirectory() as folder,
    ):
        crasher = workers.submit(count_then_exit, str(Path(folder) / "runs"))
        assert isinstance(crasher.exception(timeout=60), WorkerCrashedError)
        time.sleep(1.0)  # past the timer, whatever the restart's length
        assert wait_for(lambda: len(workers.stats().workers) == 2)
        time.sleep(1.0)
        assert len(workers.stats().workers) == 2
        assert list(workers.map(triple, range(50), timeout=60)) == [3 * n for n in range(50)]
