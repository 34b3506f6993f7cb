"""Live queries follow changes made by another synced client, through a real events bridge.

Two entity clients in one process, each on its own ``EventBus``, the buses bridged over SQLite
(the path between processes: outbox, sender thread, SQLite stream, reader thread), one shared
SQLite storage. Client ``b`` watches; client ``a`` writes. The remote change is applied to ``b``
by the bridge's reader thread and reaches ``b``'s live queries through the client's one change
hook, like a local write.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from atomiton.events import EventBus, connect_bus
from atomiton.storage import open_storage
from atomiton.store import EntityClient, Page, create_client, create_store

WAIT = 20.0


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[tuple[EntityClient, EntityClient]]:
    storage = open_storage(f"sqlite://{tmp_path}/app.db")
    buses = [EventBus(), EventBus()]
    bridges = [connect_bus(bus, f"sqlite://{tmp_path}/events.db") for bus in buses]
    made = [
        create_client(storage, sync=bus, reconcile_interval=None, flush_interval=None)
        for bus in buses
    ]
    yield made[0], made[1]
    for client in made:
        client.close()
    for bridge in bridges:
        bridge.close()
    storage.close()


def _titles(page: Page) -> list[str]:
    return [e["title"] for e in page.data]


def test_watch_many_follows_the_other_clients_writes(
    clients: tuple[EntityClient, EntityClient],
) -> None:
    a, b = clients
    mine = b.stores.Todo.add_one({"title": "b's", "open": True})

    async def main() -> list[list[str]]:
        seen: list[list[str]] = []
        async with b.stores.Todo.watch_many({"open": True}, order_by="title") as watch:
            seen.append(_titles(await asyncio.wait_for(anext(watch), WAIT)))
            await a.stores.Todo.aadd_one({"title": "a's", "open": True})
            seen.append(_titles(await asyncio.wait_for(anext(watch), WAIT)))
            await a.stores.Todo.aadd_one({"title": "closed", "open": False})
            await a.stores.Todo.aupdate_one(mine["id"], {"open": False})
            seen.append(_titles(await asyncio.wait_for(anext(watch), WAIT)))
        return seen

    # The unrelated add made no result: the next one is the update's.
    assert asyncio.run(main()) == [["b's"], ["a's", "b's"], ["a's"]]


def test_a_query_atom_follows_the_other_clients_writes(
    clients: tuple[EntityClient, EntityClient],
) -> None:
    a, b = clients
    q = b.stores.Todo.query_atom({"open": True})
    store = create_store()
    totals: list[int] = []
    arrived = threading.Event()

    def listener(page: Page) -> None:
        totals.append(page.total)
        arrived.set()

    unsubscribe = store.subscribe(q, listener)
    a.stores.Todo.add_one({"title": "remote", "open": True})
    assert arrived.wait(WAIT)
    assert totals == [1]
    assert store.get(q) == b.stores.Todo.find_many({"open": True})
    unsubscribe()
