"""One table of pattern cases, run on the local bus and across every transport in TRANSPORTS.

The bridge promises that ``*`` and ``**`` mean across processes exactly what they mean locally,
for any type text the local bus accepts (spaces, ``>``, ``%``, non-ASCII included). The expected
lists are written out by hand, not computed with ``matches()``, so the table checks both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from atomiton.events import EventBus, connect_bus

from ._bridge_support import TRANSPORTS, Collector, Target

TYPES = [
    "order",
    "order.created",
    "order.created.v2",
    "a",
    "a.d",
    "a.b.d",
    "a.b.c.d",
    "a.x.d.d",
    "x y.>z",
    "%41.b",
    "A.b",
    "é.ü",
    "job.1.done",
]
END = "zz-end-of-case"

CASES: dict[str, list[str]] = {
    "order.created": ["order.created"],
    "order.*": ["order.created"],
    "order.**": ["order", "order.created", "order.created.v2"],
    "*": ["order", "a"],
    "**": TYPES,
    "**.**": TYPES,
    "a.**.d": ["a.d", "a.b.d", "a.b.c.d", "a.x.d.d"],
    "**.d": ["a.d", "a.b.d", "a.b.c.d", "a.x.d.d"],
    "*.*.d": ["a.b.d"],
    "a.*.**.d": ["a.b.d", "a.b.c.d", "a.x.d.d"],
    "x y.>z": ["x y.>z"],
    "x y.*": ["x y.>z"],
    "%41.b": ["%41.b"],
    "A.b": ["A.b"],
    "é.*": ["é.ü"],
    "job.*.done": ["job.1.done"],
}


@pytest.fixture(params=sorted(TRANSPORTS))
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return TRANSPORTS[request.param](request, tmp_path)


def _emit_all(bus: EventBus) -> None:
    for event_type in TYPES:
        bus.emit(event_type, {"type": event_type})
    bus.emit(END)


@pytest.mark.parametrize("pattern", sorted(CASES))
def test_pattern_matches_locally(pattern: str) -> None:
    bus = EventBus()
    seen = Collector()
    bus.on(pattern, seen)
    _emit_all(bus)
    assert [t for t in seen.types if t != END] == CASES[pattern]


@pytest.mark.parametrize("pattern", sorted(CASES))
def test_subscribe_pattern_means_the_same_across_the_bridge(target: Target, pattern: str) -> None:
    sender, receiver = EventBus(), EventBus()
    seen = Collector()
    receiver.on("**", seen)
    with (
        connect_bus(
            receiver, target.url, publish=[], subscribe=[pattern, END], stream=target.stream
        ),
        connect_bus(sender, target.url, subscribe=[], stream=target.stream),
    ):
        _emit_all(sender)
        events = seen.wait_until(lambda events: bool(events) and events[-1].type == END)
    assert [e.type for e in events if e.type != END] == CASES[pattern]
    assert all(e.data == {"type": e.type} for e in events if e.type != END)


@pytest.mark.parametrize("pattern", sorted(CASES))
def test_publish_pattern_means_the_same_across_the_bridge(target: Target, pattern: str) -> None:
    sender, receiver = EventBus(), EventBus()
    seen = Collector()
    receiver.on("**", seen)
    with (
        connect_bus(receiver, target.url, publish=[], stream=target.stream),
        connect_bus(sender, target.url, publish=[pattern, END], subscribe=[], stream=target.stream),
    ):
        _emit_all(sender)
        events = seen.wait_until(lambda events: bool(events) and events[-1].type == END)
    assert [e.type for e in events if e.type != END] == CASES[pattern]


@pytest.mark.parametrize("pattern", ["order.**", "a.**.d", "x y.*", "é.*"])
def test_history_pattern_means_the_same_in_the_durable_stream(target: Target, pattern: str) -> None:
    bus = EventBus()
    with connect_bus(bus, target.url, stream=target.stream) as bridge:
        _emit_all(bus)
        assert bridge.flush(timeout=20.0)
        assert [e.type for e in bridge.history(pattern)] == CASES[pattern]
