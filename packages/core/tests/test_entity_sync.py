"""Entity clients kept in sync over a bus-shaped object (``create_client(sync=...)``), in-process.

The fake ``Wire`` joins several ``FakeBus`` objects like the events bridge does: what one emits
reaches the handlers of every bus (its own included, as a local event does), synchronously or
held back until ``deliver()``, and can lose chosen events. The real bridge over real processes
is tested in the workspace's ``tests/test_store_sync_*.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from atomiton.storage import MemoryStorage
from atomiton.store import (
    EntityClient,
    EntityStoreError,
    StoreChange,
    SyncBus,
    SyncConflict,
    create_client,
)


@dataclass
class FakeEvent:
    type: str
    data: Any


class Wire:
    def __init__(self) -> None:
        self.buses: list[FakeBus] = []
        self.held: list[FakeEvent] | None = None
        self.drop: Callable[[FakeEvent], bool] = lambda _e: False
        self.sent: list[FakeEvent] = []

    def bus(self) -> FakeBus:
        bus = FakeBus(self)
        self.buses.append(bus)
        return bus

    def send(self, event: FakeEvent) -> None:
        self.sent.append(event)
        if self.drop(event):
            return
        if self.held is not None:
            self.held.append(event)
            return
        for bus in list(self.buses):
            bus.deliver(event)

    def hold(self) -> None:
        self.held = []

    def release(self) -> None:
        held, self.held = self.held or [], None
        for event in held:
            for bus in list(self.buses):
                bus.deliver(event)


class FakeBus:
    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.handlers: list[Callable[[Any], Any]] = []

    def emit(self, type: str, data: Any, /, *, source: str) -> object:
        event = FakeEvent(type, data)
        self.wire.send(event)
        return event

    def on(self, pattern: str, handler: Callable[[Any], Any], /) -> Callable[[], object]:
        assert pattern == "store.sync.entities"
        self.handlers.append(handler)
        return lambda: self.handlers.remove(handler)

    def deliver(self, event: FakeEvent) -> None:
        for handler in list(self.handlers):
            handler(event)


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def storage() -> Iterator[MemoryStorage]:
    shared = MemoryStorage()
    yield shared
    shared.close()


def _client(storage: MemoryStorage, wire: Wire, **options: Any) -> EntityClient:
    options.setdefault("reconcile_interval", None)
    options.setdefault("flush_interval", None)
    # One event per write, from the writing thread: these tests check the rules event by
    # event; the default publishing window has its own tests below.
    options.setdefault("sync_coalesce", None)
    return create_client(storage, sync=wire.bus(), **options)


def _state(client: EntityClient, store: str = "Todo") -> list[dict[str, Any]]:
    return client.stores(store).get_all(include_deleted=True)


def test_fake_bus_satisfies_the_protocol(wire: Wire) -> None:
    assert isinstance(wire.bus(), SyncBus)


def test_a_write_reaches_the_other_client_its_subscribers_and_indexes(
    storage: MemoryStorage, wire: Wire
) -> None:
    a, b = _client(storage, wire), _client(storage, wire)
    b.configure("Todo", indexes=["done"])
    heard: list[StoreChange] = []
    b.stores.Todo.subscribe(heard.append)
    added = a.stores.Todo.add_one({"title": "x", "done": False})
    assert b.stores.Todo.get_one(added["id"]) == added
    assert heard == [StoreChange("Todo", "remote", (added["id"],), remote=True)]
    a.stores.Todo.update_one(added["id"], {"done": True})
    assert b.stores.Todo.find_many({"done": True}, explain=True).plan.strategy == "index"  # type: ignore[union-attr]
    assert [e["id"] for e in b.stores.Todo.find_many({"done": True}).data] == [added["id"]]
    a.stores.Todo.delete_one(added["id"], force=True)
    assert b.stores.Todo.get_one(added["id"], include_deleted=True) is None
    assert b.stores.Todo.find_many({"done": True}).data == []
    # Remote changes are not b's to undo.
    assert not b.history.can_undo
    a.close()
    b.close()


def test_one_event_per_write_or_batch_with_writer_and_sequence(
    storage: MemoryStorage, wire: Wire
) -> None:
    a = _client(storage, wire)
    a.stores.Todo.add_many([{"n": 1}, {"n": 2}])
    with a.batch():
        one = a.stores.Todo.add_one({"n": 3})
        a.stores.Note.add_one({"text": "t"})
        a.stores.Todo.update_one(one["id"], {"n": 4}, write_strategy="queue")
    events = [e.data for e in wire.sent]
    assert [e["seq"] for e in events] == [1, 2]
    assert {e["writer"] for e in events} == {a.id}
    # A batch is coalesced: one change per entity, with its final state and strategy.
    changes = sorted((c["store"], c["strategy"], c["after"]["id"]) for c in events[1]["changes"])
    note = a.stores.Note.get_all()[0]
    assert changes == [("Note", "direct", note["id"]), ("Todo", "queue", one["id"])]
    assert a.flush() == 1
    assert wire.sent[-1].data["kind"] == "flush"
    assert wire.sent[-1].data["seq"] == 3
    a.close()


def test_receivers_trust_storage_not_the_payload(storage: MemoryStorage, wire: Wire) -> None:
    a, b, c = _client(storage, wire), _client(storage, wire), _client(storage, wire)
    entity = a.stores.Todo.add_one({"v": 0})
    for client in (b, c):
        client.stores.Todo.count()  # hydrated
    wire.hold()
    a.stores.Todo.update_one(entity["id"], {"v": "a"})
    b.stores.Todo.update_one(entity["id"], {"v": "b"})  # committed to storage last
    wire.release()  # a's event arrives after both writes: everyone reads "b"
    for client in (a, b, c):
        assert client.stores.Todo.get_one(entity["id"])["v"] == "b"  # type: ignore[index]
    for client in (a, b, c):
        client.close()


def test_conflicts_reach_on_conflict(storage: MemoryStorage, wire: Wire) -> None:
    seen: list[SyncConflict] = []
    a = _client(storage, wire, on_conflict=seen.append)
    b = _client(storage, wire)
    entity = a.stores.Todo.add_one({"v": 0})
    b.stores.Todo.count()
    wire.hold()
    mine = a.stores.Todo.update_one(entity["id"], {"v": "a"})
    theirs = b.stores.Todo.update_one(entity["id"], {"v": "b"})
    wire.release()
    assert seen == [SyncConflict("Todo", entity["id"], mine, theirs)]
    assert a.stores.Todo.get_one(entity["id"]) == theirs
    a.close()
    b.close()


def test_queue_writes_travel_as_hints_then_the_flush_is_read_back(
    storage: MemoryStorage, wire: Wire
) -> None:
    a, b = _client(storage, wire), _client(storage, wire)
    b.stores.Todo.count()
    queued = a.stores.Todo.add_one({"v": 1}, write_strategy="queue")
    assert storage.list("atomiton/store/entities/") == []
    assert b.stores.Todo.get_one(queued["id"]) == queued  # the hint
    # b writes the entity directly, then a's flush overwrites it in storage: a's value wins.
    b.stores.Todo.update_one(queued["id"], {"v": 2})
    a.flush()
    stored = a.stores.Todo.get_one(queued["id"])
    assert b.stores.Todo.get_one(queued["id"]) == stored
    a.close()
    b.close()


def test_a_sequence_gap_reconciles_against_storage(storage: MemoryStorage, wire: Wire) -> None:
    a, b = _client(storage, wire), _client(storage, wire)
    b.stores.Todo.count()
    wire.drop = lambda event: event.data["seq"] == 2
    first = a.stores.Todo.add_one({"n": 1})
    lost = a.stores.Todo.add_one({"n": 2})  # its event is lost
    assert b.stores.Todo.get_one(lost["id"]) is None
    heard: list[StoreChange] = []
    b.stores.Todo.subscribe(heard.append)
    third = a.stores.Todo.add_one({"n": 3})  # seq 3 after 1: b reconciles
    assert [e["id"] for e in _state(b)] == [first["id"], lost["id"], third["id"]]
    # Storage already holds the third write too: the reconciliation finds both.
    assert heard == [StoreChange("Todo", "reconcile", (lost["id"], third["id"]), remote=True)]
    a.close()
    b.close()


def test_reconcile_finds_a_write_whose_event_never_left(storage: MemoryStorage, wire: Wire) -> None:
    a, b = _client(storage, wire), _client(storage, wire)
    b.stores.Todo.count()
    wire.drop = lambda _event: True  # a writer that died between commit and publish
    entity = a.stores.Todo.add_one({"n": 1})
    assert b.stores.Todo.get_one(entity["id"]) is None
    assert b.reconcile() == 1
    assert b.stores.Todo.get_one(entity["id"]) == entity
    assert b.reconcile() == 0
    a.close()
    b.close()


def test_the_reconcile_interval_bounds_staleness(storage: MemoryStorage, wire: Wire) -> None:
    a = _client(storage, wire)
    b = _client(storage, wire, reconcile_interval=0.05)
    b.stores.Todo.count()
    wire.drop = lambda _event: True
    entity = a.stores.Todo.add_one({"n": 1})
    import time

    deadline = time.monotonic() + 5
    while b.stores.Todo.get_one(entity["id"]) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert b.stores.Todo.get_one(entity["id"]) == entity
    a.close()
    b.close()


def test_a_late_joiner_hydrates_from_storage_and_skips_duplicates(
    storage: MemoryStorage, wire: Wire
) -> None:
    a = _client(storage, wire)
    early = a.stores.Todo.add_one({"n": 1})
    late = _client(storage, wire)
    assert _state(late) == [early]
    heard: list[StoreChange] = []
    late.stores.Todo.subscribe(heard.append)
    a.stores.Todo.update_one(early["id"], {"n": 2})
    wire.buses[-1].deliver(wire.sent[-1])  # the same event again
    assert len(heard) == 1
    assert _state(late) == _state(a)
    a.close()
    late.close()


def test_other_key_prefixes_and_malformed_events_are_ignored(
    storage: MemoryStorage, wire: Wire
) -> None:
    a = _client(storage, wire, key_prefix="app-one")
    b = _client(storage, wire, key_prefix="app-two")
    b.stores.Todo.count()
    a.stores.Todo.add_one({"n": 1})
    assert b.stores.Todo.count() == 0
    for junk in (None, 5, {"prefix": "app-two"}, {"prefix": "app-two", "writer": "x", "seq": "1"}):
        wire.buses[1].deliver(FakeEvent("store.sync.entities", junk))
    assert b.stores.Todo.count() == 0
    a.close()
    b.close()


def test_close_unsubscribes(storage: MemoryStorage, wire: Wire) -> None:
    a = _client(storage, wire)
    bus = wire.buses[0]
    assert len(bus.handlers) == 1
    a.close()
    assert bus.handlers == []


def test_bad_sync_options_are_refused(storage: MemoryStorage, wire: Wire) -> None:
    with pytest.raises(TypeError, match="sync must have emit"):
        create_client(storage, sync=object())  # type: ignore[arg-type]
    with pytest.raises(EntityStoreError, match="reconcile_interval"):
        create_client(storage, sync=wire.bus(), reconcile_interval=0)
    with pytest.raises(EntityStoreError, match="sync_coalesce"):
        create_client(storage, sync=wire.bus(), sync_coalesce=-1)
    with pytest.raises(EntityStoreError, match="on_conflict"):
        create_client(storage, sync=wire.bus(), on_conflict=5)  # type: ignore[arg-type]
    client = create_client(storage)
    with pytest.raises(EntityStoreError, match="synced client"):
        client.reconcile()
    client.close()


def test_a_hint_is_never_numbered_after_the_flush_that_stored_it(
    storage: MemoryStorage, wire: Wire
) -> None:
    # The background flusher can move a queued write to storage between the outbox append and
    # the write's event. Were the hint numbered after the flush's event, a receiver would
    # re-read the flushed value and then apply the hint over a later write by someone else.
    a, b = _client(storage, wire), _client(storage, wire)
    b.stores.Todo.count()
    persistence = a._persistence
    enqueue = persistence.enqueue

    def enqueue_then_flush(changes: Any) -> str:
        key = enqueue(changes)
        persistence.flush()  # what the flusher thread may do right here
        return key

    persistence.enqueue = enqueue_then_flush  # type: ignore[method-assign]
    todo = a.stores.Todo.add_one({"v": 1}, write_strategy="queue")
    events = [e.data for e in wire.sent]
    assert [(e["seq"], e["kind"]) for e in events] == [(1, "flush"), (2, "write")]
    # Already stored: the write's event asks receivers to re-read, not to trust a hint.
    assert [c["strategy"] for c in events[1]["changes"]] == ["flush"]
    assert b.stores.Todo.get_one(todo["id"]) == todo
    a.close()
    b.close()


def test_coalescing_publishes_fewer_events_covering_every_write(
    storage: MemoryStorage, wire: Wire
) -> None:
    a = _client(storage, wire, sync_coalesce=0.005)
    b = _client(storage, wire)
    b.stores.Todo.count()
    todo = a.stores.Todo.add_one({"n": 0})
    for n in range(1, 200):
        strategy = "queue" if n % 3 == 0 else "direct"
        a.stores.Todo.update_one(todo["id"], {"n": n}, write_strategy=strategy)
    a.flush()  # returns once every event is handed to the bus
    events = [e.data for e in wire.sent if e.data["writer"] == a.id]
    assert len(events) < 200
    # Events are numbered as published: no gap for receivers, every write inside one of them.
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    written = {c["after"]["n"] for e in events for c in e["changes"] if c["after"] is not None}
    assert written == set(range(200))
    assert b._sync is not None
    assert b._sync.gaps == 0  # a coalesced event is no gap
    assert _state(b) == _state(a)
    a.close()
    b.close()


@pytest.mark.parametrize("hint_last", [False, True])
def test_the_last_change_about_an_entity_in_one_event_decides(
    storage: MemoryStorage, wire: Wire, hint_last: bool
) -> None:
    a, b = _client(storage, wire), _client(storage, wire)
    stored = a.stores.Todo.add_one({"v": "stored"})
    b.stores.Todo.count()
    hint = {**stored, "v": "hint", "version": 9}
    changes = [
        {"store": "Todo", "id": stored["id"], "after": hint, "strategy": "queue"},
        {"store": "Todo", "id": stored["id"], "after": None, "strategy": "direct"},
    ]
    if hint_last:
        changes.reverse()
    event = {"writer": "someone", "seq": 1, "prefix": "atomiton/store", "kind": "write"}
    wire.buses[1].deliver(FakeEvent("store.sync.entities", {**event, "changes": changes}))
    assert b.stores.Todo.get_one(stored["id"]) == (hint if hint_last else stored)
    a.close()
    b.close()


class BusyBus(FakeBus):
    """A FakeBus with EventBus's ``outbound_pending``: events still on their way elsewhere."""

    busy = 0

    @property
    def outbound_pending(self) -> int:
        return self.busy


