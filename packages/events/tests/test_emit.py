"""Subscribing, emitting, ordering, once/off and the Event value."""

from __future__ import annotations

import dataclasses

import pytest

from atomiton.events import Event, EventBus, SubscriptionError


def test_emit_returns_the_delivered_event_with_every_field() -> None:
    bus = EventBus(clock=lambda: 123.5)
    seen: list[Event] = []
    bus.on("job.done", seen.append)
    event = bus.emit("job.done", {"id": 7}, source="execution")
    assert seen == [event]
    assert (event.id, event.type, event.data, event.source, event.timestamp) == (
        1,
        "job.done",
        {"id": 7},
        "execution",
        123.5,
    )


def test_event_is_a_frozen_dataclass() -> None:
    event = EventBus().emit("job.done")
    assert type(event) is Event
    assert dataclasses.is_dataclass(event)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.type = "other"  # type: ignore[misc]
    assert event == Event(event.id, "job.done", None, None, event.timestamp)


def test_ids_increase_by_one_per_bus() -> None:
    first, second = EventBus(), EventBus()
    assert [first.emit("a").id for _ in range(3)] == [1, 2, 3]
    assert second.emit("a").id == 1


def test_handlers_run_in_registration_order() -> None:
    bus = EventBus()
    calls: list[str] = []
    bus.on("job.*", lambda e: calls.append("wild"))
    bus.on("job.done", lambda e: calls.append("exact"))
    bus.on("**", lambda e: calls.append("all"))
    bus.emit("job.done")
    assert calls == ["wild", "exact", "all"]


def test_higher_priority_runs_first_and_ties_keep_registration_order() -> None:
    bus = EventBus()
    calls: list[str] = []
    bus.on("a", lambda e: calls.append("low"), priority=-1)
    bus.on("a", lambda e: calls.append("first0"))
    bus.on("a", lambda e: calls.append("high"), priority=5)
    bus.on("a", lambda e: calls.append("second0"))
    bus.emit("a")
    assert calls == ["high", "first0", "second0", "low"]


def test_same_handler_on_two_patterns_is_two_subscriptions() -> None:
    bus = EventBus()
    seen: list[int] = []
    bus.on("job.*", lambda e: seen.append(e.id))
    handler = seen.append
    bus.on("job.done", handler)  # type: ignore[arg-type]
    bus.on("job.**", handler)  # type: ignore[arg-type]
    assert bus.listener_count("job.done") == 3
    bus.off("job.done", handler)  # type: ignore[arg-type]
    assert bus.listener_count("job.done") == 2


def test_unsubscribe_removes_only_its_own_subscription() -> None:
    bus = EventBus()
    seen: list[str] = []

    def handler(event: Event) -> None:
        seen.append(event.type)

    first = bus.on("a", handler)
    bus.on("a", handler)
    assert first() is True
    assert first() is False
    bus.emit("a")
    assert seen == ["a"]


def test_off_removes_the_pattern_handler_pair_and_reports_it() -> None:
    bus = EventBus()
    seen: list[str] = []

    def handler(event: Event) -> None:
        seen.append(event.type)

    bus.on("a.*", handler)
    bus.on("a.b", handler)
    assert bus.off("a.*", handler) is True
    assert bus.off("a.*", handler) is False
    bus.emit("a.b")
    assert seen == ["a.b"]


def test_off_matches_bound_methods_by_equality() -> None:
    class Listener:
        def __init__(self) -> None:
            self.seen = 0

        def handle(self, event: Event) -> None:
            self.seen += 1

    bus = EventBus()
    listener = Listener()
    bus.on("a", listener.handle)
    assert bus.off("a", listener.handle) is True
    bus.emit("a")
    assert listener.seen == 0


def test_once_fires_for_the_first_event_only() -> None:
    bus = EventBus()
    seen: list[int] = []
    bus.once("job.*", lambda e: seen.append(e.id))
    bus.emit("job.a")
    bus.emit("job.b")
    assert seen == [1]
    assert bus.listener_count("job.a") == 0


def test_once_can_be_cancelled_before_it_fires() -> None:
    bus = EventBus()
    seen: list[int] = []
    cancel = bus.once("a", lambda e: seen.append(e.id))
    assert cancel() is True
    bus.emit("a")
    assert seen == []


def test_subscribing_during_an_emit_takes_effect_from_the_next_emit() -> None:
    bus = EventBus()
    seen: list[str] = []

    def subscribe_more(event: Event) -> None:
        bus.on("a", lambda e: seen.append(f"late {e.id}"))

    bus.once("a", subscribe_more)
    bus.emit("a")
    assert seen == []
    bus.emit("a")
    assert seen == ["late 2"]


def test_reentrant_emit_is_delivered_depth_first() -> None:
    bus = EventBus()
    calls: list[str] = []

    def first(event: Event) -> None:
        calls.append(f"first {event.type}")
        if event.type == "outer":
            bus.emit("inner")

    bus.on("*", first)
    bus.on("*", lambda e: calls.append(f"second {e.type}"))
    bus.emit("outer")
    assert calls == ["first outer", "first inner", "second inner", "second outer"]


def test_listener_count_counts_matching_subscriptions() -> None:
    bus = EventBus()
    assert bus.listener_count() == 0
    bus.on("job.*", print)
    bus.on("job.**", print)
    bus.on("other", print)
    assert bus.listener_count("job.done") == 2
    assert bus.listener_count("job") == 1
    assert bus.listener_count() == 3


def test_non_callable_handler_is_refused() -> None:
    with pytest.raises(SubscriptionError, match="handler must be callable, got str"):
        EventBus().on("a", "not a function")  # type: ignore[arg-type]


def test_non_int_priority_is_refused() -> None:
    with pytest.raises(SubscriptionError, match="priority must be an int"):
        EventBus().on("a", print, priority="high")  # type: ignore[arg-type]


def test_close_removes_every_subscription() -> None:
    bus = EventBus()
    bus.on("**", print)
    bus.close()
    assert bus.listener_count() == 0
    assert bus.emit("a").id == 1


def test_many_distinct_types_keep_delivering_past_the_cache_limit() -> None:
    bus = EventBus(history_limit=0)
    seen: list[str] = []
    bus.on("t.*", lambda e: seen.append(e.type))
    for number in range(5000):
        bus.emit(f"t.{number}")
    assert len(seen) == 5000
