"""An idle EventBus must stay small (<= 1 KB): packages create buses freely.

Memory is measured with tracemalloc over 1000 fresh instances (bytes allocated per instance),
for atomiton and for each peer's closest equivalent of "an empty bus": pyee ``EventEmitter()``,
blinker ``Signal()``, psygnal ``SignalInstance((object,))`` and reactivex ``Subject()``. The size
is asserted for atomiton and recorded for everyone in ``extra_info["bytes"]``; the timed part is
how long building one idle bus takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from blinker import Signal as BlinkerSignal
from psygnal import SignalInstance
from pyee import EventEmitter
from pytest_benchmark.fixture import BenchmarkFixture
from reactivex.subject import Subject

from atomiton.events import EventBus
from atomiton.platform.testing import bytes_per_object

IDLE_BUS_LIMIT = 1024

FACTORIES: dict[str, Callable[[], Any]] = {
    "atomiton": EventBus,
    "pyee": EventEmitter,
    "blinker": BlinkerSignal,
    "psygnal": lambda: SignalInstance((object,)),
    "reactivex": Subject,
}


def bytes_per_instance(factory: Callable[[], Any], count: int = 1000) -> float:
    """Bytes allocated per live instance by the factory itself (other threads' excluded)."""
    return bytes_per_object(lambda _index: factory(), count)


def test_idle_bus_takes_at_most_one_kilobyte() -> None:
    size = bytes_per_instance(EventBus)
    assert size <= IDLE_BUS_LIMIT, f"an idle EventBus takes {size:.0f} bytes"


def test_a_bus_that_was_used_and_emptied_again_is_still_small() -> None:
    def used_bus() -> EventBus:
        bus = EventBus(history_limit=0)
        bus.on("a.*", print)()
        return bus

    assert bytes_per_instance(used_bus, count=200) <= IDLE_BUS_LIMIT


@pytest.mark.parametrize("impl", list(FACTORIES))
@pytest.mark.benchmark(group="events: create an idle bus")
def test_idle_bus_size_and_creation_time(benchmark: BenchmarkFixture, impl: str) -> None:
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["bytes"] = round(bytes_per_instance(FACTORIES[impl], count=200))
    benchmark(FACTORIES[impl])
