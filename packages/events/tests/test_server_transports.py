"""The NATS JetStream and Redis Streams transports against real servers, below the bridge.

Each test runs on both transports (shared servers, one stream per test) and checks a promise of
the ``Transport`` protocol directly: field round trip, seq order, replay from seq / time / last-N
then live with no gap or duplicate under concurrent publishing, history, closing, bad URLs.
Crash tests start a private server, SIGKILL it mid-stream and restart it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from atomiton.events import BusConfigError, matches
from atomiton.events._errors import TransportError
from atomiton.events._transport import ReplayFrom, Transport, WireEvent

pytestmark = pytest.mark.services

WAIT = 20.0  # seconds: generous bound for events to arrive on a loaded CI machine

TYPES = ["order.created", "a b.>x", "%.ü.z", "order", "job.1.done"]


def _create(scheme: str) -> Callable[..., Transport]:
    if scheme == "nats":
        from atomiton.events._nats_transport import create as create_nats

        return create_nats
    from atomiton.events._redis_transport import create as create_redis

    return create_redis


class Place:
    """Where a test's transports meet: a URL and a stream name unique to the test."""

    def __init__(self, scheme: str, url: str, stream: str) -> None:
        self.scheme = scheme
        self.url = url
        self.stream = stream
        self.errors: list[Exception] = []
        self.on_error: Callable[[Exception], None] = lambda _error: None
        self._open: list[Transport] = []

    def _report(self, error: Exception) -> None:
        self.errors.append(error)
        self.on_error(error)

    def open(self, url: str | None = None) -> Transport:
        transport = _create(self.scheme)(url or self.url, stream=self.stream, on_error=self._report)
        self._open.append(transport)
        return transport

    def close_all(self) -> None:
        for transport in self._open:
            transport.close()


@pytest.fixture(params=["nats", "redis"])
def place(request: pytest.FixtureRequest) -> Iterator[Place]:
    if request.param == "nats":
        url = request.getfixturevalue("nats_url")
        found = Place("nats", url, request.getfixturevalue("nats_stream"))
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        found = Place("redis", f"{url}?prefix={prefix}", "events")
    yield found
    found.close_all()


class Inbox:
    """A deliver callback that records events and lets a test wait for a count."""

    def __init__(self) -> None:
        self.events: list[WireEvent] = []
        self._condition = threading.Condition()

    def __call__(self, event: WireEvent) -> None:
        with self._condition:
            self.events.append(event)
            self._condition.notify_all()

    def wait_for(self, count: int, timeout: float = WAIT) -> list[WireEvent]:
        with self._condition:
            self._condition.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)

    def wait_for_id(self, event_id: str, timeout: float = WAIT) -> list[WireEvent]:
        with self._condition:
            self._condition.wait_for(lambda: any(e.id == event_id for e in self.events), timeout)
            return list(self.events)


def wire(n: int, event_type: str = "order.created", origin: str = "test/1/a") -> WireEvent:
    return WireEvent(
        id=f"{origin}:{n}",
        type=event_type,
        data=b'{"n":%d}' % n,
        source=None if n % 2 else "",
        timestamp=1_700_000_000.0 + n / 8,
        origin=origin,
    )


def ids(events: list[WireEvent]) -> list[str]:
    return [event.id for event in events]


def test_every_field_round_trips_and_seq_increases(place: Place) -> None:
    transport = place.open()
    sent = [
        replace(wire(n, TYPES[n % len(TYPES)]), encoding="msgpack" if n == 3 else "json")
        for n in range(1, 11)
    ]
    transport.publish(sent)
    stored = transport.history(["**"])
    assert [replace(event, seq=None) for event in stored] == sent
    seqs = [event.seq for event in stored]
    assert all(isinstance(seq, int) and seq > 0 for seq in seqs)
    assert seqs == sorted(set(seqs))  # type: ignore[type-var]


