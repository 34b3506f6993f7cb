"""Async handlers: scheduled on their loop by emit, awaited by aemit, fed from any thread."""

from __future__ import annotations

import asyncio
import functools
import threading

import pytest

from atomiton.events import Event, EventBus, NoEventLoopError


async def test_emit_inside_a_loop_schedules_async_handlers_on_it() -> None:
    bus = EventBus()
    done = asyncio.Event()
    seen: list[tuple[int, bool]] = []

    async def handler(event: Event) -> None:
        await asyncio.sleep(0)
        seen.append((event.id, asyncio.get_running_loop() is loop))
        done.set()

    loop = asyncio.get_running_loop()
    bus.on("a", handler)
    bus.emit("a")
    assert seen == []  # scheduled, not run inside emit
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [(1, True)]


async def test_aemit_awaits_every_async_handler_and_runs_sync_ones() -> None:
    bus = EventBus()
    seen: list[str] = []

    async def slow(event: Event) -> None:
        await asyncio.sleep(0.01)
        seen.append("slow")

    async def fast(event: Event) -> None:
        seen.append("fast")

    bus.on("a", slow)
    bus.on("a", fast)
    bus.on("a", lambda e: seen.append("sync"))
    event = await bus.aemit("a", 1)
    assert sorted(seen) == ["fast", "slow", "sync"]
    assert event.data == 1


async def test_aemit_isolates_async_errors() -> None:
    errors: list[str] = []
    bus = EventBus(on_error=lambda error, event: errors.append(str(error)))
    seen: list[str] = []

    async def failing(event: Event) -> None:
        raise RuntimeError("async boom")

    def failing_sync(event: Event) -> None:
        raise RuntimeError("sync boom")

    async def fine(event: Event) -> None:
        seen.append("fine")

    bus.on("a", failing)
    bus.on("a", failing_sync)
    bus.on("a", fine)
    await bus.aemit("a")
    assert seen == ["fine"]
    assert sorted(errors) == ["async boom", "sync boom"]


async def test_async_handler_error_from_emit_goes_to_on_error() -> None:
    reported = asyncio.Event()
    errors: list[str] = []

    def on_error(error: Exception, event: Event) -> None:
        errors.append(f"{event.type}: {error}")
        reported.set()

    bus = EventBus(on_error=on_error)

    async def failing(event: Event) -> None:
        raise ValueError("nope")

    bus.on("a", failing)
    bus.emit("a")
    await asyncio.wait_for(reported.wait(), 5)
    assert errors == ["a: nope"]


