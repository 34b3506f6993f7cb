"""Bridged buses over a private NATS / Redis server that is SIGKILLed and restarted mid-stream.

Promise under test: the bridge reconnects by itself, events emitted while the server was down
wait in the outbox and are sent afterwards, events stored meanwhile are delivered after the
reconnect, and every event reaches the other process's bus exactly once, in emit order; the
outage is reported through ``on_error``. Also here: what each transport does when the server
comes back *without* the stream (NATS memory storage, Redis without persistence), and the
bounded queue between the NATS event loop and the delivery thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from atomiton.events import Event, EventBus, connect_bus

from ._bridge_support import WAIT, Collector

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _server(scheme: str, request: pytest.FixtureRequest) -> Any:
    if scheme == "nats":
        return request.getfixturevalue("nats_server_factory")()
    return request.getfixturevalue("redis_server_factory")(appendonly=True)


class Problems:
    """An ``on_error`` that records errors and lets a test wait for one."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self._changed = threading.Condition()

    def __call__(self, error: BaseException, _event: Event | None = None) -> None:
        with self._changed:
            self.errors.append(error)
            self._changed.notify_all()

    def wait_for(self, text: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: any(text in str(e) for e in self.errors), WAIT):
                pytest.fail(f"no error mentioning {text!r}: {self.errors!r}")


@pytest.mark.parametrize("scheme", ["nats", "redis"])
def test_server_killed_mid_stream_every_event_arrives_once_in_order(
    scheme: str, request: pytest.FixtureRequest
) -> None:
    server = _server(scheme, request)
    url = f"{server.url}?timeout=1"
    problems = Problems()
    sender, receiver = EventBus(history_limit=0, on_error=problems), EventBus(history_limit=0)
    seen = Collector()
    receiver.on("tick", seen)
    emitted = threading.Event()
    with (
        connect_bus(receiver, url, publish=[], stream="crash"),
        connect_bus(sender, url, subscribe=[], stream="crash") as bridge,
    ):

        def emit_all() -> None:
            for n in range(300):
                sender.emit("tick", {"n": n})
                if n == 100:
                    seen.wait_for(50)
                    server.kill()  # mid-stream: some sent, some queued, some in flight
                if n == 200:
                    server.start()
            emitted.set()

        thread = threading.Thread(target=emit_all)
        thread.start()
        thread.join(WAIT * 2)
        assert emitted.is_set()
        assert bridge.flush(WAIT * 2)
        events = seen.wait_for(300)
    assert [event.data["n"] for event in events] == list(range(300))
    problems.wait_for(server.url.split("//")[1].split("/")[0])  # the outage was reported


def test_nats_memory_stream_lost_on_restart_is_reported(
    nats_server_factory: Callable[[], Any],
) -> None:
    server = nats_server_factory()
    url = f"{server.url}?timeout=1&storage=memory"
    problems = Problems()
    sender, receiver = EventBus(history_limit=0), EventBus(history_limit=0, on_error=problems)
    seen = Collector()
    receiver.on("tick", seen)
    with (
        connect_bus(receiver, url, publish=[], stream="mem"),
        connect_bus(sender, url, subscribe=[], stream="mem") as bridge,
    ):
        for n in range(5):
            sender.emit("tick", {"n": n})
        seen.wait_for(5)
        server.restart()  # the memory stream is gone
        problems.wait_for("were lost")
        sender.emit("tick", {"n": 5})  # the publisher creates the stream again
        assert bridge.flush(WAIT)
        events = seen.wait_for(6)
    assert [event.data["n"] for event in events] == list(range(6))


def test_redis_without_persistence_reports_the_lost_stream_and_goes_on(
    redis_server_factory: Callable[..., Any],
) -> None:
    server = redis_server_factory()
    url = f"{server.url}?timeout=1"
    problems = Problems()
    sender, receiver = EventBus(history_limit=0), EventBus(history_limit=0, on_error=problems)
    seen = Collector()
    receiver.on("tick", seen)
    with (
        connect_bus(receiver, url, publish=[], stream="gone"),
        connect_bus(sender, url, subscribe=[], stream="gone") as bridge,
    ):
        for n in range(5):
            sender.emit("tick", {"n": n})
        seen.wait_for(5)
        server.restart()
        problems.wait_for("were lost")
        sender.emit("tick", {"n": 5})
        assert bridge.flush(WAIT)
        events = seen.wait_for(6)
    assert [event.data["n"] for event in events] == list(range(6))


@pytest.mark.parametrize("scheme", ["nats", "redis"])
def test_emits_past_the_outbox_bound_while_down_are_reported_the_rest_sent_after(
    scheme: str, request: pytest.FixtureRequest
) -> None:
    server = _server(scheme, request)
    url = f"{server.url}?timeout=1"
    problems = Problems()
    sender, receiver = EventBus(history_limit=0, on_error=problems), EventBus(history_limit=0)
    seen = Collector()
    receiver.on("tick", seen)
    with (
        connect_bus(receiver, url, publish=[], stream="bound"),
        connect_bus(sender, url, subscribe=[], stream="bound", max_pending=20) as bridge,
    ):
        sender.emit("tick", {"n": 0})
        assert bridge.flush(WAIT)  # acknowledged: the outbox is empty before the outage
        server.kill()
        for n in range(1, 31):  # 20 fit in the outbox, 10 are dropped and reported
            sender.emit("tick", {"n": n})
        problems.wait_for("not sent")
        server.start()
        assert bridge.flush(WAIT * 2)  # the 20 queued ones are sent after the reconnect
        sender.emit("tick", {"n": 31})  # and new ones flow again
        assert bridge.flush(WAIT)
        events = seen.wait_for(22)
    assert [event.data["n"] for event in events] == [*range(21), 31]