def test_start_live_delivers_only_what_is_stored_after_it(place: Place) -> None:
    publisher = place.open()
    publisher.publish([wire(1)])
    inbox = Inbox()
    place.open().start(inbox, patterns=["**"], replay_from=None)
    publisher.publish([wire(n) for n in range(2, 6)])
    assert ids(inbox.wait_for(4)) == [f"test/1/a:{n}" for n in range(2, 6)]


@pytest.mark.parametrize("how", ["seq", "time", "last"])
def test_replay_then_live_has_no_gap_and_no_duplicate(place: Place, how: str) -> None:
    publisher = place.open()
    publisher.publish([wire(n) for n in range(1, 21)])
    stored = publisher.history(["**"])
    start = {
        "seq": ReplayFrom(seq=stored[5].seq),
        "time": ReplayFrom(time=stored[5].timestamp),
        "last": ReplayFrom(last=15),
    }[how]
    done = threading.Event()

    def publish_more() -> None:  # live events race with the replay
        for n in range(21, 121):
            publisher.publish([wire(n)])
        done.set()

    thread = threading.Thread(target=publish_more)
    thread.start()
    inbox = Inbox()
    place.open().start(inbox, patterns=["**"], replay_from=start)
    thread.join(WAIT)
    assert done.is_set()
    got = inbox.wait_for_id("test/1/a:120")
    first = int(got[0].id.rsplit(":", 1)[1])
    # last=15 counts back from the moment of start, while the other thread publishes.
    assert first == 6 if how != "last" else first >= 6
    assert ids(got) == [f"test/1/a:{n}" for n in range(first, 121)]


def test_replay_from_a_seq_past_the_end_delivers_only_what_comes_later(place: Place) -> None:
    publisher = place.open()
    publisher.publish([wire(n) for n in range(1, 4)])
    end = publisher.history(["**"])[-1].seq
    assert end is not None
    inbox = Inbox()
    place.open().start(inbox, patterns=["**"], replay_from=ReplayFrom(seq=end + 1))
    publisher.publish([wire(4)])
    assert ids(inbox.wait_for_id("test/1/a:4")) == ["test/1/a:4"]


def test_replay_last_counts_only_matching_events(place: Place) -> None:
    publisher = place.open()
    publisher.publish([wire(n, "job.done" if n % 3 == 0 else "other.x") for n in range(1, 31)])
    inbox = Inbox()
    place.open().start(inbox, patterns=["job.*"], replay_from=ReplayFrom(last=4))
    publisher.publish([wire(31, "job.done")])
    got = [event for event in inbox.wait_for_id("test/1/a:31") if matches("job.*", event.type)]
    assert ids(got) == [f"test/1/a:{n}" for n in (21, 24, 27, 30, 31)]


def test_replay_last_zero_is_live_only(place: Place) -> None:
    publisher = place.open()
    publisher.publish([wire(1)])
    inbox = Inbox()
    place.open().start(inbox, patterns=["**"], replay_from=ReplayFrom(last=0))
    publisher.publish([wire(2)])
    assert ids(inbox.wait_for(1)) == ["test/1/a:2"]


@pytest.mark.parametrize(
    ("pattern", "event_type"),
    [("order.**", "order"), ("a.**.z", "a.b.c.z"), ("**.done", "done"), ("a b.*", "a b.>x")],
)
def test_server_filter_never_drops_a_match(place: Place, pattern: str, event_type: str) -> None:
    publisher = place.open()
    inbox = Inbox()
    place.open().start(inbox, patterns=[pattern], replay_from=None)
    publisher.publish([wire(1, event_type), wire(2, "zz.unrelated"), wire(3, event_type)])
    got = [event for event in inbox.wait_for_id("test/1/a:3") if matches(pattern, event.type)]
    assert ids(got) == ["test/1/a:1", "test/1/a:3"]


def test_history_filters_exactly_and_bounds_by_seq_time_and_limit(place: Place) -> None:
    transport = place.open()
    transport.publish([wire(n, TYPES[n % len(TYPES)]) for n in range(1, 41)])
    every = transport.history(["**"])
    orders = [e for e in every if matches("order.**", e.type)]
    assert transport.history(["order.**"]) == orders
    assert transport.history(["order.**"], limit=3) == orders[-3:]
    assert transport.history(["**"], since_seq=every[30].seq) == every[30:]
    assert transport.history(["**"], since_time=every[12].timestamp) == every[12:]
    assert transport.history(["**"], since_seq=every[30].seq, limit=2) == every[-2:]
    assert transport.history(["nothing.here"]) == []


