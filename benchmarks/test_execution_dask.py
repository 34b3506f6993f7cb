"""DaskWorkers' overhead per job beside raw Dask on the same local cluster, and progress latency.

Groups (ratio = peer / atomiton, above 1: atomiton faster):

- "execution dask: 200 jobs": submit 200 trivial jobs, then wait for every result. Peers: raw
  ``client.submit(abs, -1, pure=False)`` + ``client.gather`` and ``client.get_executor()``.
  Target: atomiton's time <= 1.2x raw client.submit's, i.e. ratio >= 0.83 against it.
- "execution dask: round trip": one job submitted, then its result awaited; same peers and
  target.
- "execution dask: progress": a job reporting 50 progress steps; ``extra_info`` holds the p50
  (and p90) delay from ``report_progress`` in the worker to the caller's progress callback,
  saved with ``--benchmark-json`` and printed when run with ``-s``.
- "execution dask: A/B": the 200-job batch and 20 round trips, atomiton and raw
  ``client.submit`` alternating within each round (who goes first alternates too), so load from
  other processes on the machine hits both sides alike. ``extra_info`` (and ``-s``) report the
  median and range of the per-round ratios raw / atomiton: on a shared 2-core machine the
  separate groups above swing by +-50% with the load, this pairing far less.

All on one LocalCluster of two single-threaded worker processes, shared by every row, so the
rows differ only by the client-side code. In the normal (untimed) run each runs once.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

from atomiton.execution import DaskWorkers, Progress, current_job  # noqa: E402

JOBS = 200
ROUNDS = 10
STEPS = 50


def report_wall_clock(steps: int) -> int:
    """Reports ``steps`` times, the wall-clock time as ``current`` (worker and caller share it)."""
    job = current_job()
    time.sleep(0.05)  # the caller adds its progress callback after submit() returned
    for _ in range(steps):
        job.report_progress(time.time())
        time.sleep(0.002)
    return steps


# The job above travels by value: benchmark modules are not importable on the workers.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Any, DaskWorkers]]:
    from atomiton.execution._dask_cluster import start_local_cluster

    local = start_local_cluster(2, 1)
    client = distributed.Client(local, set_as_default=False)
    workers = DaskWorkers(address=local.scheduler_address)
    try:
        client.wait_for_workers(2)
        yield client, workers
    finally:
        workers.close()
        client.close()
        local.close()


def _run(benchmark: Any, impl: str, batch: Any, rounds: int = ROUNDS) -> None:
    benchmark.extra_info["impl"] = impl
    benchmark.pedantic(batch, rounds=rounds, iterations=1, warmup_rounds=1)


BATCH = "execution dask: 200 jobs"


@pytest.mark.benchmark(group=BATCH)
def test_batch_atomiton(benchmark: Any, cluster: tuple[Any, DaskWorkers]) -> None:
    _, workers = cluster

    def batch() -> None:
        jobs = [workers.submit(abs, -1) for _ in range(JOBS)]
        assert [job.result() for job in jobs] == [1] * JOBS

    _run(benchmark, "atomiton", batch)


@pytest.mark.benchmark(group=BATCH)
def test_batch_client_submit(benchmark: Any, cluster: tuple[Any, DaskWorkers]) -> None:
    client, _ = cluster

    def batch() -> None:
        futures = [client.submit(abs, -1, pure=False) for _ in range(JOBS)]
        assert client.gather(futures) == [1] * JOBS

    _run(benchmark, "dask client.submit", batch)


@pytest.mark.benchmark(group=BATCH)
def test_batch_get_executor(benchmark: Any, cluster: tuple[Any, DaskWorkers]) -> None:
    client, _ = cluster
    executor = client.get_executor(pure=False)

    def batch() -> None:
        futures = [executor.submit(abs, -1) for _ in range(JOBS)]
        assert [future.result() for future in futures] == [1] * JOBS

    _run(benchmark, "dask get_executor", batch)


ROUND_TRIP = "execution dask: round trip"


@pytest.mark.benchmark(group=ROUND_TRIP)
def test_round_trip_atomiton(benchmark: Any, cluster: tuple[Any, DaskWorkers]) -> None:
    _, workers = cluster
    _run(benchmark, "atomiton", lambda: workers.submit(abs, -1).result(), rounds=50)


@pytest.mark.benchmark(group=ROUND_TRIP)
def test_round_trip_client_submit(benchmark: Any, cluster: tuple[Any, DaskWorkers]) -> None:
    client, _ = cluster
    _run(
        benchmark,
        "dask client.submit",
        lambda: client.submit(abs, -1, pure=False).result(),
        rounds=50,
    )


@pytest.mark.benchmark(group=ROUND_TRIP)
def test_round_trip_get_executor(benchmark: Any, cluster: tuple[Any, DaskWorkers]) -> None:
    client, _ = cluster
    executor = client.get_executor(pure=False)
    _run(benchmark, "dask get_executor", lambda: executor.submit(abs, -1).result(), rounds=50)


@pytest.mark.benchmark(group="execution dask: progress")
def test_progress_latency_atomiton(benchmark: Any, cluster: tuple[Any, DaskWorkers]) -> None:
    _, workers = cluster
    delays: list[float] = []

    def batch() -> None:
        received = threading.Event()
        count = 0

        def on_progress(progress: Progress) -> None:
            nonlocal count
            assert progress.current is not None
            delays.append(time.time() - progress.current)
            count += 1
            if count >= STEPS:
                received.set()

        job = workers.submit(report_wall_clock, STEPS)
        job.add_progress_callback(on_progress)
        assert job.result() == STEPS
        assert received.wait(30)

    _run(benchmark, "atomiton", batch, rounds=5)
    quantiles = statistics.quantiles(delays, n=10)
    p50, p90 = statistics.median(delays), quantiles[8]
    benchmark.extra_info["progress_p50_s"] = p50
    benchmark.extra_info["progress_p90_s"] = p90
    if not getattr(benchmark, "disabled", True):
        print(
            f"\nexecution dask: progress report -> caller callback: p50 {p50 * 1e3:.2f} ms, "
            f"p90 {p90 * 1e3:.2f} ms over {len(delays)} reports"
        )


@pytest.mark.benchmark(group="execution dask: A/B")
def test_interleaved_against_client_submit(
    benchmark: Any, cluster: tuple[Any, DaskWorkers]
) -> None:
    client, workers = cluster

    def ours_batch() -> None:
        jobs = [workers.submit(abs, -1) for _ in range(JOBS)]
        assert [job.result() for job in jobs] == [1] * JOBS

    def raw_batch() -> None:
        futures = [client.submit(abs, -1, pure=False) for _ in range(JOBS)]
        assert client.gather(futures) == [1] * JOBS

    def ours_trips() -> None:
        for _ in range(20):
            assert workers.submit(abs, -1).result() == 1

    def raw_trips() -> None:
        for _ in range(20):
            assert client.submit(abs, -1, pure=False).result() == 1

    pairs = {"200 jobs": (ours_batch, raw_batch), "round trip": (ours_trips, raw_trips)}
    ratios: dict[str, list[float]] = {name: [] for name in pairs}
    turn = 0

    def one_round() -> None:
        nonlocal turn
        turn += 1
        for name, (ours, raw) in pairs.items():
            took = {}
            for side, fn in ((0, ours), (1, raw)) if turn % 2 else ((1, raw), (0, ours)):
                start = time.perf_counter()
                fn()
                took[side] = time.perf_counter() - start
            ratios[name].append(took[1] / took[0])

    _run(benchmark, "atomiton", one_round, rounds=8)
    for name, measured in ratios.items():
        values = measured[1:] or measured  # without the warm-up round
        median = statistics.median(values)
        benchmark.extra_info[f"{name}: raw/atomiton median"] = median
        benchmark.extra_info[f"{name}: raw/atomiton range"] = (min(values), max(values))
        if not getattr(benchmark, "disabled", True):
            print(
                f"\nexecution dask A/B, {name}: raw client.submit / atomiton, median of "
                f"{len(values)} rounds {median:.2f}x (range {min(values):.2f}-{max(values):.2f})"
            )
