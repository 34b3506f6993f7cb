"""Per-task overhead of atomiton's workers beside the stdlib pools, loky and pebble.

Groups (each benchmark runs a whole batch; ``extra_info["per_task_s"]`` is the mean / tasks;
ratio = peer / atomiton, above 1: atomiton faster):

- "execution: thread submit 10k": submit N no-op tasks to 2 threads, then wait for all.
  Target: no slower than ThreadPoolExecutor (~22 µs per task here), i.e. ratio >= 1.
- "execution: process submit 10k": the same on 2 worker processes.
  Target: <= 0.5x ProcessPoolExecutor (~260 µs per task; multiprocessing.Pool does ~66 µs),
  i.e. ratio >= 2 against ProcessPoolExecutor.
- "execution: process map 100k": ``map`` over N items, atomiton with ``chunksize=None``
  (automatic batching) beside ProcessPoolExecutor at several chunksizes, multiprocessing.Pool,
  loky and pebble. Target: within 1.5x of ProcessPoolExecutor at its best chunksize, i.e. ratio
  >= 0.67 against the best ProcessPoolExecutor row.

The task is the builtin ``abs``: importable in every worker, so no peer pays for pickling code.
In the normal (untimed) run the sizes shrink so the suite stays fast; ``ATOMITON_BENCH_TASKS``
and ``ATOMITON_BENCH_ITEMS`` override them.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Iterator
from typing import Any

import loky
import pebble
import pytest

from atomiton.execution import ProcessWorkers, ThreadWorkers

WORKERS = 2
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
ROUNDS = 5
#: A map batch takes ~50 ms: more rounds steady the mean on a shared machine.
MAP_ROUNDS = 15


def _sizes(benchmark: Any) -> tuple[int, int]:
    """(tasks, map items): full sizes when timed, small ones in the untimed run."""
    timed = not getattr(benchmark, "disabled", True)
    tasks = int(os.environ.get("ATOMITON_BENCH_TASKS", 10_000 if timed else 200))
    items = int(os.environ.get("ATOMITON_BENCH_ITEMS", 100_000 if timed else 2_000))
    return tasks, items


def _run(
    benchmark: Any, impl: str, batch: Callable[[], object], count: int, rounds: int = ROUNDS
) -> None:
    # The targets are relative to the peers measured in the same run (the ratios), so
    # no absolute target_s: on this shared machine absolute times swing 3x between runs.
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["tasks"] = count
    benchmark.pedantic(batch, rounds=rounds, iterations=1, warmup_rounds=1)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["per_task_s"] = stats.stats.mean / count


def _submit_all(submit: Callable[..., Any], count: int) -> Callable[[], None]:
    def batch() -> None:
        jobs = [submit(abs, -1) for _ in range(count)]
        for job in jobs:
            job.result()

    return batch


# --- thread submit ----------------------------------------------------------------------------

THREAD_GROUP = "execution: thread submit 10k"


@pytest.mark.benchmark(group=THREAD_GROUP)
def test_thread_submit_atomiton(benchmark: Any) -> None:
    tasks, _ = _sizes(benchmark)
    with ThreadWorkers(WORKERS) as workers:
        _run(benchmark, "atomiton", _submit_all(workers.submit, tasks), tasks)


@pytest.mark.benchmark(group=THREAD_GROUP)
def test_thread_submit_thread_pool_executor(benchmark: Any) -> None:
    tasks, _ = _sizes(benchmark)
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        _run(benchmark, "ThreadPoolExecutor", _submit_all(pool.submit, tasks), tasks)


@pytest.mark.benchmark(group=THREAD_GROUP)
def test_thread_submit_pebble(benchmark: Any) -> None:
    tasks, _ = _sizes(benchmark)
    pool = pebble.ThreadPool(max_workers=WORKERS)
    try:
        submit = lambda fn, *args: pool.schedule(fn, args=args)  # noqa: E731
        _run(benchmark, "pebble", _submit_all(submit, tasks), tasks)
    finally:
        pool.close()  # type: ignore[no-untyped-call]
        pool.join()


# --- process submit ---------------------------------------------------------------------------

PROCESS_GROUP = "execution: process submit 10k"


@pytest.fixture
def process_workers() -> Iterator[ProcessWorkers]:
    with ProcessWorkers(WORKERS, min_workers=WORKERS, start_method=START_METHOD) as workers:
        yield workers


@pytest.mark.benchmark(group=PROCESS_GROUP)
def test_process_submit_atomiton(benchmark: Any, process_workers: ProcessWorkers) -> None:
    tasks, _ = _sizes(benchmark)
    _run(benchmark, "atomiton", _submit_all(process_workers.submit, tasks), tasks)


@pytest.mark.benchmark(group=PROCESS_GROUP)
def test_process_submit_process_pool_executor(benchmark: Any) -> None:
    tasks, _ = _sizes(benchmark)
    context = multiprocessing.get_context(START_METHOD)
    with concurrent.futures.ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        _run(benchmark, "ProcessPoolExecutor", _submit_all(pool.submit, tasks), tasks)


@pytest.mark.benchmark(group=PROCESS_GROUP)
def test_process_submit_multiprocessing_pool(benchmark: Any) -> None:
    tasks, _ = _sizes(benchmark)
    with multiprocessing.get_context(START_METHOD).Pool(WORKERS) as pool:

        def batch() -> None:
            results = [pool.apply_async(abs, (-1,)) for _ in range(tasks)]
            for result in results:
                result.get()

        _run(benchmark, "multiprocessing.Pool", batch, tasks)


@pytest.mark.benchmark(group=PROCESS_GROUP)
def test_process_submit_loky(benchmark: Any) -> None:
    tasks, _ = _sizes(benchmark)
    pool = loky.ProcessPoolExecutor(max_workers=WORKERS)
    try:
        _run(benchmark, "loky", _submit_all(pool.submit, tasks), tasks)
    finally:
        pool.shutdown(wait=True)


@pytest.mark.benchmark(group=PROCESS_GROUP)
def test_process_submit_pebble(benchmark: Any) -> None:
    tasks, _ = _sizes(benchmark)
    pool = pebble.ProcessPool(
        max_workers=WORKERS, context=multiprocessing.get_context(START_METHOD)
    )
    try:
        submit = lambda fn, *args: pool.schedule(fn, args=args)  # noqa: E731
        _run(benchmark, "pebble", _submit_all(submit, tasks), tasks)
    finally:
        pool.close()  # type: ignore[no-untyped-call]
        pool.join()


# --- process map ------------------------------------------------------------------------------

MAP_GROUP = "execution: process map 100k"


def _map_all(map_fn: Callable[..., Any], items: int, **options: Any) -> Callable[[], None]:
    def batch() -> None:
        for _ in map_fn(abs, range(items), **options):
            pass

    return batch


@pytest.mark.benchmark(group=MAP_GROUP)
def test_process_map_atomiton_automatic_batching(
    benchmark: Any, process_workers: ProcessWorkers
) -> None:
    _, items = _sizes(benchmark)
    _run(
        benchmark,
        "atomiton",
        _map_all(process_workers.map, items, chunksize=None),
        items,
        MAP_ROUNDS,
    )


@pytest.mark.benchmark(group=MAP_GROUP)
@pytest.mark.parametrize("chunksize", [100, 1000, 12_500])
def test_process_map_process_pool_executor(benchmark: Any, chunksize: int) -> None:
    _, items = _sizes(benchmark)
    context = multiprocessing.get_context(START_METHOD)
    with concurrent.futures.ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        batch = _map_all(pool.map, items, chunksize=chunksize)
        _run(benchmark, f"ProcessPoolExecutor(chunksize={chunksize})", batch, items, MAP_ROUNDS)


@pytest.mark.benchmark(group=MAP_GROUP)
def test_process_map_multiprocessing_pool(benchmark: Any) -> None:
    _, items = _sizes(benchmark)
    with multiprocessing.get_context(START_METHOD).Pool(WORKERS) as pool:
        _run(
            benchmark,
            "multiprocessing.Pool (auto chunks)",
            _map_all(pool.map, items),
            items,
            MAP_ROUNDS,
        )


@pytest.mark.benchmark(group=MAP_GROUP)
def test_process_map_loky(benchmark: Any) -> None:
    _, items = _sizes(benchmark)
    pool = loky.ProcessPoolExecutor(max_workers=WORKERS)
    try:
        chunksize = max(1, items // (4 * WORKERS))
        batch = _map_all(pool.map, items, chunksize=chunksize)
        _run(benchmark, f"loky(chunksize={chunksize})", batch, items, MAP_ROUNDS)
    finally:
        pool.shutdown(wait=True)


@pytest.mark.benchmark(group=MAP_GROUP)
def test_process_map_pebble(benchmark: Any) -> None:
    _, items = _sizes(benchmark)
    pool = pebble.ProcessPool(
        max_workers=WORKERS, context=multiprocessing.get_context(START_METHOD)
    )
    try:
        chunksize = max(1, items // (4 * WORKERS))

        def batch() -> None:
            for _ in pool.map(abs, range(items), chunksize=chunksize).result():
                pass

        _run(benchmark, f"pebble(chunksize={chunksize})", batch, items, MAP_ROUNDS)
    finally:
        pool.close()  # type: ignore[no-untyped-call]
        pool.join()