def _write_foreign(place: Place, body: bytes) -> None:
    """Store a message that no bridge wrote, where the transport reads."""
    if place.scheme == "redis":
        import redis

        client = redis.Redis.from_url(place.url.split("?")[0])
        prefix = place.url.split("prefix=")[1]
        client.xadd(f"{prefix}{place.stream}", {"x": body})
        client.close()
        return
    import nats

    async def publish() -> None:
        connection = await nats.connect(place.url)
        await connection.jetstream().publish(f"atomiton.{place.stream}.order.created", body)
        await connection.close()

    asyncio.run(publish())


def test_a_message_no_bridge_wrote_is_reported_and_skipped(place: Place) -> None:
    publisher = place.open()
    inbox = Inbox()
    place.open().start(inbox, patterns=["**"], replay_from=None)
    _write_foreign(place, b"not an envelope")
    _write_foreign(place, b'["too", "short"]\n')
    publisher.publish([wire(1)])
    assert ids(inbox.wait_for_id("test/1/a:1")) == ["test/1/a:1"]
    assert ids(publisher.history(["**"])) == ["test/1/a:1"]
    assert sum("is not an event" in str(error) for error in place.errors) == 2


def test_close_is_idempotent_and_publish_after_close_raises(place: Place) -> None:
    transport = place.open()
    inbox = Inbox()
    transport.start(inbox, patterns=["**"], replay_from=None)
    transport.close()
    transport.close()
    with pytest.raises(TransportError, match="closed"):
        transport.publish([wire(1)])
    place.open().publish([wire(2)])
    assert place.open().history(["**"])[-1].id == "test/1/a:2"
    assert inbox.events == []


def test_begin_publish_stores_in_order_with_publish_and_says_when_it_can_finish(
    place: Place,
) -> None:
    """The outbox's fast path: begin (no waiting), done, finish (the ack), then a batch."""
    transport: Any = place.open()
    inbox = Inbox()
    transport.start(inbox, patterns=["**"], replay_from=None)
    for n in range(1, 4):
        done = threading.Event()
        finish = transport.begin_publish([wire(n)], done.set)
        assert finish is not None
        assert done.wait(WAIT)
        finish()
    transport.publish([wire(4), wire(5)])
    expected = [f"test/1/a:{n}" for n in range(1, 6)]
    assert ids(inbox.wait_for(5)) == expected
    assert ids(transport.history(["**"])) == expected
    transport.close()
    assert transport.begin_publish([wire(6)], lambda: None) is None  # closed: never starts


def test_a_refused_begin_publish_raises_transport_error_from_finish(place: Place) -> None:
    transport: Any = place.open()
    if place.scheme == "nats":  # no stream captures this subject: no JetStream ack comes
        transport._publisher._root = "atomiton-nowhere"
    else:  # a key of another type: Redis refuses the XADD
        transport._client.set(transport._key, "not a stream")
    done = threading.Event()
    finish = transport.begin_publish([wire(1)], done.set)
    assert finish is not None
    assert done.wait(WAIT)
    with pytest.raises(TransportError, match="publish 1 event"):
        finish()


def test_a_slow_subscriber_blocks_neither_publishing_nor_history(place: Place) -> None:
    release = threading.Event()
    inbox = Inbox()

    def slow(event: WireEvent) -> None:  # a handler stuck on its first event
        release.wait(WAIT)
        inbox(event)

    place.open().start(slow, patterns=["**"], replay_from=None)
    publisher = place.open()
    for start in range(0, 2000, 200):
        publisher.publish([wire(n) for n in range(start + 1, start + 201)])
    assert len(publisher.history(["**"], limit=5)) == 5
    assert inbox.events == []
    release.set()
    assert ids(inbox.wait_for(2000)) == [f"test/1/a:{n}" for n in range(1, 2001)]


