"""provide(): the entity client composed by a real platform Container with storage and events."""

from __future__ import annotations

from pathlib import Path

from atomiton.events import Event, EventBus
from atomiton.platform import Container
from atomiton.store import EntityClient, provide


def test_from_installed_wires_the_client_to_the_containers_storage_and_events(
    tmp_path: Path,
) -> None:
    settings = {"storage.url": f"sqlite:///{tmp_path / 'app.db'}", "store.flush_interval": None}
    with Container.from_installed(settings) as container:
        client = container.resolve("store.client")
        assert isinstance(client, EntityClient)
        assert container.resolve(EntityClient) is client
        bus = container.resolve("events")
        assert isinstance(bus, EventBus)
        seen: list[Event] = []
        bus.on("store.changed", seen.append)
        client.stores.Todo.add_one({"title": "persisted"})
        assert [e.data["operation"] for e in seen] == ["add"]
        assert client.storage is container.resolve("storage")
    assert client.is_disposed  # the container closed it
    with Container.from_installed(settings) as container:
        again = container.resolve("store.client")
        assert [e["title"] for e in again.stores.Todo.get_all()] == ["persisted"]


def test_provide_alone_falls_back_to_memory() -> None:
    container = Container()
    provide(container)
    client = container.resolve("store.client")
    client.stores.Todo.add_one({})
    assert client.stores.Todo.count() == 1
    container.close()
    assert client.is_disposed
