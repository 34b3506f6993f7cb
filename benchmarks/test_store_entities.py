"""Entity store benchmarks: an indexed equality query against the full scan on 100,000 entities.

The issue's target: ``find_many`` with an indexed equality is >= 50x faster than the full scan.
Both cases run in one group; the summary's ratio (``full scan / atomiton``) is that speed-up.
The 100,000 entities are built once per module (a few seconds), so the untimed run stays short.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from atomiton.store import EntityClient, create_client

N = 100_000
GROUPS = 1_000  # an equality on "group" matches 100 entities


@pytest.fixture(scope="module")
def client() -> Iterator[EntityClient]:
    c = create_client(flush_interval=None)
    c.configure("Todo", indexes=["group"])
    c.stores.Todo.add_many(
        [
            {"title": f"task {i}", "group": i % GROUPS, "scan_group": i % GROUPS, "done": False}
            for i in range(N)
        ]
    )
    yield c
    c.dispose()


GROUP = "store entities: find_many equality, 100k"


@pytest.mark.benchmark(group=GROUP)
def test_find_many_indexed_equality_atomiton(benchmark: Any, client: EntityClient) -> None:
    benchmark.extra_info["impl"] = "atomiton"
    benchmark.extra_info["target_speedup_vs_scan"] = 50
    todos = client.stores.Todo
    page = benchmark(todos.find_many, {"group": 421})
    assert page.total == N // GROUPS
    plan = todos.find_many({"group": 421}, explain=True).plan
    assert plan is not None
    assert plan.strategy == "index"


@pytest.mark.benchmark(group=GROUP)
def test_find_many_full_scan(benchmark: Any, client: EntityClient) -> None:
    benchmark.extra_info["impl"] = "full scan (same query, unindexed field)"
    todos = client.stores.Todo
    page = benchmark(todos.find_many, {"scan_group": 421})
    assert page.total == N // GROUPS
    plan = todos.find_many({"scan_group": 421}, explain=True).plan
    assert plan is not None
    assert plan.strategy == "scan"


@pytest.mark.benchmark(group="store entities: get_one, 100k")
def test_get_one_atomiton(benchmark: Any, client: EntityClient) -> None:
    benchmark.extra_info["impl"] = "atomiton"
    todos = client.stores.Todo
    some_id = todos.find_many({"group": 7}, limit=1).data[0]["id"]
    assert benchmark(todos.get_one, some_id) is not None


@pytest.mark.benchmark(group="store entities: add_one direct (memory storage)")
def test_add_one_direct_atomiton(benchmark: Any) -> None:
    benchmark.extra_info["impl"] = "atomiton"
    c = create_client(flush_interval=None)
    c.configure("Todo", indexes=["priority"])
    todos = c.stores.Todo
    result = benchmark(todos.add_one, {"title": "x", "priority": 2})
    assert result["version"] == 1
    c.dispose()
