"""Two synced entity clients in one process, each on its own bus, the buses bridged over SQLite.

The same path as between processes (outbox, sender thread, SQLite stream, reader thread), with
one shared SQLite storage; the multi-process proofs are in ``test_store_sync_processes.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atomiton.events import Event, EventBus, connect_bus
from atomiton.storage import open_storage
from atomiton.store import EntityClient, StoreChange, SyncBus, SyncConflict, create_client

WAIT = 20.0


class Pair:
    def __init__(self, tmp_path: Path, **options: Any) -> None:
        url = f"sqlite://{tmp_path}/events.db"
        self.storage = open_storage(f"sqlite://{tmp_path}/app.db")
        self.buses = [EventBus(), EventBus()]
        self.bridges = [connect_bus(bus, url) for bus in self.buses]
        self.clients: list[EntityClient] = [
            create_client(self.storage, sync=bus, reconcile_interval=None, **options)
            for bus in self.buses
        ]

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for bridge in self.bridges:
            bridge.close()
        self.storage.close()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    made = Pair(tmp_path)
    yield made
    made.close()


class Heard:
    def __init__(self) -> None:
        self.changes: list[StoreChange] = []
        self._changed = threading.Condition()

    def __call__(self, change: StoreChange) -> None:
        with self._changed:
            self.changes.append(change)
            self._changed.notify_all()

    def wait_for(self, count: int) -> list[StoreChange]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.changes) >= count, WAIT), self.changes
            return list(self.changes)


def test_an_event_bus_is_a_sync_bus() -> None:
    assert isinstance(EventBus(), SyncBus)


def test_a_write_reaches_the_other_clients_subscribers_through_the_bridge(pair: Pair) -> None:
    a, b = pair.clients
    heard = Heard()
    b.stores.Todo.subscribe(heard)
    arrived: list[Event] = []
    pair.buses[1].on("store.sync.entities", arrived.append)
    todo = a.stores.Todo.add_one({"title": "bridge"})
    (change,) = heard.wait_for(1)
    assert change == StoreChange("Todo", "remote", (todo["id"],), remote=True)
    assert b.stores.Todo.get_one(todo["id"]) == todo
    (event,) = arrived
    assert event.origin == pair.bridges[0].origin
    assert event.data["writer"] == a.id
    assert event.data["seq"] == 1
    assert event.data["changes"] == [
        {"store": "Todo", "id": todo["id"], "after": todo, "strategy": "direct"}
    ]


def test_store_changed_is_emitted_for_remote_changes_too(tmp_path: Path) -> None:
    made = Pair(tmp_path)
    try:
        a, _b = made.clients
        local = EventBus()
        seen: list[Event] = []
        local.on("store.changed", seen.append)
        watcher = create_client(
            made.storage, events=local, sync=made.buses[1], reconcile_interval=None
        )
        heard = Heard()
        watcher.stores.Todo.subscribe(heard)
        todo = a.stores.Todo.add_one({"n": 1})
        heard.wait_for(1)
        assert [e.data for e in seen] == [
            {"store": "Todo", "operation": "remote", "ids": [todo["id"]]}
        ]
        watcher.close()
    finally:
        made.close()


def test_concurrent_writes_end_with_storage_value_and_a_conflict_report(tmp_path: Path) -> None:
    conflicts: list[SyncConflict] = []
    made = Pair(tmp_path, on_conflict=conflicts.append)
    try:
        a, b = made.clients
        todo = a.stores.Todo.add_one({"v": 0})
        b.stores.Todo.count()
        a.stores.Todo.update_one(todo["id"], {"v": "a"})
        b.stores.Todo.update_one(todo["id"], {"v": "b"})
        for bridge in made.bridges:
            assert bridge.flush(timeout=WAIT)
        stored = made.storage.read(f"atomiton/store/entities/Todo/{todo['id']}")
        assert stored is not None
        truth = json.loads(stored)
        for client in made.clients:
            for _ in range(400):
                if client.stores.Todo.get_one(todo["id"]) == truth:
                    break
                time.sleep(0.05)
            assert client.stores.Todo.get_one(todo["id"]) == truth
        # Whichever write storage kept, the other writer saw its own write replaced.
        assert [(c.store, c.id, c.remote) for c in conflicts] == [("Todo", todo["id"], truth)]
    finally:
        made.close()
