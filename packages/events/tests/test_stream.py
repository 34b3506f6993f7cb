"""bus.stream(): async iteration over a bounded buffer with a documented overflow policy."""

from __future__ import annotations

import asyncio
import threading

import pytest

from atomiton.events import BusConfigError, Event, EventBus, StreamOverflowError


async def test_stream_yields_matching_events_in_order() -> None:
    bus = EventBus()
    async with bus.stream("job.**") as stream:
        bus.emit("job.a", 1)
        bus.emit("other", 2)
        bus.emit("job.b.c", 3)
        received = [await anext(stream), await anext(stream)]
    assert [(e.type, e.data) for e in received] == [("job.a", 1), ("job.b.c", 3)]
    assert bus.listener_count("job.a") == 0


async def test_stream_wakes_up_for_events_emitted_from_another_thread() -> None:
    bus = EventBus()
    stream = bus.stream("t.*")

    def produce() -> None:
        for number in range(100):
            bus.emit("t.x", number)

    thread = threading.Thread(target=produce)
    thread.start()
    received: list[Event] = []
    async for event in stream:
        received.append(event)
        if len(received) == 100:
            break
    thread.join()
    await stream.aclose()
    assert [e.data for e in received] == list(range(100))


async def test_drop_oldest_keeps_the_newest_events_and_counts_drops() -> None:
    bus = EventBus()
    stream = bus.stream("a", maxsize=3)
    for number in range(5):
        bus.emit("a", number)
    assert stream.dropped == 2
    assert [(await anext(stream)).data for _ in range(3)] == [2, 3, 4]
    stream.close()


async def test_drop_newest_keeps_the_oldest_events() -> None:
    bus = EventBus()
    stream = bus.stream("a", maxsize=3, overflow="drop_newest")
    for number in range(5):
        bus.emit("a", number)
    assert [(await anext(stream)).data for _ in range(3)] == [0, 1, 2]
    assert stream.dropped == 2
    stream.close()


async def test_raise_overflow_tells_the_reader_it_fell_behind() -> None:
    bus = EventBus()
    stream = bus.stream("a", maxsize=2, overflow="raise")
    for number in range(3):
        bus.emit("a", number)
    with pytest.raises(StreamOverflowError, match="fell more than 2 events behind"):
        await anext(stream)
    assert [(await anext(stream)).data for _ in range(2)] == [0, 1]
    stream.close()


async def test_close_ends_a_waiting_iteration() -> None:
    bus = EventBus()
    stream = bus.stream("a")

    async def consume() -> list[Event]:
        return [event async for event in stream]

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    bus.emit("a")
    await asyncio.sleep(0.01)
    stream.close()
    assert [e.id for e in await asyncio.wait_for(task, 5)] == [1]


async def test_a_dropped_stream_unsubscribes_itself() -> None:
    bus = EventBus()
    stream = bus.stream("a")
    assert bus.listener_count("a") == 1
    del stream
    bus.emit("a")
    assert bus.listener_count("a") == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"maxsize": 0}, "maxsize must be an int >= 1"), ({"overflow": "block"}, "overflow must")],
)
def test_bad_stream_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(BusConfigError, match=message):
        EventBus().stream("a", **kwargs)  # type: ignore[arg-type]
