"""After any failed write, memory and storage agree, and the error says what really happened.

A strategy may fail after part of its write reached storage: ``persist()`` and then an error, a
``delete_many`` failing after its ``write_many``, an ``enqueue()`` and then an error. The client
rolls memory back and puts storage back the same way; a new client on the same storage sees
exactly what the first one holds in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from atomiton.storage import MemoryStorage
from atomiton.store import (
    EntityClient,
    PersistenceError,
    WriteContext,
    create_client,
)

ENTITIES = "atomiton/store/entities/"
OUTBOX = "atomiton/store/outbox/"


class FailingDeletes(MemoryStorage):
    """Memory storage whose next ``failures`` delete_many calls remove the first key, then raise
    (a non-atomic delete that got part of the way)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def delete_many(self, keys: Iterable[str], /) -> int:
        keys = list(keys)
        if self.failures:
            self.failures -= 1
            super().delete_many(keys[:1])
            raise OSError("lost the connection while deleting")
        return super().delete_many(keys)


class FailingWrites(FailingDeletes):
    """Also fails every write_many while ``writes_fail`` is set."""

    writes_fail = False

    def write_many(
        self,
        items: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
        *,
        ttl: float | None = None,
    ) -> None:
        if self.writes_fail:
            raise OSError("read-only now")
        super().write_many(items, ttl=ttl)


def entities(client: EntityClient, store: str = "Todo") -> dict[str, Any]:
    return {e["id"]: e for e in getattr(client.stores, store).get_all()}


def reopened(storage: MemoryStorage, store: str = "Todo") -> dict[str, Any]:
    """What a fresh client on ``storage`` sees."""
    client = create_client(storage, flush_interval=None)
    try:
        return entities(client, store)
    finally:
        client.dispose()


def persist_then_fail(context: WriteContext) -> None:
    context.persist()
    raise OSError("the remote replica refused it")


def enqueue_then_fail(context: WriteContext) -> None:
    context.enqueue()
    raise OSError("the remote replica refused it")


@pytest.mark.parametrize("strategy", [persist_then_fail, enqueue_then_fail])
def test_a_strategy_that_stores_then_fails_leaves_storage_as_memory(strategy: Any) -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    client.register_write_strategy("flaky", strategy)
    kept = client.stores.Todo.add_one({"id": "kept", "n": 0})
    client.stores.Todo.add_one({"id": "gone", "n": 9})
    before = entities(client)
    with pytest.raises(PersistenceError, match="nothing changed") as info:
        client.stores.Todo.add_one({"id": "new", "n": 1}, write_strategy="flaky")
    assert isinstance(info.value.__cause__, OSError)
    for write in (
        lambda: client.stores.Todo.update_one("kept", {"n": 5}, write_strategy="flaky"),
        lambda: client.stores.Todo.delete_one("gone", write_strategy="flaky"),
        lambda: client.stores.Todo.delete_one("gone", force=True, write_strategy="flaky"),
    ):
        with pytest.raises(PersistenceError, match="nothing changed"):
            write()
    assert entities(client) == before
    assert client.stores.Todo.get_one("kept") == kept
    assert client.pending_writes == 0
    client.flush()
    assert reopened(storage) == before  # a new client sees what memory holds
    assert storage.list(OUTBOX) == []
    client.dispose()
    assert reopened(storage) == before


def test_a_batch_whose_delete_many_fails_after_its_write_many_is_undone_in_storage() -> None:
    storage = FailingDeletes()
    client = create_client(storage, flush_interval=None)
    todos = client.stores.Todo
    todos.add_many([{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"id": "c", "n": 3}])
    before = entities(client)
    storage.failures = 1

    def batch() -> None:
        with client.batch():
            todos.update_one("a", {"n": 10})
            todos.add_one({"id": "d", "n": 4})
            todos.delete_one("b", force=True)  # removed for good: a delete_many
            todos.delete_one("c", force=True)

    with pytest.raises(PersistenceError, match="rolled back in memory and in storage") as info:
        batch()
    assert isinstance(info.value.__cause__, OSError)
    assert entities(client) == before
    assert reopened(storage) == before
    client.dispose()


def test_a_direct_write_whose_delete_fails_part_way_is_undone_in_storage() -> None:
    storage = FailingDeletes()
    client = create_client(storage, flush_interval=None)
    todos = client.stores.Todo
    todos.add_many([{"id": "a", "n": 1}, {"id": "b", "n": 2}])
    before = entities(client)
    storage.failures = 1
    with pytest.raises(PersistenceError, match="nothing changed"):
        todos.delete_many(["a", "b"], force=True)
    assert entities(client) == before
    assert reopened(storage) == before
    client.dispose()


def test_when_undoing_fails_too_the_error_says_storage_may_differ() -> None:
    storage = FailingWrites()
    client = create_client(storage, flush_interval=None)
    todos = client.stores.Todo
    todos.add_many([{"id": "a", "n": 1}, {"id": "b", "n": 2}])
    before = todos.get_one("a")

    def persist_then_break_storage(context: WriteContext) -> None:
        context.persist()
        storage.writes_fail = True  # the undo cannot write the old values back
        raise OSError("replica refused")

    client.register_write_strategy("breaking", persist_then_break_storage)
    with pytest.raises(PersistenceError) as info:
        todos.update_one("a", {"n": 10}, write_strategy="breaking")
    message = str(info.value)
    assert "nothing changed" not in message
    assert "undoing what it had stored failed too" in message
    assert "storage may hold part of this write" in message
    assert todos.get_one("a") == before  # memory rolled back as stated
    storage.writes_fail = False
    client.dispose()


def test_an_interrupt_inside_a_strategy_is_undone_in_storage_and_re_raised() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)

    def persist_then_interrupt(context: WriteContext) -> None:
        context.persist()
        raise KeyboardInterrupt

    client.register_write_strategy("interrupted", persist_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        client.stores.Todo.add_one({"id": "x"}, write_strategy="interrupted")
    assert entities(client) == {}
    assert reopened(storage) == {}
    client.dispose()


def test_a_queued_record_the_flusher_already_moved_is_undone_in_the_entity_keys() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    client.stores.Todo.add_one({"id": "a", "n": 1})
    before = entities(client)

    def enqueue_flush_then_fail(context: WriteContext) -> None:
        context.enqueue()
        client.flush()  # as the background flusher may do meanwhile
        raise OSError("replica refused")

    client.register_write_strategy("late", enqueue_flush_then_fail)
    with pytest.raises(PersistenceError, match="nothing changed"):
        client.stores.Todo.update_one("a", {"n": 2}, write_strategy="late")
    assert entities(client) == before
    assert reopened(storage) == before
    client.dispose()
