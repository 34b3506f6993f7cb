"""``sync_atoms`` across real processes over the events bridge (issue 16).

Each child (``_store_sync_child.py atoms``) syncs ``theme`` and ``count`` on channel ``ui`` and
subscribes to ``label``, derived from both; over the SQLite, NATS and Redis bridges. A write in
one process must reach the others' subscribers through their locally recomputed ``label``; a
process SIGKILLed and started again must come back with the current values (its peers answer
its hello).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._line_child import LineChild

CHILD = Path(__file__).with_name("_store_sync_child.py")
WAIT = 20.0

pytestmark = pytest.mark.slow


class AtomChild(LineChild):
    def __init__(self, bus_url: str, stream: str) -> None:
        super().__init__(CHILD, "atoms", bus_url, stream)
        assert self.answer() == "ready"

    def wait_for(self, expected: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            state = self.ask({"op": "get"})
            if all(state[k] == v for k, v in expected.items()):
                return dict(state)
            if time.monotonic() > deadline:
                pytest.fail(f"expected {expected}, the child holds {state}")
            time.sleep(0.02)


@pytest.fixture(params=["sqlite", "nats", "redis"])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/events.db", "atomiton"
    if request.param == "nats":
        return request.getfixturevalue("nats_url"), request.getfixturevalue("nats_stream")
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    return f"{url}?prefix={prefix}", "events"


@pytest.fixture
def started() -> Iterator[list[AtomChild]]:
    children: list[AtomChild] = []
    yield children
    for child in children:
        child.end()


def test_a_write_reaches_subscribers_elsewhere_and_a_killed_process_rejoins(
    bus: tuple[str, str], started: list[AtomChild]
) -> None:
    started += [AtomChild(*bus) for _ in range(3)]
    one, two, three = started
    assert one.ask({"op": "set", "name": "theme", "value": "dark"}) == "set"
    for child in (two, three):
        state = child.wait_for({"theme": "dark", "label": "dark:0"})
        assert state["heard"] == ["dark:0"]  # the subscriber heard the derived value once
    assert two.ask({"op": "set", "name": "count", "value": 5}) == "set"
    for child in (one, three):
        child.wait_for({"count": 5, "label": "dark:5"})
    three.kill()
    started.remove(three)
    assert one.ask({"op": "set", "name": "theme", "value": "blue"}) == "set"
    restarted = AtomChild(*bus)
    started.append(restarted)
    # Back with what its peers hold now, without anyone writing again.
    state = restarted.wait_for({"theme": "blue", "count": 5, "label": "blue:5"})
    assert state["heard"][-1] == "blue:5"
    # And it takes part in later writes both ways.
    assert restarted.ask({"op": "set", "name": "count", "value": 6}) == "set"
    for child in (one, two):
        child.wait_for({"count": 6, "label": "blue:6"})