def test_handlers_run_where_no_event_loop_is_running(place: Place) -> None:
    loops: list[object] = []

    def deliver(event: WireEvent) -> None:
        loops.append(asyncio.events._get_running_loop())
        loops.append(asyncio.run(asyncio.sleep(0, result="asyncio.run works here")))

    place.open().start(deliver, patterns=["**"], replay_from=None)
    place.open().publish([wire(1)])
    inbox = Inbox()
    place.open().start(inbox, patterns=["**"], replay_from=ReplayFrom(seq=1))
    inbox.wait_for(1)
    assert loops[:2] == [None, "asyncio.run works here"]


def test_a_handler_may_close_its_own_transport(place: Place) -> None:
    transport = place.open()
    inbox = Inbox()

    def close_on_first(event: WireEvent) -> None:
        inbox(event)
        transport.close()  # from the transport's own delivery thread: must not deadlock

    transport.start(close_on_first, patterns=["**"], replay_from=None)
    place.open().publish([wire(1), wire(2), wire(3)])
    place.open().publish([wire(4)])  # a later batch: delivered to no one
    assert ids(inbox.wait_for(1)) == ["test/1/a:1"]
    with pytest.raises(TransportError, match="closed"):
        transport.publish([wire(5)])
    assert ids(inbox.events) == ["test/1/a:1"]


def test_unknown_url_option_is_refused_by_name(place: Place) -> None:
    separator = "&" if "?" in place.url else "?"
    with pytest.raises(BusConfigError, match="unknown option 'colour'"):
        place.open(f"{place.url}{separator}colour=red")
    with pytest.raises(BusConfigError, match="maxlen"):
        place.open(f"{place.url}{separator}maxlen=-3")


def test_unreachable_server_raises_transport_error_without_credentials(place: Place) -> None:
    from atomiton.platform.testing import free_port

    url = f"{place.scheme}://user:secret@127.0.0.1:{free_port()}?timeout=0.5"
    with pytest.raises(TransportError) as caught:
        place.open(url)
    assert "secret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


@pytest.mark.parametrize("protocol", [2, 3])
def test_the_redis_reader_reads_live_events_in_either_reply_protocol(
    protocol: int, request: pytest.FixtureRequest
) -> None:
    """redis-py 8 speaks RESP3 by default, the 5.x the extra allows RESP2: XREAD differs."""
    import redis

    url = request.getfixturevalue("redis_url")
    place = Place("redis", f"{url}?prefix={request.getfixturevalue('redis_prefix')}", "events")
    transport: Any = place.open()
    # The reader's own connection (see _xread), speaking the protocol under test.
    transport._reader_conn = redis.Redis.from_url(
        url, protocol=protocol
    ).connection_pool.get_connection()
    try:
        inbox = Inbox()
        transport.start(inbox, patterns=["**"], replay_from=None)
        sent = [wire(n) for n in range(1, 4)]
        transport.publish(sent)
        got = inbox.wait_for(3)
        assert [replace(event, seq=None) for event in got] == sent
        assert transport._reader_conn.protocol == protocol
    finally:
        place.close_all()
        # Not from the transport's pool, so close() did not disconnect it: wake the reader.
        transport._reader_conn.disconnect()


def test_redis_ids_map_to_seq_and_back() -> None:
    from atomiton.events._redis_transport import id_of, seq_of

    for entry_id in ("0-1", "1733445000123-0", "1733445000123-1048575", "5-77"):
        assert id_of(seq_of(entry_id)) == entry_id
    assert seq_of("2-0") > seq_of("1-1048575") > seq_of("1-0")
    with pytest.raises(ValueError, match="2\\*\\*20"):
        seq_of("1-1048576")


