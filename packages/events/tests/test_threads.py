"""Thread safety: emit and subscribe from many threads at once."""

from __future__ import annotations

import sys
import threading

from atomiton.events import Event, EventBus


def test_concurrent_emitters_deliver_every_event_exactly_once() -> None:
    bus = EventBus(history_limit=0)
    seen: list[int] = []
    lock = threading.Lock()

    def record(event: Event) -> None:
        with lock:
            seen.append(event.id)

    bus.on("t.*", record)
    threads = [
        threading.Thread(target=lambda: [bus.emit("t.x") for _ in range(2000)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 16001))


def test_subscribing_and_unsubscribing_while_others_emit_is_safe() -> None:
    bus = EventBus(history_limit=0)
    stable: list[Event] = []
    bus.on("t.x", stable.append)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            bus.on("t.*", lambda e: None)()

    churners = [threading.Thread(target=churn) for _ in range(2)]
    for thread in churners:
        thread.start()
    emitted = [bus.emit("t.x") for _ in range(5000)]
    stop.set()
    for thread in churners:
        thread.join()
    assert stable == emitted
    assert bus.listener_count() == 1


def race_six_emitters_against_once() -> list[int]:
    bus = EventBus(history_limit=0)
    fired: list[int] = []
    bus.once("a", lambda e: fired.append(e.id))
    barrier = threading.Barrier(6)

    def emit() -> None:
        barrier.wait()
        for _ in range(20):
            bus.emit("a")

    threads = [threading.Thread(target=emit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return fired


def test_once_fires_exactly_once_under_concurrent_emits() -> None:
    for _ in range(20):
        assert len(race_six_emitters_against_once()) == 1


def test_once_that_fires_while_being_subscribed_still_unsubscribes() -> None:
    for _ in range(20):
        bus = EventBus(history_limit=0)
        stop = threading.Event()

        def emit_until_stopped(bus: EventBus = bus, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                bus.emit("a")

        emitter = threading.Thread(target=emit_until_stopped)
        emitter.start()
        fired: list[Event] = []
        bus.once("a", fired.append)
        while not fired:
            threading.Event().wait(0.001)
        stop.set()
        emitter.join()
        assert len(fired) == 1
        assert bus.listener_count("a") == 0


def fresh_events_kept_when_three_threads_emit_past_an_age_limit() -> int:
    now = [0.0]
    bus = EventBus(history_limit=None, history_age=60.0, clock=lambda: now[0])
    for _ in range(3):
        bus.emit("old")
    now[0] = 100.0  # every recorded event is now too old: the next emits evict them
    barrier = threading.Barrier(3)

    def emit() -> None:
        barrier.wait()
        bus.emit("new")

    threads = [threading.Thread(target=emit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [event.type for event in bus.history()].count("new")


def test_age_eviction_racing_across_threads_never_drops_a_fresh_event() -> None:
    # Two threads that both saw the same old head used to pop it and then a fresh event.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to provoke the race
    try:
        kept = [fresh_events_kept_when_three_threads_emit_past_an_age_limit() for _ in range(600)]
    finally:
        sys.setswitchinterval(interval)
    assert set(kept) == {3}
