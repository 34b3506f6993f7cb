"""The outbox's idle fast path (``begin_publish``) with a scripted transport, no server.

What must hold whatever the transport does: the event is started on the emitting thread only
when the outbox is idle, the sender thread finishes it, a failed or refused start falls back to
the sender's ``publish`` with the usual retry and single report, and emit order is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest

from atomiton.events import TransportError
from atomiton.events._event import Event, make_event
from atomiton.events._outbox import Outbox
from atomiton.events._transport import ReplayFrom, WireEvent

WAIT = 20.0


class Scripted:
    """A transport whose begin_publish does what the test says; records what was stored."""

    def __init__(self, begin: str = "ok") -> None:
        self.begin = begin  # "ok", "none", "raise", "fail" (finish raises once)
        self.stored: list[str] = []
        self.begin_threads: list[threading.Thread] = []
        self.publish_calls = 0
        self.release = threading.Event()  # holds the ack of a started publish
        self.release.set()
        self._lock = threading.Lock()

    def begin_publish(
        self, events: Sequence[WireEvent], done: Callable[[], None]
    ) -> Callable[[], None] | None:
        self.begin_threads.append(threading.current_thread())
        if self.begin == "none":
            return None
        if self.begin == "raise":
            raise RuntimeError("driver broke")
        batch = list(events)

        def acknowledge() -> None:
            self.release.wait(WAIT)
            done()

        threading.Thread(target=acknowledge, daemon=True).start()

        def finish() -> None:
            if self.begin == "fail":
                self.begin = "ok"
                raise TransportError("no ack")
            with self._lock:
                self.stored.extend(event.id for event in batch)

        return finish

    def publish(self, events: Sequence[WireEvent]) -> None:
        with self._lock:
            self.publish_calls += 1
            self.stored.extend(event.id for event in events)

    def start(
        self, deliver: object, *, patterns: Sequence[str], replay_from: ReplayFrom | None
    ) -> None:
        raise AssertionError("not used")

    def history(self, patterns: Sequence[str], **_: object) -> list[WireEvent]:
        return []

    def close(self) -> None:
        pass


def _event(n: int) -> tuple[Event, WireEvent]:
    event = make_event(n, "job.done", None, None, 0.0)
    return event, WireEvent(f"o:{n}", "job.done", b"null", None, 0.0, "o")


def _outbox(transport: Scripted, reports: list[Exception]) -> Outbox:
    return Outbox(transport, max_pending=100, batch_size=10, report=reports.append, name="t")


def test_an_idle_outbox_starts_the_event_on_the_emitting_thread() -> None:
    transport = Scripted()
    reports: list[Exception] = []
    outbox = _outbox(transport, reports)
    transport.release.clear()
    assert outbox.put(*_event(1)) == "queued"
    for n in range(2, 6):  # queued behind the started one: sent by the sender, in order
        assert outbox.put(*_event(n)) == "queued"
    assert transport.begin_threads == [threading.current_thread()]
    assert outbox.pending_count() == 5  # the started one counts until acknowledged
    transport.release.set()
    assert outbox.flush(WAIT)
    assert transport.stored == [f"o:{n}" for n in range(1, 6)]
    assert transport.publish_calls == 1
    assert outbox.sent == 5
    assert reports == []
    assert outbox.close(1.0) == 0


@pytest.mark.parametrize("begin", ["none", "raise"])
def test_a_start_that_is_refused_or_raises_is_published_by_the_sender(begin: str) -> None:
    transport = Scripted(begin)
    reports: list[Exception] = []
    outbox = _outbox(transport, reports)
    assert outbox.put(*_event(1)) == "queued"
    assert outbox.flush(WAIT)
    assert transport.stored == ["o:1"]
    assert transport.publish_calls == 1
    assert reports == []
    assert outbox.failures == 0
    assert outbox.close(1.0) == 0


def test_a_started_publish_that_fails_is_retried_whole_and_reported_once() -> None:
    transport = Scripted("fail")
    reports: list[Exception] = []
    outbox = _outbox(transport, reports)
    assert outbox.put(*_event(1)) == "queued"
    assert outbox.put(*_event(2)) == "queued"
    assert outbox.flush(WAIT)
    assert transport.stored == ["o:1", "o:2"]  # the failed head first, then the next
    assert outbox.failures == 1
    assert len(reports) == 1
    assert isinstance(reports[0], TransportError)
    assert "no ack" in str(reports[0])
    assert outbox.put(*_event(3)) == "queued"  # healthy again: the fast path is back
    assert outbox.flush(WAIT)
    assert transport.stored == ["o:1", "o:2", "o:3"]
    assert len(transport.begin_threads) == 2
    assert outbox.close(1.0) == 0