def test_the_transports_import_and_name_their_extra_without_the_drivers() -> None:
    script = """
import sys
sys.modules["nats"] = None  # as if the extras were not installed
sys.modules["redis"] = None
import atomiton.events._nats_transport, atomiton.events._redis_transport
from atomiton.events import BusConfigError, EventBus, connect_bus
for url in ("nats://127.0.0.1:1", "redis://127.0.0.1:1/0"):
    try:
        connect_bus(EventBus(), url)
    except BusConfigError as error:
        print(error)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "atomiton-events[nats]" in result.stdout
    assert "atomiton-events[redis]" in result.stdout


@pytest.mark.parametrize(
    ("scheme", "module", "extra"), [("nats", "nats", "nats"), ("redis", "redis", "redis")]
)
def test_missing_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, scheme: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(BusConfigError, match=rf"atomiton-events\[{extra}\]"):
        _create(scheme)(f"{scheme}://127.0.0.1:1", stream="s", on_error=lambda _error: None)


# -- a private server killed and restarted mid-stream ----------------------------------------


def _private(scheme: str, request: pytest.FixtureRequest) -> Any:
    if scheme == "nats":
        return request.getfixturevalue("nats_server_factory")()
    return request.getfixturevalue("redis_server_factory")(appendonly=True)


def _publish_with_retry(transport: Transport, event: WireEvent, deadline: float) -> None:
    """What the bridge's sender does: retry a failed batch until it is acknowledged."""
    while True:
        try:
            transport.publish([event])
            return
        except TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # the bridge's backoff; the server is down meanwhile


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["nats", "redis"])
def test_server_restart_loses_nothing_acknowledged_and_repeats_nothing(
    scheme: str, request: pytest.FixtureRequest
) -> None:
    server = _private(scheme, request)
    place = Place(scheme, server.url + "?timeout=1", "crash")
    try:
        publisher = place.open()
        inbox = Inbox()
        place.open().start(inbox, patterns=["**"], replay_from=None)
        deadline = time.monotonic() + 60
        acknowledged: list[int] = []

        def publish_all() -> None:  # keeps publishing through the crash, as the bridge would
            for n in range(1, 101):
                _publish_with_retry(publisher, wire(n), deadline)
                acknowledged.append(n)

        thread = threading.Thread(target=publish_all)
        thread.start()
        inbox.wait_for(30)
        server.kill()  # mid-stream: publishes in flight, the subscriber live
        server.start()
        thread.join(60)
        assert acknowledged == list(range(1, 101))
        got = inbox.wait_for_id("test/1/a:100")
        late = Inbox()
        place.open().start(late, patterns=["**"], replay_from=ReplayFrom(seq=1))
        replayed = late.wait_for_id("test/1/a:100")
    finally:
        place.close_all()
    for events in (got, replayed):
        seqs = [event.seq or 0 for event in events]
        assert seqs == sorted(set(seqs)), "a seq was delivered twice or out of order"
        # Every acknowledged event arrives; a retried batch may be stored twice (distinct
        # seqs, same id: the bridge keeps the first), so compare the first copies.
        assert list(dict.fromkeys(ids(events))) == [f"test/1/a:{n}" for n in range(1, 101)]
    assert any(isinstance(error, TransportError) for error in place.errors)
    assert all("secret" not in str(error) for error in place.errors)


@pytest.mark.slow
def test_redis_without_persistence_reports_the_lost_stream(
    redis_server_factory: Callable[..., Any],
) -> None:
    server = redis_server_factory()  # appendonly off: a restart loses the stream
    place = Place("redis", server.url + "?timeout=1", "lost")
    reported_loss = threading.Event()
    place.on_error = lambda error: reported_loss.set() if "lost" in str(error) else None
    try:
        publisher = place.open()
        inbox = Inbox()
        place.open().start(inbox, patterns=["**"], replay_from=None)
        publisher.publish([wire(n) for n in range(1, 6)])
        inbox.wait_for(5)
        server.restart()
        assert reported_loss.wait(WAIT), place.errors
        _publish_with_retry(publisher, wire(6), time.monotonic() + 30)
        got = inbox.wait_for_id("test/1/a:6")
    finally:
        place.close_all()
    assert ids(got) == [f"test/1/a:{n}" for n in range(1, 7)]
