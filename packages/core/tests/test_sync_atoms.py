"""``sync_atoms`` over an in-process bus-shaped wire (several stores stand for several processes).

The wire delivers each emitted event to every joined bus (the emitter's own included, as a local
event is), at once or held back until ``release()``; real processes over the events bridge are
tested in the workspace's ``tests/test_store_sync_atoms.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from atomiton.store import (
    AtomSyncError,
    Store,
    atom,
    computed,
    create_store,
    sync_atoms,
)


@dataclass
class FakeEvent:
    type: str
    data: Any


class Wire:
    def __init__(self) -> None:
        self.handlers: list[tuple[str, Callable[[Any], Any]]] = []
        self.held: list[FakeEvent] | None = None
        self.sent: list[FakeEvent] = []

    def emit(self, type: str, data: Any, /, *, source: str) -> object:
        event = FakeEvent(type, data)
        self.sent.append(event)
        if self.held is not None:
            self.held.append(event)
        else:
            self._deliver(event)
        return event

    def on(self, pattern: str, handler: Callable[[Any], Any], /) -> Callable[[], object]:
        entry = (pattern, handler)
        self.handlers.append(entry)
        return lambda: self.handlers.remove(entry)

    def _deliver(self, event: FakeEvent) -> None:
        for pattern, handler in list(self.handlers):
            if pattern == event.type:
                handler(event)

    def hold(self) -> None:
        self.held = []

    def release(self, order: Callable[[list[FakeEvent]], list[FakeEvent]] = list) -> None:
        held, self.held = self.held or [], None
        for event in order(held):
            self._deliver(event)


def _pair() -> tuple[Any, Any, Any]:
    theme = atom("light", name="theme")
    flags = atom({"beta": False}, name="flags")
    return theme, flags, computed(lambda get: f"{get(theme)}:{get(flags)['beta']}")


def test_a_write_reaches_the_other_store_its_derived_atoms_and_subscribers() -> None:
    wire = Wire()
    theme, flags, label = _pair()
    one, two = create_store(), create_store()
    sync_one = sync_atoms(one, wire, [theme, flags])
    sync_two = sync_atoms(two, wire, [theme, flags])
    assert sync_one.flush()
    assert sync_two.flush()
    heard: list[str] = []
    two.subscribe(label, heard.append)
    one.set(theme, "dark")
    assert sync_one.flush()  # the fake wire delivers while the event is emitted
    assert two.get(theme) == "dark"
    assert heard == ["dark:False"]
    one.set(flags, {"beta": True})
    assert sync_one.flush()
    assert two.get(label) == "dark:True"
    # Applying a remote value publishes nothing: one event per local write.
    assert [e.data["kind"] for e in wire.sent] == ["hello", "hello", "set", "set"]
    sync_one.close()
    sync_two.close()


def test_concurrent_writes_end_equal_by_lamport_clock_then_writer_id() -> None:
    wire = Wire()
    theme = atom("light", name="theme")
    stores = [create_store() for _ in range(3)]
    syncs = [sync_atoms(store, wire, [theme]) for store in stores]
    for sync in syncs:
        assert sync.flush()  # the hellos are out before the race starts
    wire.hold()
    for n, store in enumerate(stores):
        store.set(theme, f"from-{n}")
    for sync in syncs:
        assert sync.flush()
    # Delivered in opposite orders to make sure order does not decide.
    wire.release(lambda events: list(reversed(events)))
    winner = max(syncs, key=lambda s: s.writer)  # equal clocks: the greatest writer id
    expected = stores[syncs.index(winner)].get(theme)
    assert [store.get(theme) for store in stores] == [expected] * 3
    # A write made after seeing that value wins everywhere (its clock is greater).
    loser = stores[[s.writer for s in syncs].index(min(s.writer for s in syncs))]
    loser.set(theme, "later")
    assert syncs[stores.index(loser)].flush()
    assert [store.get(theme) for store in stores] == ["later"] * 3
    for sync in syncs:
        sync.close()


def test_a_joining_store_gets_the_current_values_from_its_peers() -> None:
    wire = Wire()
    theme, flags, _label = _pair()
    first = create_store()
    sync_first = sync_atoms(first, wire, [theme, flags])
    first.set(theme, "dark")
    joiner = create_store()
    sync_joiner = sync_atoms(joiner, wire, [theme, flags])
    assert sync_joiner.flush()  # its hello reached the first store...
    assert sync_first.flush()  # ...whose answer reached the joiner
    assert joiner.get(theme) == "dark"
    assert joiner.get(flags) == {"beta": False}  # never written: the initial value stays
    assert sync_joiner.stamp(theme) == sync_first.stamp(theme)
    sync_first.close()
    sync_joiner.close()


def test_values_that_are_not_json_are_refused_naming_the_atom() -> None:
    wire = Wire()
    bad = atom({1, 2}, name="bad-set")
    with pytest.raises(AtomSyncError, match="bad-set"):
        sync_atoms(create_store(), wire, [bad])
    theme = atom("light", name="theme")
    store = create_store()
    sync = sync_atoms(store, wire, [theme])
    with pytest.raises(AtomSyncError, match="theme"):
        store.set(theme, ("a", "tuple"))  # type: ignore[misc]  # would arrive as a list
    assert store.get(theme) == "light"
    sync.close()
    store.set(theme, ("a", "tuple"))  # type: ignore[misc]  # not synced any more


@pytest.mark.parametrize(
    ("atoms", "message"),
    [
        (lambda: [atom(1)], "has no name"),
        (lambda: [atom(1, name="x"), atom(2, name="x")], "two atoms are named 'x'"),
        (lambda: [computed(lambda get: 1)], "not a primitive atom"),
        (list, "no atoms"),
    ],
)
def test_bad_atoms_are_refused(atoms: Callable[[], list[Any]], message: str) -> None:
    with pytest.raises(AtomSyncError, match=message):
        sync_atoms(create_store(), Wire(), atoms())


def test_bad_channel_and_bus_are_refused() -> None:
    theme = atom("light", name="theme")
    with pytest.raises(AtomSyncError, match="channel"):
        sync_atoms(create_store(), Wire(), [theme], channel="a.b")
    with pytest.raises(TypeError, match="bus must have"):
        sync_atoms(create_store(), object(), [theme])  # type: ignore[arg-type]


def test_channels_are_independent_and_close_unsubscribes() -> None:
    wire = Wire()
    theme = atom("light", name="theme")
    one, two = create_store(), create_store()
    with (
        sync_atoms(one, wire, [theme], channel="a") as one_sync,
        sync_atoms(two, wire, [theme], channel="b"),
    ):
        one.set(theme, "dark")
        assert one_sync.flush()
        assert two.get(theme) == "light"
    assert wire.handlers == []


def test_store_type_is_checked() -> None:
    with pytest.raises(TypeError, match="Store"):
        sync_atoms(object(), Wire(), [atom(1, name="n")])  # type: ignore[arg-type]
    assert isinstance(create_store(), Store)


def test_two_stores_in_one_process_written_from_two_threads_do_not_deadlock() -> None:
    # A store listener runs under its store's lock; were events emitted there, each thread
    # could hold its store's lock while the other store's handler, reached through the wire,
    # waits for it.
    wire = Wire()
    count = atom(0, name="count")
    stores = [create_store(), create_store()]
    syncs = [sync_atoms(store, wire, [count]) for store in stores]

    def write(store: Store, base: int) -> None:
        for n in range(300):
            with store.batch():  # listeners run at the batch's end, under the store's lock
                store.set(count, base + n)

    threads = [
        threading.Thread(target=write, args=(store, 1000 * k), daemon=True)
        for k, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads), "the writers deadlocked"
    for sync in syncs:
        assert sync.flush()
    assert stores[0].get(count) == stores[1].get(count)
    for sync in syncs:
        sync.close()
