"""The private devtools channel and the container provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atomiton.storage import MemoryStorage
from atomiton.store import EntityClient, StoreChange, create_client, provide
from atomiton.store._entities.devtools import channel


def test_channel_lists_stores_counts_and_recent_entities() -> None:
    client = create_client(flush_interval=None)
    todos = client.stores.Todo
    a = todos.add_one({"title": "a"})
    b = todos.add_one({"title": "b"})
    client.stores.Note.add_one({"text": "n"})
    todos.update_one(a["id"], {"title": "a2"})
    todos.delete_one(b["id"])
    view = channel(client)
    assert view.client_id == client.id
    assert view.stores() == ["Note", "Todo"]
    assert view.counts() == {"Note": 1, "Todo": 1}
    assert view.counts(include_deleted=True) == {"Note": 1, "Todo": 2}
    recent = view.recent(limit=2)
    assert [(r.store, r.entity["id"]) for r in recent] == [("Todo", b["id"]), ("Todo", a["id"])]
    handle = view.handle("Todo")
    assert handle is not None
    assert handle.name == "Todo"
    assert view.handle("Missing") is None
    client.dispose()


def test_observe_sees_every_store_until_removed() -> None:
    client = create_client(flush_interval=None)
    seen: list[StoreChange] = []
    remove = channel(client).observe(seen.append)
    client.stores.Todo.add_one({})
    client.stores.Note.add_one({}, write_strategy="queue")
    assert channel(client).pending_writes() == 1
    remove()
    remove()  # idempotent
    client.stores.Todo.add_one({})
    assert [(c.store, c.operation) for c in seen] == [("Todo", "add"), ("Note", "add")]
    client.dispose()


class FakeContainer:
    """The part of atomiton.platform.Container that provide() uses."""

    def __init__(self, services: dict[Any, Any]) -> None:
        self.factories: dict[Any, Callable[[], Any]] = {}
        self.built: dict[Any, Any] = dict(services)

    def singleton(self, key: Any, factory: Callable[..., Any] | None = None, /) -> None:
        assert factory is not None
        self.factories[key] = factory

    def has(self, key: Any, /) -> bool:
        return key in self.factories or key in self.built

    def resolve(self, key: Any, /) -> Any:
        if key not in self.built:
            self.built[key] = self.factories[key]()
        return self.built[key]


class RecordingBus:
    def __init__(self) -> None:
        self.types: list[str] = []

    def emit(self, type: str, data: Any, /, *, source: str) -> None:
        self.types.append(type)


def test_provide_registers_a_lazy_client_under_its_class_and_key() -> None:
    container = FakeContainer({})
    provide(container)
    assert container.built == {}  # nothing built until resolved
    client = container.resolve("store.client")
    assert isinstance(client, EntityClient)
    assert container.resolve(EntityClient) is client
    assert isinstance(client.storage, MemoryStorage)
    client.dispose()


def test_provide_uses_the_containers_storage_and_events_when_present() -> None:
    storage = MemoryStorage()
    bus = RecordingBus()
    container = FakeContainer({"storage": storage, "events": bus})
    provide(container, {"store.flush_interval": None, "store.hydrate": "eager"})
    client = container.resolve("store.client")
    assert client.storage is storage
    client.stores.Todo.add_one({})
    assert bus.types == ["store.changed"]
    assert storage.list("atomiton/store/entities/Todo/") != []
    client.dispose()
