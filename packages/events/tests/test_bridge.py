"""The bridge's promises, with several buses (each its own origin) on one real SQLite stream.

What needs real separate processes (exactly-once among three, late joiner, SIGKILL) lives in
``test_bridge_processes.py``; the pattern table in ``test_bridge_patterns.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from atomiton.events import (
    Bridge,
    BridgeEncodingError,
    BridgeOverflowError,
    BusConfigError,
    Event,
    EventBus,
    EventLog,
    PatternError,
    ReplayFrom,
    TransportError,
    WireEvent,
    connect_bus,
)
from atomiton.events._sqlite_transport import create as create_sqlite

from ._bridge_support import WAIT, Collector


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path}/events.db"


class Errors:
    """An on_error that records (error, event) pairs and can be waited on."""

    def __init__(self) -> None:
        self.seen: list[tuple[Exception, Event]] = []
        self._changed = threading.Condition()

    def __call__(self, error: Exception, event: Event) -> None:
        with self._changed:
            self.seen.append((error, event))
            self._changed.notify_all()

    def wait_for(self, kind: type[Exception], count: int = 1) -> list[Exception]:
        deadline = time.monotonic() + WAIT
        with self._changed:
            while len(self.of(kind)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"no {kind.__name__} reported; got {self.seen!r}")
                self._changed.wait(remaining)
        return self.of(kind)

    def of(self, kind: type[Exception]) -> list[Exception]:
        return [error for error, _ in self.seen if isinstance(error, kind)]


def test_a_remote_event_arrives_as_an_ordinary_event_with_origin_and_seq(url: str) -> None:
    sender, receiver = EventBus(), EventBus()
    mine, theirs = Collector(), Collector()
    sender.on("**", mine)
    receiver.on("order.*", theirs)
    with connect_bus(sender, url) as sending, connect_bus(receiver, url):
        emitted = sender.emit("order.created", {"id": 7, "items": [1, 2]}, source="shop")
        (arrived,) = theirs.wait_for(1)
        assert bool(sending.flush(WAIT))
    assert (arrived.type, arrived.data, arrived.source) == (emitted.type, emitted.data, "shop")
    assert arrived.timestamp == emitted.timestamp
    assert arrived.origin == sending.origin != None  # noqa: E711 - both parts matter
    assert arrived.seq == 1
    assert mine.events == [emitted]  # no echo: the sender's own handler ran exactly once
    assert emitted.origin is None
    assert emitted.seq is None


def test_a_logged_bus_keeps_origin_and_seq_of_remote_events(url: str, tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    sender, receiver = EventBus(), EventBus(log=log)
    seen = Collector()
    receiver.on("**", seen)
    with connect_bus(sender, url) as bridge, connect_bus(receiver, url):
        sender.emit("job.done", {"n": 1})
        seen.wait_for(1)
        receiver.emit("local.only")
    log.close()
    remote, local = EventLog(tmp_path / "events.jsonl").events()
    assert (remote.type, remote.origin, remote.seq) == ("job.done", bridge.origin, 1)
    assert (local.type, local.origin, local.seq) == ("local.only", None, None)


def test_events_of_one_emitter_arrive_once_each_in_emit_order(url: str) -> None:
    sender, receiver = EventBus(history_limit=0), EventBus(history_limit=0)
    seen = Collector()
    receiver.on("n", seen)
    with connect_bus(sender, url), connect_bus(receiver, url):
        for n in range(2000):
            sender.emit("n", n)
        events = seen.wait_for(2000)
    assert [event.data for event in events] == list(range(2000))
    seqs = [event.seq or 0 for event in events]
    assert seqs == sorted(set(seqs))


def test_a_stored_duplicate_is_delivered_once(url: str) -> None:
    receiver = EventBus()
    seen = Collector()
    receiver.on("**", seen)
    with connect_bus(receiver, url) as bridge:
        problems: list[Exception] = []
        writer = create_sqlite(url, stream="atomiton", on_error=problems.append)
        record = WireEvent("elsewhere/1/ab:1", "job.done", b'{"n":1}', None, 1.0, "elsewhere/1/ab")
        later = WireEvent("elsewhere/1/ab:2", "job.done", b'{"n":2}', None, 2.0, "elsewhere/1/ab")
        writer.publish([record])
        writer.publish([record, later])  # a retried batch that had been stored after all
        events = seen.wait_for(2)
        writer.close()
        assert problems == []
        assert bridge.stats.duplicates == 1
        assert [e.data for e in bridge.history()] == [{"n": 1}, {"n": 2}]
    assert [event.data for event in events] == [{"n": 1}, {"n": 2}]


def test_a_received_event_is_not_sent_on_by_the_receiver(url: str) -> None:
    first, second, third = EventBus(), EventBus(), EventBus()
    seen = Collector()
    third.on("**", seen)
    with connect_bus(first, url) as a, connect_bus(second, url) as b, connect_bus(third, url):
        first.emit("ping", 1)
        second.emit("pong", 2)
        seen.wait_for(2)
        assert a.flush(WAIT)
        assert b.flush(WAIT)
        assert sorted(e.type for e in b.history()) == ["ping", "pong"]  # stored once each
        second.emit("last", 3)
        events = seen.wait_for(3)
    assert sorted((e.type, e.origin) for e in events) == [
        ("last", b.origin),
        ("ping", a.origin),
        ("pong", b.origin),
    ]


def test_empty_publish_and_subscribe_lists_send_and_receive_nothing(url: str) -> None:
    quiet, deaf, listener = EventBus(), EventBus(), EventBus()
    heard_by_deaf, heard = Collector(), Collector()
    deaf.on("**", heard_by_deaf)
    listener.on("**", heard)
    with (
        connect_bus(quiet, url, publish=[]),
        connect_bus(deaf, url, subscribe=[]) as deaf_bridge,
        connect_bus(listener, url),
    ):
        quiet.emit("never.sent")
        deaf.emit("from.deaf")
        heard.wait_for(1)
        assert deaf_bridge.flush(WAIT)
    assert heard.types == ["from.deaf"]
    assert heard_by_deaf.types == ["from.deaf"]  # its own, locally; nothing from the stream


def test_data_that_cannot_be_encoded_is_delivered_locally_and_reported(url: str) -> None:
    errors = Errors()
    sender, receiver = EventBus(on_error=errors), EventBus()
    local, remote = Collector(), Collector()
    sender.on("**", local)
    receiver.on("**", remote)
    with connect_bus(sender, url) as bridge, connect_bus(receiver, url):
        sender.emit("job.bad", {"tags": {1, 2}})
        sender.emit("job.good", {"ok": True})
        remote.wait_for(1)
        assert bridge.stats.not_encodable == 1
    assert local.types == ["job.bad", "job.good"]
    assert remote.types == ["job.good"]
    ((error, event),) = errors.seen
    assert isinstance(error, BridgeEncodingError)
    assert "'job.bad'" in str(error)
    assert "encoded" in str(error)
    assert event.type == "job.bad"


def test_a_full_outbox_drops_the_newest_reports_it_and_sends_the_rest_later(
    url: str, tmp_path: Path
) -> None:
    errors = Errors()
    sender, receiver = EventBus(on_error=errors), EventBus()
    seen = Collector()
    receiver.on("**", seen)
    with connect_bus(receiver, url):
        blocker = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: publishing fails
        with connect_bus(sender, url + "?busy_timeout=0.05", max_pending=5) as bridge:
            for n in range(8):
                sender.emit("n", n)
            errors.wait_for(TransportError)
            assert bridge.stats.pending == 5
            assert bridge.stats.dropped == 3
            (overflow,) = errors.of(BridgeOverflowError)
            assert "'n'" in str(overflow)
            assert "full" in str(overflow)
            blocker.execute("ROLLBACK")
            blocker.close()
            events = seen.wait_for(5)
            assert bridge.flush(WAIT)
            drained = errors.wait_for(BridgeOverflowError, 2)[1]
            assert "3 event(s)" in str(drained)
    assert [event.data for event in events] == [0, 1, 2, 3, 4]


def test_close_sends_what_is_still_queued(url: str) -> None:
    sender = EventBus()
    with connect_bus(sender, url, subscribe=[]):
        for n in range(300):
            sender.emit("n", n)
    reader = EventBus()
    with connect_bus(reader, url, publish=[]) as bridge:
        assert [event.data for event in bridge.history("n")] == list(range(300))


def test_history_by_seq_time_and_limit(url: str) -> None:
    clock_now = [1000.0]
    bus = EventBus(clock=lambda: clock_now[0])
    with connect_bus(bus, url) as bridge:
        for n in range(10):
            clock_now[0] = 1000.0 + n
            bus.emit("job.step" if n % 2 else "order.step", n)
        assert bridge.flush(WAIT)
        assert [e.data for e in bridge.history("job.*")] == [1, 3, 5, 7, 9]
        assert [e.seq for e in bridge.history(since=8)] == [8, 9, 10]
        assert [e.data for e in bridge.history(since=1006.0)] == [6, 7, 8, 9]
        assert [e.data for e in bridge.history(since=datetime.fromtimestamp(1008.0, UTC))] == [
            8,
            9,
        ]
        assert [e.data for e in bridge.history("job.*", limit=2)] == [7, 9]
        assert bridge.history(limit=0) == []
        assert all(e.origin is None for e in bridge.history())  # this process's own events
        with pytest.raises(BusConfigError, match="since"):
            bridge.history(since="yesterday")  # type: ignore[arg-type]
        with pytest.raises(BusConfigError, match="timezone"):
            bridge.history(since=datetime(2020, 1, 1))
        with pytest.raises(BusConfigError, match="limit"):
            bridge.history(limit=-1)
        with pytest.raises(PatternError):
            bridge.history("job.*x")


def test_replay_on_a_bridged_bus_reads_the_durable_stream_then_goes_live(url: str) -> None:
    early = EventBus()
    with connect_bus(early, url) as early_bridge:
        for n in range(5):
            early.emit("order.placed", n)
        assert early_bridge.flush(WAIT)
        late = EventBus()
        with connect_bus(late, url) as late_bridge:
            late.emit("order.mine", "m")
            seen = Collector()
            late.on("order.*", seen, replay=True)
            early.emit("order.placed", 5)
            events = seen.wait_for(7)
            assert late_bridge.flush(WAIT)
    assert [(e.type, e.data) for e in events] == [
        *(("order.placed", n) for n in range(5)),
        ("order.mine", "m"),
        ("order.placed", 5),
    ]
    assert [e.origin for e in events] == [early_bridge.origin] * 5 + [None, early_bridge.origin]


def test_replay_while_another_process_emits_has_no_gap_and_no_duplicate(url: str) -> None:
    emitter, joiner = EventBus(history_limit=0), EventBus(history_limit=10_000)
    total = 3000
    with connect_bus(emitter, url, subscribe=[]):
        started = threading.Event()

        def emit_all() -> None:
            for n in range(total):
                emitter.emit("tick", n)
                if n == 200:
                    started.set()

        thread = threading.Thread(target=emit_all)
        thread.start()
        started.wait(WAIT)
        with connect_bus(joiner, url):
            seen = Collector()
            joiner.on("tick", seen, replay=True)
            events = seen.wait_for(total)
            thread.join()
    assert [e.data for e in events] == list(range(total))


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (1000, list(range(11))),
        # The replay reaches back 5 events (plus tick 0, which this bus already holds): ticks
        # 1-4 are older than the replay, so arriving late they must not follow it.
        (5, [0, 5, 6, 7, 8, 9, 10]),
    ],
)
def test_replay_skips_stored_events_that_the_bridge_delivers_after_the_replay(
    url: str, history: int, expected: list[int]
) -> None:
    emitter, joiner = EventBus(), EventBus(history_limit=history)
    release, blocked = threading.Event(), threading.Event()

    def slow(event: Event) -> None:  # holds the bridge's delivery thread at the first event
        if event.data == 0:
            blocked.set()
            release.wait(WAIT)

    joiner.on("tick", slow)
    with connect_bus(emitter, url, subscribe=[]) as sending, connect_bus(joiner, url):
        emitter.emit("tick", 0)
        assert blocked.wait(WAIT)
        for n in range(1, 10):
            emitter.emit("tick", n)
        assert sending.flush(WAIT)
        seen = Collector()
        joiner.on("tick", seen, replay=True)  # replays from the stream: 1-9 are not yet live
        release.set()
        emitter.emit("tick", 10)
        seen.wait_until(lambda events: bool(events) and events[-1].data == 10)
    assert [event.data for event in seen.events] == expected


@pytest.mark.parametrize(
    ("replay_from", "expected"),
    [
        (ReplayFrom(seq=3), [2, 3, 4, 5]),
        (ReplayFrom(last=2), [3, 4, 5]),
        (ReplayFrom(last=0), [5]),
        (ReplayFrom(time=1002.0), [2, 3, 4, 5]),
        (None, [5]),
    ],
)
def test_connecting_late_replays_from_a_position_then_continues_live(
    url: str, replay_from: ReplayFrom | None, expected: list[int]
) -> None:
    now = [1000.0]
    early = EventBus(clock=lambda: now[0])
    with connect_bus(early, url) as bridge:
        for n in range(5):
            now[0] = 1000.0 + n
            early.emit("n", n)
        assert bridge.flush(WAIT)
        late = EventBus()
        seen = Collector()
        late.on("n", seen)
        with connect_bus(late, url, replay_from=replay_from):
            early.emit("n", 5)
            events = seen.wait_until(lambda events: bool(events) and events[-1].data == 5)
    assert [event.data for event in events] == expected


async def test_asyncio_handlers_receive_remote_events_and_aclose_flushes(url: str) -> None:
    sender, receiver = EventBus(), EventBus()
    arrived: asyncio.Queue[Event] = asyncio.Queue()

    async def handler(event: Event) -> None:
        await arrived.put(event)

    receiver.on("job.*", handler)
    async with connect_bus(receiver, url):
        bridge = connect_bus(sender, url)
        await sender.aemit("job.done", {"id": 1})
        event = await asyncio.wait_for(arrived.get(), WAIT)
        await bridge.aclose()
    assert (event.type, event.data, event.origin) == ("job.done", {"id": 1}, bridge.origin)


def test_msgpack_senders_and_json_senders_share_a_stream(url: str) -> None:
    pytest.importorskip("msgpack")
    packed, plain = EventBus(), EventBus()
    seen = Collector()
    plain.on("**", seen)
    with connect_bus(packed, url, encoding="msgpack"), connect_bus(plain, url):
        packed.emit("blob", {"bytes": b"\x00\x01", "n": 1})
        (event,) = seen.wait_for(1)
    assert event.data == {"bytes": b"\x00\x01", "n": 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"url": "carrier-pigeon://coop"},
            "no events transport for the URL scheme 'carrier-pigeon'",
        ),
        ({"url": "not a url"}, "url must be a transport URL"),
        ({"stream": "has space"}, "stream must be"),
        ({"url": "{url}?stream=other", "stream": "mine"}, "disagrees"),
        ({"publish": "order.*"}, "publish must be a list"),
        ({"encoding": "pickle"}, "encoding must be one of"),
        ({"max_pending": 0}, "max_pending"),
        ({"replay_from": 3}, "replay_from"),
        ({"url": "sqlite://"}, "sqlite URL must name a file"),
        ({"url": "{url}?bogus=1"}, "unknown sqlite transport option"),
        ({"url": "{url}?poll=-1"}, "poll must be a number"),
    ],
)
def test_bad_settings_are_refused_naming_what_is_wrong(
    url: str, kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"url": url, **kwargs}
    arguments["url"] = arguments["url"].replace("{url}", url)
    with pytest.raises(BusConfigError, match=message):
        connect_bus(EventBus(), **arguments)


def test_bad_patterns_and_replay_positions_are_refused(url: str) -> None:
    with pytest.raises(PatternError):
        connect_bus(EventBus(), url, subscribe=["a..b"])
    with pytest.raises(BusConfigError, match="exactly one"):
        ReplayFrom(seq=1, last=2)
    with pytest.raises(BusConfigError, match=r"ReplayFrom\.last"):
        ReplayFrom(last=-1)


def test_one_bridge_per_bus_and_a_closed_bridge_frees_the_bus(url: str) -> None:
    bus = EventBus()
    first = connect_bus(bus, url)
    with pytest.raises(BusConfigError, match="already bridged"):
        connect_bus(bus, url)
    first.close()
    first.close()  # idempotent
    with connect_bus(bus, url) as second:
        assert isinstance(second, Bridge)
        assert "open" in repr(second)
    assert "closed" in repr(second)
    assert bus.listener_count() == 0  # the bridge's subscription is gone


def test_streams_in_one_file_are_separate(url: str) -> None:
    orders, jobs = EventBus(), EventBus()
    heard = Collector()
    jobs.on("**", heard)
    with connect_bus(orders, url, stream="orders"), connect_bus(jobs, url, stream="jobs") as b:
        orders.emit("order.created")
        jobs_sender = EventBus()
        with connect_bus(jobs_sender, url, stream="jobs"):
            jobs_sender.emit("job.done")
            heard.wait_for(1)
        assert [e.type for e in b.history()] == ["job.done"]
    assert heard.types == ["job.done"]


def test_the_reader_recovers_from_a_failing_read_and_misses_nothing(
    url: str, tmp_path: Path
) -> None:
    errors = Errors()
    receiver, sender = EventBus(on_error=errors), EventBus()
    seen = Collector()
    receiver.on("n", seen)
    with connect_bus(receiver, url), connect_bus(sender, url) as sending:
        sender.emit("n", 0)
        seen.wait_for(1)
        # Another process moves the table away for a while: every read fails meanwhile.
        other = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
        other.execute("ALTER TABLE atomiton_events RENAME TO parked_events")
        error = errors.wait_for(TransportError)[0]
        assert "retrying" in str(error)
        other.execute(
            "INSERT INTO parked_events (stream, id, type, data, source, timestamp, origin, "
            "encoding) VALUES ('atomiton', 'other:1', 'n', '1', NULL, 0, 'other', 'json')"
        )
        other.execute("ALTER TABLE parked_events RENAME TO atomiton_events")
        other.close()
        sender.emit("n", 2)
        events = seen.wait_for(3)
        assert sending.flush(WAIT)
    assert [event.data for event in events] == [0, 1, 2]


def test_rows_a_foreign_writer_mangled_are_reported_and_skipped(url: str, tmp_path: Path) -> None:
    errors = Errors()
    receiver = EventBus(on_error=errors)
    seen = Collector()
    receiver.on("**", seen)
    with connect_bus(receiver, url) as bridge:
        other = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
        insert = (
            "INSERT INTO atomiton_events (stream, id, type, data, source, timestamp, origin, "
            "encoding) VALUES ('atomiton', ?, ?, ?, NULL, 0, 'other', 'json')"
        )
        other.execute(insert, ("other:1", b"\xff", b"1"))  # a type that is not text
        other.execute(insert, ("other:2", "as.text", '{"n": 2}'))  # TEXT data: still readable
        other.close()
        (event,) = seen.wait_for(1)
        assert [e.type for e in bridge.history()] == ["as.text"]
    assert (event.type, event.data) == ("as.text", {"n": 2})
    skipped = errors.of(TransportError)
    assert skipped
    assert all("seq 1" in str(error) and "skipped" in str(error) for error in skipped)


def test_a_stuck_subscriber_does_not_block_the_publisher(
    url: str,
) -> None:
    publisher, stuck = EventBus(history_limit=0), EventBus(history_limit=0)
    release, blocked = threading.Event(), threading.Event()

    def handler(_event: Event) -> None:
        blocked.set()
        release.wait(WAIT)

    stuck.on("n", handler)
    with connect_bus(publisher, url, subscribe=[]) as sending, connect_bus(stuck, url) as slow:
        publisher.emit("n", 0)
        assert blocked.wait(WAIT)
        for n in range(1, 3000):
            publisher.emit("n", n)
        assert sending.flush(WAIT)  # every event stored while the subscriber is stuck
        assert sending.stats.dropped == 0
        assert slow.stats.received == 1  # it reads the stream no faster than it handles it
        release.set()


def test_without_on_error_bridge_problems_are_logged_naming_the_stream(
    url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus = EventBus()  # no on_error
    seen = Collector()
    bus.on("**", seen)
    with connect_bus(bus, url, stream="audit"):
        other = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
        other.execute(
            "INSERT INTO atomiton_events (stream, id, type, data, source, timestamp, origin, "
            "encoding) VALUES ('audit', 'x:1', 'bad', X'FF', NULL, 0, 'x', 'json')"
        )
        other.execute(
            "INSERT INTO atomiton_events (stream, id, type, data, source, timestamp, origin, "
            "encoding) VALUES ('audit', 'x:2', 'good', X'31', NULL, 0, 'x', 'json')"
        )
        other.close()
        seen.wait_for(1)
    assert seen.types == ["good"]
    (record,) = [r for r in caplog.records if r.name == "atomiton.events"]
    assert "stream 'audit'" in record.getMessage()
    assert "'bad'" in record.getMessage()


def test_a_sqlite_stream_keeps_its_newest_maxlen_events(url: str) -> None:
    bus, other = EventBus(), EventBus()
    with connect_bus(other, url, stream="other") as kept:
        other.emit("keep.me")
        assert kept.flush(WAIT)
        with connect_bus(bus, url + "?maxlen=10", subscribe=[]) as bridge:
            for n in range(30):
                bus.emit("n", n)
                assert bridge.flush(WAIT)  # one batch per event: trimmed as it goes
            assert [e.data for e in bridge.history()] == list(range(20, 30))
        assert [e.type for e in kept.history()] == ["keep.me"]  # other streams untouched
    with pytest.raises(BusConfigError, match="maxlen"):
        connect_bus(EventBus(), url + "?maxlen=0")


def test_outbound_pending_counts_the_events_not_yet_acknowledged(url: str, tmp_path: Path) -> None:
    sender = EventBus()
    sender.emit("n", 0)
    assert sender.outbound_pending == 0  # no bridge: nothing ever goes elsewhere
    blocker = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
    with connect_bus(sender, url + "?busy_timeout=0.05", subscribe=[]) as bridge:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: nothing is stored
        for n in range(3):
            sender.emit("n", n)
        assert sender.outbound_pending == 3 == bridge.stats.pending
        blocker.execute("ROLLBACK")
        assert bridge.flush(WAIT)
        assert sender.outbound_pending == 0
    blocker.close()
    sender.emit("n", 4)
    assert sender.outbound_pending == 0  # the bridge closed: detached
