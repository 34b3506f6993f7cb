"""Fixtures: every executor test runs against both worker kinds."""

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


@pytest.fixture(params=["threads", "processes"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_workers(kind: str) -> Iterator[Callable[..., Workers]]:
    """Build pools of the parametrised kind; every pool is shut down after the test."""
    pools: list[Workers] = []

    def make(max_workers: int = 2, **options: Any) -> Workers:
        pool: Workers
        if kind == "threads":
            pool = ThreadWorkers(max_workers, **options)
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
