"""Shared helpers of the bridge tests: where each transport lives, and waiting for events.

``TRANSPORTS`` maps a transport's name to a function giving a test its own meeting place (URL and
stream). The shared bridge suites (``test_bridge_patterns.py``, ...) run once per entry, so a new
transport joins them by adding one line here, e.g.::

    "nats": lambda request, tmp_path: Target(request.getfixturevalue("nats_url"),
                                             request.getfixturevalue("nats_stream")),
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from atomiton.events import Event

WAIT = 20.0  # seconds: a generous bound for events to cross on a loaded CI machine


@dataclass(frozen=True)
class Target:
    """Where a test's bridges meet: a transport URL and a stream name unique to the test."""

    url: str
    stream: str


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return Target(f"sqlite://{tmp_path}/events.db", "atomiton")


def _nats(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return Target(request.getfixturevalue("nats_url"), request.getfixturevalue("nats_stream"))


def _redis(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    return Target(f"{url}?prefix={prefix}", "events")  # the key is <prefix>events


TRANSPORTS: dict[str, Callable[[pytest.FixtureRequest, Path], Target]] = {
    "sqlite": _sqlite,
    "nats": _nats,
    "redis": _redis,
}


class Collector:
    """A handler that records events and lets a test wait for a number of them (no sleeps)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Event]:
        """Wait until at least ``count`` events arrived; fail the test if they do not."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.events) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"got {len(self.events)} of {count} events in {timeout} s")
                self._changed.wait(remaining)
            return list(self.events)

    def wait_until(self, done: Callable[[list[Event]], bool], timeout: float = WAIT) -> list[Event]:
        """Wait until ``done(events)`` holds; fail the test if it does not in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done(self.events):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"condition not met in {timeout} s; got {self.events!r}")
                self._changed.wait(remaining)
            return list(self.events)

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]
