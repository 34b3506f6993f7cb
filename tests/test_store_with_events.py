"""The entity client emits store.changed on a real EventBus, in the shared payload shape."""

from __future__ import annotations

from atomiton.events import Event, EventBus, StoreChanged, system_event
from atomiton.platform import EventSink
from atomiton.store import create_client


def test_event_bus_satisfies_the_emitter_protocol_and_gets_typed_store_changes() -> None:
    bus = EventBus(history_limit=100)
    assert isinstance(bus, EventSink)
    received: list[Event] = []
    bus.on("store.*", received.append)
    client = create_client(events=bus, flush_interval=None)
    todo = client.stores.Todo.add_one({"title": "a"})
    client.stores.Todo.update_one(todo["id"], {"title": "b"})
    with client.batch():
        client.stores.Note.add_one({"id": "n1"})
        client.stores.Todo.delete_one(todo["id"])
    client.history.undo()
    assert [e.type for e in received] == ["store.changed"] * 6
    assert all(e.source == "store" for e in received)
    assert [e.data for e in received] == [
        {"store": "Todo", "operation": "add", "ids": [todo["id"]]},
        {"store": "Todo", "operation": "update", "ids": [todo["id"]]},
        {"store": "Note", "operation": "add", "ids": ["n1"]},
        {"store": "Todo", "operation": "delete", "ids": [todo["id"]]},
        # undo of the batch: one event per store it touched
        {"store": "Note", "operation": "undo", "ids": ["n1"]},
        {"store": "Todo", "operation": "undo", "ids": [todo["id"]]},
    ]
    typed = system_event(received[0])
    assert isinstance(typed, StoreChanged)
    assert typed.store == "Todo"
    assert list(typed.ids) == [todo["id"]]
    client.dispose()