async def test_loop_bound_async_handler_receives_events_emitted_from_other_threads() -> None:
    bus = EventBus()
    loop = asyncio.get_running_loop()
    received: list[tuple[int, threading.Thread]] = []
    all_in = asyncio.Event()
    per_thread, threads_count = 50, 4

    async def handler(event: Event) -> None:
        assert asyncio.get_running_loop() is loop
        received.append((event.data, threading.current_thread()))
        if len(received) == per_thread * threads_count:
            all_in.set()

    bus.on("work.*", handler)

    def producer(offset: int) -> None:
        for number in range(per_thread):
            bus.emit("work.item", offset + number)

    threads = [
        threading.Thread(target=producer, args=(index * 1000,)) for index in range(threads_count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        await asyncio.to_thread(thread.join)
    await asyncio.wait_for(all_in.wait(), 10)
    expected = {index * 1000 + number for index in range(4) for number in range(per_thread)}
    assert {data for data, _ in received} == expected
    assert {thread for _, thread in received} == {threading.main_thread()}


async def test_aemit_from_another_loop_awaits_a_handler_bound_to_this_loop() -> None:
    bus = EventBus()
    home = asyncio.get_running_loop()
    ran_on: list[asyncio.AbstractEventLoop] = []

    async def handler(event: Event) -> None:
        await asyncio.sleep(0.01)
        ran_on.append(asyncio.get_running_loop())

    bus.on("a", handler)

    def other_thread() -> int:
        async def main() -> int:
            await bus.aemit("a")
            return len(ran_on)  # aemit waited for the handler on the home loop

        return asyncio.run(main())

    assert await asyncio.to_thread(other_thread) == 1
    assert ran_on == [home]


def test_async_handler_with_no_loop_anywhere_reports_a_clear_error() -> None:
    errors: list[Exception] = []
    bus = EventBus(on_error=lambda error, event: errors.append(error))

    async def handler(event: Event) -> None:  # pragma: no cover - never runs
        raise AssertionError

    bus.on("a", handler)  # subscribed outside any loop
    bus.emit("a")  # emitted outside any loop
    (error,) = errors
    assert isinstance(error, NoEventLoopError)
    assert "handler" in str(error)
    assert "aemit" in str(error)


def test_unbound_async_handler_runs_on_the_emitters_loop() -> None:
    bus = EventBus()
    seen: list[int] = []

    async def handler(event: Event) -> None:
        seen.append(event.id)

    bus.on("a", handler)  # no loop running here

    async def main() -> None:
        await bus.aemit("a")
        bus.emit("a")
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert seen == [1, 2]


async def test_async_callable_object_is_treated_as_async() -> None:
    bus = EventBus()
    seen: list[int] = []

    class Handler:
        async def __call__(self, event: Event) -> None:
            seen.append(event.id)

    bus.on("a", Handler())
    await bus.aemit("a")
    assert seen == [1]


@pytest.mark.parametrize("use_aemit", [False, True])
async def test_once_async_handler_fires_once(use_aemit: bool) -> None:
    bus = EventBus()
    seen: list[int] = []

    async def handler(event: Event) -> None:
        seen.append(event.id)

    bus.once("a", handler)
    for _ in range(3):
        if use_aemit:
            await bus.aemit("a")
        else:
            bus.emit("a")
    await asyncio.sleep(0.01)
    assert seen == [1]


def test_handler_bound_to_a_closed_loop_reports_a_clear_error() -> None:
    errors: list[Exception] = []
    bus = EventBus(on_error=lambda error, event: errors.append(error))

    async def handler(event: Event) -> None:  # pragma: no cover - its loop is gone
        raise AssertionError

    async def subscribe() -> None:
        bus.on("a", handler)

    asyncio.run(subscribe())  # the handler is bound to a loop that is now closed
    bus.emit("a")
    (error,) = errors
    assert isinstance(error, NoEventLoopError)
    assert "has closed" in str(error)


async def test_partials_and_bound_methods_of_async_functions_are_async_handlers() -> None:
    bus = EventBus()
    seen: list[str] = []

    async def tagged(tag: str, event: Event) -> None:
        await asyncio.sleep(0)
        seen.append(f"{tag} {event.id}")

    class Listener:
        async def handle(self, event: Event) -> None:
            await asyncio.sleep(0)
            seen.append(f"method {event.id}")

    bus.on("a", functools.partial(tagged, "partial"))
    bus.on("a", Listener().handle)
    bus.on("a", lambda e: seen.append(f"sync {e.id}"))
    await bus.aemit("a")
    assert sorted(seen) == ["method 1", "partial 1", "sync 1"]


def test_aemit_to_a_handler_bound_to_a_closed_loop_reports_the_same_clear_error() -> None:
    errors: list[Exception] = []
    bus = EventBus(on_error=lambda error, event: errors.append(error))
    seen: list[int] = []

    async def handler(event: Event) -> None:  # pragma: no cover - its loop is gone
        raise AssertionError

    async def subscribe() -> None:
        bus.on("a", handler)

    asyncio.run(subscribe())
    bus.on("a", lambda e: seen.append(e.id))

    async def main() -> None:
        await bus.aemit("a")

    asyncio.run(main())  # warnings are errors: an unawaited coroutine would fail this test
    (error,) = errors
    assert isinstance(error, NoEventLoopError)
    assert "has closed" in str(error)
    assert seen == [1]
