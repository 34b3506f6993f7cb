"""Fixtures: every executor test runs against every worker kind (threads, processes, Dask)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from atomiton.execution import ProcessWorkers, ThreadWorkers, Workers

# Process workers import job functions by name (packages.execution.tests.execution_jobs, as
# pytest's importlib mode names it): spawn and forkserver workers find it from the repo root.
ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.append(ROOT)


@pytest.fixture(params=["threads", "processes", "dask"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "dask":
        pytest.importorskip("distributed", reason="DaskWorkers needs atomiton-execution[dask]")
    return str(request.param)


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """One local Dask cluster of two worker processes for the whole run; yields its address.

    Dask pools in the shared tests join it (``address=``), so each test pays for a client, not a
    cluster; a test that sizes the pool (``min_workers``, ``idle_timeout``) gets a cluster of
    its own, since only an owned cluster has a size to manage.
    """
    from atomiton.execution._dask_cluster import start_local_cluster

    cluster = start_local_cluster(2, 1)
    try:
        yield str(cluster.scheduler_address)
    finally:
        cluster.close()


@pytest.fixture
def make_workers(kind: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., Workers]]:
    """Build pools of the parametrised kind; every pool is shut down after the test."""
    pools: list[Workers] = []

    def make(max_workers: int = 2, **options: Any) -> Workers:
        pool: Workers
        if kind == "threads":
            pool = ThreadWorkers(max_workers, **options)
        elif kind == "dask":
            from atomiton.execution import DaskWorkers

            if "min_workers" in options or "idle_timeout" in options:
                pool = DaskWorkers(max_workers, **options)
            else:
                address = request.getfixturevalue("dask_scheduler")
                pool = DaskWorkers(max_workers, address=address, **options)
        else:
            pool = ProcessWorkers(max_workers, **options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def make_process_workers() -> Iterator[Callable[..., ProcessWorkers]]:
    pools: list[ProcessWorkers] = []

    def make(max_workers: int = 2, **options: Any) -> ProcessWorkers:
        pool = ProcessWorkers(max_workers, **options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)
