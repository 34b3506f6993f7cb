"""What devtools cost an app: nothing once detached, a bounded price while attached.

Groups (ratio = peer / atomiton, above 1: atomiton faster):
- "devtools: store.set after detach": a store that had DevTools attached and detached, beside a
  store that never had them. The issue's promise "attaching costs nothing when devtools is not
  attached" means a ratio of about 1.
- "devtools: store.set while attached": one recorded write (history point, timeline entry,
  profile sample) beside the store package's own ``TimeTravel(auto_capture=True)``.
- "devtools: emit while attached" / "devtools: emit after detach": the same for an event bus.
- "devtools: inspector view": building the page's JSON view with a full 10,000-entry timeline.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from atomiton.devtools import DevTools
from atomiton.events import EventBus
from atomiton.store import TimeTravel, atom, create_store


def _counter_store() -> tuple[Any, Any, itertools.count[int]]:
    count = atom(0, name="count")
    return create_store(), count, itertools.count(1)


@pytest.mark.benchmark(group="devtools: store.set after detach")
def test_set_after_detach_atomiton(benchmark: Any) -> None:
    store, count, numbers = _counter_store()
    with DevTools() as dt:
        dt.attach(store, name="ui")
        dt.detach("ui")
    benchmark.extra_info["impl"] = "atomiton"
    benchmark(lambda: store.set(count, next(numbers)))


@pytest.mark.benchmark(group="devtools: store.set after detach")
def test_set_never_attached(benchmark: Any) -> None:
    store, count, numbers = _counter_store()
    benchmark.extra_info["impl"] = "never attached"
    benchmark(lambda: store.set(count, next(numbers)))


@pytest.mark.benchmark(group="devtools: store.set while attached")
def test_set_while_attached_atomiton(benchmark: Any) -> None:
    store, count, numbers = _counter_store()
    dt = DevTools(entry_limit=1000, history_limit=100)
    dt.attach(store, name="ui")
    benchmark.extra_info["impl"] = "atomiton"
    benchmark(lambda: store.set(count, next(numbers)))
    dt.close()


@pytest.mark.benchmark(group="devtools: store.set while attached")
def test_set_with_store_time_travel(benchmark: Any) -> None:
    store, count, numbers = _counter_store()
    travel = TimeTravel(store, history_limit=100, auto_capture=True)
    benchmark.extra_info["impl"] = "TimeTravel(auto_capture)"
    benchmark(lambda: store.set(count, next(numbers)))
    travel.clear()


@pytest.mark.benchmark(group="devtools: emit after detach")
def test_emit_after_detach_atomiton(benchmark: Any) -> None:
    bus = EventBus(history_limit=0)
    bus.on("job.*", lambda event: None)
    with DevTools() as dt:
        dt.attach(bus)
    benchmark.extra_info["impl"] = "atomiton"
    benchmark(bus.emit, "job.done", {"id": 1})


@pytest.mark.benchmark(group="devtools: emit after detach")
def test_emit_never_attached(benchmark: Any) -> None:
    bus = EventBus(history_limit=0)
    bus.on("job.*", lambda event: None)
    benchmark.extra_info["impl"] = "never attached"
    benchmark(bus.emit, "job.done", {"id": 1})


@pytest.mark.benchmark(group="devtools: emit while attached")
def test_emit_while_attached_atomiton(benchmark: Any) -> None:
    bus = EventBus(history_limit=0)
    dt = DevTools(entry_limit=1000)
    dt.attach(bus)
    benchmark.extra_info["impl"] = "atomiton"
    benchmark(bus.emit, "job.done", {"id": 1})
    dt.close()


@pytest.mark.benchmark(group="devtools: inspector view")
def test_view_of_a_full_timeline_atomiton(benchmark: Any) -> None:
    store, count, numbers = _counter_store()
    dt = DevTools(entry_limit=10_000, history_limit=100)
    dt.attach(store, name="ui")
    for _ in range(10_000):
        store.set(count, next(numbers))
    benchmark.extra_info["impl"] = "atomiton"
    view = benchmark(dt.view)
    assert len(view["timeline"]) == 300
    dt.close()
