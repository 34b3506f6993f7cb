"""store.watch(atom): current value first, then changes; conflation; cleanup; threads."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from atomiton.store import (
    AtomWatch,
    Getter,
    HasData,
    HasError,
    atom,
    computed,
    create_store,
    loadable,
)


def _mount_log() -> tuple[list[str], dict[str, object]]:
    log: list[str] = []
    hooks: dict[str, object] = {
        "on_mount": lambda store: log.append("mount"),
        "on_unmount": lambda store: log.append("unmount"),
    }
    return log, hooks


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_yields_the_current_value_first_then_each_change() -> None:
    store = create_store()
    count = atom(1)
    seen: list[int] = []

    async def consume() -> None:
        async for value in store.watch(count):
            seen.append(value)
            if value == 3:
                return

    task = asyncio.create_task(consume())
    await _settle()
    assert seen == [1]
    store.set(count, 2)
    await _settle()
    assert seen == [1, 2]
    store.set(count, 2)  # equal: no change, nothing yielded
    store.set(count, 3)
    await asyncio.wait_for(task, 1)
    assert seen == [1, 2, 3]


async def test_works_for_derived_atoms() -> None:
    store = create_store()
    count = atom(1)
    parity = computed(lambda get: get(count) % 2)
    updates = store.watch(parity)
    assert await anext(updates) == 1
    store.set(count, 3)  # parity unchanged: nothing to yield
    store.set(count, 4)
    assert await asyncio.wait_for(anext(updates), 1) == 0
    updates.close()


async def test_works_for_async_atoms_waiting_for_the_first_settle() -> None:
    store = create_store()
    user_id = atom(1)
    gate = asyncio.Event()

    async def load(get: Getter) -> str:
        uid = get(user_id)
        await gate.wait()
        return f"user {uid}"

    user = computed(load)
    updates = store.watch(user)
    first = asyncio.ensure_future(anext(updates))
    await _settle()
    assert not first.done()  # pending until the evaluation settles
    gate.set()
    assert await asyncio.wait_for(first, 1) == "user 1"
    store.set(user_id, 2)
    assert await asyncio.wait_for(anext(updates), 1) == "user 2"
    # The settle that answered the first value also called the listener: yielded once only.
    store.set(user_id, 3)
    assert await asyncio.wait_for(anext(updates), 1) == "user 3"
    updates.close()


async def test_a_slow_consumer_gets_the_latest_value_not_a_queue() -> None:
    store = create_store()
    count = atom(0)
    updates = store.watch(count)
    assert await anext(updates) == 0
    for i in range(1, 10_001):  # the consumer does not run in between
        store.set(count, i)
    assert await asyncio.wait_for(anext(updates), 1) == 10_000
    later = asyncio.ensure_future(anext(updates))
    await _settle()
    assert not later.done()  # the 9,999 skipped values were never queued
    store.set(count, 10_001)
    assert await asyncio.wait_for(later, 1) == 10_001
    updates.close()


async def test_breaking_out_of_the_loop_unsubscribes() -> None:
    store = create_store()
    log, hooks = _mount_log()
    count = atom(0, **hooks)  # type: ignore[arg-type]
    async for value in store.watch(count):
        assert value == 0
        assert log == ["mount"]
        break
    assert log == ["mount", "unmount"]  # at once: the dropped iterator unsubscribed
    store.set(count, 1)  # nobody listening: no error, nothing held


async def test_cancelling_the_consuming_task_unsubscribes_even_if_the_watch_is_kept() -> None:
    store = create_store()
    log, hooks = _mount_log()
    count = atom(0, **hooks)  # type: ignore[arg-type]
    updates = store.watch(count)  # kept in a variable: only cancellation can unsubscribe
    seen: list[int] = []

    async def consume() -> None:
        async for value in updates:
            seen.append(value)

    task = asyncio.create_task(consume())
    await _settle()
    assert seen == [0]
    assert log == ["mount"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["mount", "unmount"]
    assert updates.is_closed
    with pytest.raises(StopAsyncIteration):
        await anext(updates)


async def test_close_from_another_task_ends_a_waiting_iteration() -> None:
    store = create_store()
    log, hooks = _mount_log()
    count = atom(0, **hooks)  # type: ignore[arg-type]
    seen: list[int] = []
    async with store.watch(count) as updates:

        async def consume() -> None:
            async for value in updates:
                seen.append(value)

        task = asyncio.create_task(consume())
        await _settle()
        await updates.aclose()
        await asyncio.wait_for(task, 1)  # the loop ended normally
    assert seen == [0]
    assert log == ["mount", "unmount"]


async def test_changes_from_other_threads_arrive_in_order_and_end_with_the_last() -> None:
    store = create_store()
    count = atom(0)
    updates = store.watch(count)
    assert await anext(updates) == 0
    n = 2_000

    def writer() -> None:
        for i in range(1, n + 1):
            store.set(count, i)

    thread = threading.Thread(target=writer)
    seen: list[int] = []
    thread.start()
    while not seen or seen[-1] != n:
        seen.append(await asyncio.wait_for(anext(updates), 5))
    thread.join()
    assert seen == sorted(set(seen))  # never an older value after a newer one
    updates.close()


async def test_a_failing_first_read_raises_and_leaves_no_listener() -> None:
    store = create_store()
    log, hooks = _mount_log()
    divisor = atom(0, **hooks)  # type: ignore[arg-type]
    ratio = computed(lambda get: 1 // get(divisor))
    updates = store.watch(ratio)
    with pytest.raises(ZeroDivisionError):
        await anext(updates)
    assert log == ["mount", "unmount"]
    assert updates.is_closed


async def test_watching_a_loadable_reports_errors_as_values() -> None:
    store = create_store()
    fail = atom(False)

    async def load(get: Getter) -> int:
        if get(fail):
            raise ValueError("boom")
        await asyncio.sleep(0)
        return 7

    states = store.watch(loadable(computed(load)))
    first = await anext(states)
    if not isinstance(first, HasData):  # Loading() first, then the data
        first = await asyncio.wait_for(anext(states), 1)
    assert first == HasData(7)
    store.set(fail, True)
    failed = await asyncio.wait_for(anext(states), 1)
    assert isinstance(failed, HasError)
    assert str(failed.error) == "boom"
    states.close()


async def test_a_dropped_watch_is_collected_and_unsubscribed() -> None:
    store = create_store()
    log, hooks = _mount_log()
    count = atom(0, **hooks)  # type: ignore[arg-type]
    updates: AtomWatch[int] | None = store.watch(count)
    assert updates is not None
    assert await anext(updates) == 0
    del updates
    gc.collect()
    assert log == ["mount", "unmount"]


def test_watch_rejects_what_is_not_an_atom() -> None:
    with pytest.raises(TypeError, match="needs an atom"):
        create_store().watch(3)  # type: ignore[arg-type]


async def test_a_failing_first_async_evaluation_raises_and_leaves_no_listener() -> None:
    store = create_store()
    log, hooks = _mount_log()
    source = atom(0, **hooks)  # type: ignore[arg-type]

    async def load(get: Getter) -> int:
        get(source)
        await asyncio.sleep(0)
        raise LookupError("gone")

    updates = store.watch(computed(load))
    with pytest.raises(LookupError, match="gone"):
        await anext(updates)
    assert updates.is_closed
    assert log == ["mount", "unmount"]


def test_a_write_from_a_thread_after_the_consumers_loop_closed_does_not_fail() -> None:
    store = create_store()
    count = atom(0)

    async def start() -> AtomWatch[int]:
        updates = store.watch(count)
        assert await anext(updates) == 0
        return updates

    updates = asyncio.run(start())  # the loop is closed when run() returns
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            store.set(count, 1)
        except BaseException as exc:  # pragma: no cover - the failure this test guards against
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join()
    assert errors == []
    updates.close()
