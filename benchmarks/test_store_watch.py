"""store.watch delivery overhead against a plain store.subscribe listener, in the same run.

Two cases, each a round of 1,000 changes inside one running event loop:

* **same task** (``store.watch: set, then receive``): the code that writes also reads the
  change. ``subscribe``: ``store.set`` calls a listener that records the value (the least any
  delivery can cost). ``atomiton``: ``store.set`` wakes the watch and ``await anext(watch)``
  returns the value, without a trip through the loop (the value is already there).
* **consumer task** (``store.watch: wake a consumer task``): a separate task waits for each
  change, the way a websocket pusher or a Textual widget does. ``subscribe``: the hand-written
  equivalent, a listener that records the value and sets an ``asyncio.Event`` the consumer
  waits on. ``atomiton``: the consumer runs ``async for value in store.watch(atom)``.

The ratio printed is subscribe time / watch time: below 1, watch costs more by that factor's
inverse. Timed with the thread's CPU time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from atomiton.store import atom, create_store

pytestmark = pytest.mark.benchmark(timer=time.thread_time)

CHANGES = 1_000
SAME_TASK = "store.watch: set, then receive (1,000 changes)"
CONSUMER = "store.watch: wake a consumer task (1,000 changes)"


def _run_rounds(
    benchmark: BenchmarkFixture, make_round: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    loop = asyncio.new_event_loop()
    try:
        benchmark.pedantic(  # type: ignore[no-untyped-call]
            lambda: loop.run_until_complete(make_round()), rounds=30, warmup_rounds=2
        )
    finally:
        loop.close()


@pytest.mark.benchmark(group=SAME_TASK)
def test_same_task_watch(benchmark: BenchmarkFixture) -> None:
    benchmark.extra_info["impl"] = "atomiton"
    store = create_store()
    count = atom(0)

    async def one_round() -> None:
        updates = store.watch(count)
        start = await anext(updates)
        for i in range(start + 1, start + CHANGES + 1):
            store.set(count, i)
            assert await anext(updates) == i
        updates.close()

    _run_rounds(benchmark, one_round)


@pytest.mark.benchmark(group=SAME_TASK)
def test_same_task_subscribe(benchmark: BenchmarkFixture) -> None:
    benchmark.extra_info["impl"] = "subscribe"
    store = create_store()
    count = atom(0)

    async def one_round() -> None:
        received: list[int] = []
        unsubscribe = store.subscribe(count, received.append)
        start = store.get(count)
        for i in range(start + 1, start + CHANGES + 1):
            store.set(count, i)
            assert received[-1] == i
        unsubscribe()

    _run_rounds(benchmark, one_round)


@pytest.mark.benchmark(group=CONSUMER)
def test_consumer_task_watch(benchmark: BenchmarkFixture) -> None:
    benchmark.extra_info["impl"] = "atomiton"
    store = create_store()
    count = atom(0)

    async def one_round() -> None:
        start = store.get(count)
        end = start + CHANGES
        seen: list[int] = []

        async def consume() -> None:
            async for value in store.watch(count):
                seen.append(value)
                if value == end:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        for i in range(start + 1, end + 1):
            store.set(count, i)
            await asyncio.sleep(0)
        await task
        assert seen[-1] == end
        assert len(seen) == CHANGES + 1

    _run_rounds(benchmark, one_round)


@pytest.mark.benchmark(group=CONSUMER)
def test_consumer_task_subscribe(benchmark: BenchmarkFixture) -> None:
    benchmark.extra_info["impl"] = "subscribe"
    store = create_store()
    count = atom(0)

    async def one_round() -> None:
        start = store.get(count)
        end = start + CHANGES
        latest: list[int] = [start]
        changed = asyncio.Event()
        seen: list[int] = []

        def listener(value: int) -> None:
            latest[0] = value
            changed.set()

        async def consume() -> None:
            unsubscribe = store.subscribe(count, listener)
            seen.append(store.get(count))
            while seen[-1] != end:
                await changed.wait()
                changed.clear()
                seen.append(latest[0])
            unsubscribe()

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        for i in range(start + 1, end + 1):
            store.set(count, i)
            await asyncio.sleep(0)
        await task
        assert seen[-1] == end
        assert len(seen) == CHANGES + 1

    _run_rounds(benchmark, one_round)
