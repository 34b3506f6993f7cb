"""The cost of history and replay in atomiton.events, beside RxPY's ReplaySubject.

- "history cost per emit": one emit to one listener on a bus recording the last 1000 events,
  against the same bus with ``history=0`` (``atomiton-no-history``: the difference is what
  history costs) and reactivex ``ReplaySubject(buffer_size=1000).on_next``, the closest peer.
  pyee, blinker and psygnal keep no history.
- "replay 1000 events to a new subscriber": ``bus.on(pattern, handler, replay=True)`` over a
  full 1000-event history (then unsubscribing), against ``ReplaySubject.subscribe`` + dispose.
  Divide by 1000 for the per-event cost (target: <= 1 µs per event).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from reactivex.subject import ReplaySubject

from atomiton.events import Event, EventBus

HISTORY = 1000


def _event_listener(_event: Event) -> None:
    pass


def _value_listener(_value: Any) -> None:
    pass


def _emit_with_history() -> Callable[[], Any]:
    bus = EventBus(history_limit=HISTORY)
    bus.on("job.done", _event_listener)
    return lambda: bus.emit("job.done", 1)


def _emit_without_history() -> Callable[[], Any]:
    bus = EventBus(history_limit=0)
    bus.on("job.done", _event_listener)
    return lambda: bus.emit("job.done", 1)


def _replay_subject_on_next() -> Callable[[], Any]:
    subject: ReplaySubject[Any] = ReplaySubject(buffer_size=HISTORY)
    subject.subscribe(_value_listener)
    return lambda: subject.on_next(1)


HISTORY_CASES = {
    "atomiton": _emit_with_history,
    "atomiton-no-history": _emit_without_history,
    "reactivex": _replay_subject_on_next,
}


@pytest.mark.parametrize("impl", list(HISTORY_CASES))
@pytest.mark.benchmark(group="events: emit with a 1000-event history")
def test_history_cost_per_emit(benchmark: BenchmarkFixture, impl: str) -> None:
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        # 1 µs for the emit itself plus at most 0.3 µs for recording it.
        benchmark.extra_info["target_s"] = 1.3e-6
    # Many calls per round: one emit is shorter than the timer's own overhead.
    benchmark.pedantic(HISTORY_CASES[impl](), rounds=400, iterations=250, warmup_rounds=4)  # type: ignore[no-untyped-call]


def _replay_atomiton() -> Callable[[], Any]:
    bus = EventBus(history_limit=HISTORY)
    for number in range(HISTORY):
        bus.emit("job.done", number)

    def replay() -> None:
        bus.on("job.*", _event_listener, replay=True)()

    return replay


def _replay_reactivex() -> Callable[[], Any]:
    subject: ReplaySubject[Any] = ReplaySubject(buffer_size=HISTORY)
    for number in range(HISTORY):
        subject.on_next(number)

    def replay() -> None:
        subject.subscribe(_value_listener).dispose()

    return replay


REPLAY_CASES = {"atomiton": _replay_atomiton, "reactivex": _replay_reactivex}


@pytest.mark.parametrize("impl", list(REPLAY_CASES))
@pytest.mark.benchmark(group="events: replay 1000 events to a new subscriber")
def test_replay_per_event(benchmark: BenchmarkFixture, impl: str) -> None:
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["events"] = HISTORY
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = HISTORY * 1e-6
    benchmark.pedantic(REPLAY_CASES[impl](), rounds=100, iterations=1, warmup_rounds=2)  # type: ignore[no-untyped-call]


def test_replay_setup_replays_every_event() -> None:
    bus = EventBus(history_limit=HISTORY)
    for number in range(HISTORY + 5):
        bus.emit("job.done", number)
    seen: list[int] = []
    bus.on("job.*", lambda e: seen.append(e.data), replay=True)
    assert seen == list(range(5, HISTORY + 5))