def _sent_soon(wire: Wire, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(wire.sent) < count:
        assert time.monotonic() < deadline, f"{count - len(wire.sent)} event(s) never sent"
        time.sleep(0.002)


def test_by_default_lone_writes_leave_at_once_and_a_burst_shares_one_event_per_window(
    storage: MemoryStorage, wire: Wire
) -> None:
    bus = BusyBus(wire)
    wire.buses.append(bus)
    # A window long enough that the writes below certainly fall inside it.
    a = create_client(storage, sync=bus, reconcile_interval=None, sync_coalesce=1.0)
    b = _client(storage, wire)
    b.stores.Todo.count()
    todo = a.stores.Todo.add_one({"n": 0})
    # A lone write and an idle bus: the writing thread published it before returning.
    assert len(wire.sent) == 1
    assert b.stores.Todo.get_one(todo["id"]) == todo
    a.stores.Todo.update_one(todo["id"], {"n": 1})
    assert len(wire.sent) == 2  # still lone writes, though within the window
    # The bus has events in flight: the write waits for them (Nagle), not for the window.
    bus.busy = 1
    a.stores.Todo.update_one(todo["id"], {"n": 2})
    time.sleep(0.05)
    assert len(wire.sent) == 2
    bus.busy = 0
    _sent_soon(wire, 3, timeout=0.7)  # well before the window ends
    assert [c["after"]["n"] for c in wire.sent[2].data["changes"]] == [2]
    # A burst: writes while one waits join it, and they leave together at the window's end.
    bus.busy = 1
    for n in range(3, 13):
        a.stores.Todo.update_one(todo["id"], {"n": n})
    bus.busy = 0
    time.sleep(0.05)
    assert len(wire.sent) == 3
    assert b.stores.Todo.get_one(todo["id"])["n"] == 2  # type: ignore[index]
    _sent_soon(wire, 4)
    assert [c["after"]["n"] for c in wire.sent[3].data["changes"]] == list(range(3, 13))
    assert b.stores.Todo.get_one(todo["id"])["n"] == 12  # type: ignore[index]
    # Within the window after a burst's event, a write waits even on an idle bus...
    a.stores.Todo.update_one(todo["id"], {"n": 13})
    assert len(wire.sent) == 4
    _sent_soon(wire, 5)
    # ... and a quiet window later it leaves at once again.
    time.sleep(1.05)
    a.stores.Todo.update_one(todo["id"], {"n": 14})
    assert len(wire.sent) == 6
    assert [e.data["seq"] for e in wire.sent if e.data["writer"] == a.id] == [1, 2, 3, 4, 5, 6]
    assert b.stores.Todo.get_one(todo["id"])["n"] == 14  # type: ignore[index]
    a.close()
    b.close()


@pytest.mark.parametrize("version", [9, 1])
def test_a_newer_payload_is_heard_at_once_and_storage_has_the_last_word(
    storage: MemoryStorage, wire: Wire, version: int
) -> None:
    a, b = _client(storage, wire), _client(storage, wire)
    stored = a.stores.Todo.add_one({"v": "stored"})
    heard: list[Any] = []
    b.stores.Todo.subscribe(lambda _change: heard.append(b.stores.Todo.get_one(stored["id"])))
    # A write that lost a race: storage holds another value than this event's payload.
    payload = {**stored, "v": "lost", "version": version}
    change = {"store": "Todo", "id": stored["id"], "after": payload, "strategy": "direct"}
    event = {"writer": "w", "seq": 1, "prefix": "atomiton/store", "kind": "write"}
    b.stores.Todo.update_one(stored["id"], {"v": "mine"}, write_strategy="queue")
    b.flush()
    heard.clear()
    assert b.stores.Todo.get_one(stored["id"])["v"] == "mine"  # type: ignore[index]
    storage_value = b.stores.Todo.get_one(stored["id"])
    wire.buses[1].deliver(FakeEvent("store.sync.entities", {**event, "changes": [change]}))
    if version > storage_value["version"]:  # type: ignore[index]
        # Shown from the payload before any read, then corrected from storage.
        assert heard == [payload, storage_value]
    else:
        assert heard == []  # not newer: only storage counts, and it holds what b holds
    assert b.stores.Todo.get_one(stored["id"]) == storage_value
    a.close()
    b.close()
