"""Write strategies, the outbox, batches with rollback, hydration and undo/redo."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from atomiton.storage import MemoryStorage
from atomiton.store import (
    PersistenceError,
    StoreChange,
    UnknownWriteStrategyError,
    WriteContext,
    create_client,
)

ENTITIES = "atomiton/store/entities/"
OUTBOX = "atomiton/store/outbox/"


class FlakyStorage(MemoryStorage):
    """Memory storage whose writes fail while ``failing`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False
        self.write_many_calls = 0

    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        if self.failing:
            raise OSError("disk full")
        super().write(key, data, ttl=ttl)

    def write_many(
        self,
        items: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
        *,
        ttl: float | None = None,
    ) -> None:
        self.write_many_calls += 1
        if self.failing:
            raise OSError("disk full")
        super().write_many(items, ttl=ttl)

    def delete_many(self, keys: Iterable[str], /) -> int:
        if self.failing:
            raise OSError("disk full")
        return super().delete_many(keys)


def test_direct_is_persisted_before_the_call_returns() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    todo = client.stores.Todo.add_one({"title": "a"})
    assert storage.list(ENTITIES) == [f"{ENTITIES}Todo/{todo['id']}"]
    assert storage.list(OUTBOX) == []
    client.dispose()


def test_queue_applies_in_memory_and_appends_to_the_outbox_until_flushed() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    todo = client.stores.Todo.add_one({"title": "a"}, write_strategy="queue")
    assert client.stores.Todo.get_one(todo["id"]) is not None
    assert storage.list(ENTITIES) == []
    assert len(storage.list(OUTBOX)) == 1
    assert client.pending_writes == 1
    assert client.flush() == 1
    assert storage.list(ENTITIES) == [f"{ENTITIES}Todo/{todo['id']}"]
    assert storage.list(OUTBOX) == []
    assert client.flush() == 0
    client.dispose()


def test_store_default_strategy_comes_from_configure() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    client.configure("Log", write_strategy="queue")
    client.stores.Log.add_one({"line": "x"})
    client.stores.Log.add_one({"line": "y"}, write_strategy="direct")
    # The direct write drained the queue first, so storage holds both in order.
    assert len(storage.list(f"{ENTITIES}Log/")) == 2
    assert storage.list(OUTBOX) == []
    client.dispose()


def test_background_flusher_drains_the_outbox() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=0.02)
    client.stores.Todo.add_many([{"n": i} for i in range(5)], write_strategy="queue")
    deadline = time.monotonic() + 5
    while storage.list(OUTBOX) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert storage.list(OUTBOX) == []
    assert len(storage.list(ENTITIES)) == 5
    client.dispose()


def test_dispose_flushes_queued_writes() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    client.stores.Todo.add_one({"n": 1}, write_strategy="queue")
    client.dispose()
    assert len(storage.list(ENTITIES)) == 1
    assert storage.list(OUTBOX) == []


def test_unknown_strategy_is_a_clear_error_and_changes_nothing() -> None:
    client = create_client(flush_interval=None)
    with pytest.raises(UnknownWriteStrategyError, match=r"'later'.*registered: direct, queue"):
        client.stores.Todo.add_one({"n": 1}, write_strategy="later")
    assert client.stores.Todo.count() == 0
    with pytest.raises(UnknownWriteStrategyError):
        client.configure("Todo", write_strategy="later")
    client.dispose()


def test_custom_strategy_receives_the_changes_and_decides() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    seen: list[tuple[str, list[str]]] = []

    def audited(context: WriteContext) -> None:
        seen.append((context.strategy, [c.operation for c in context.changes]))
        context.persist()

    client.register_write_strategy("audited", audited)
    client.register_write_strategy("memory", lambda context: None)
    todo = client.stores.Todo.add_one({"n": 1}, write_strategy="audited")
    client.stores.Todo.add_one({"n": 2}, write_strategy="memory")
    assert seen == [("audited", ["add"])]
    assert storage.list(ENTITIES) == [f"{ENTITIES}Todo/{todo['id']}"]
    assert client.stores.Todo.count() == 2
    client.dispose()


def test_failing_direct_write_raises_and_changes_nothing_in_memory() -> None:
    storage = FlakyStorage()
    client = create_client(storage, flush_interval=None)
    todo = client.stores.Todo.add_one({"n": 1})
    storage.failing = True
    with pytest.raises(PersistenceError, match="nothing changed") as info:
        client.stores.Todo.update_one(todo["id"], {"n": 2})
    assert isinstance(info.value.__cause__, OSError)
    stored = client.stores.Todo.get_one(todo["id"])
    assert stored is not None
    assert stored["n"] == 1
    client.dispose()


def test_batch_groups_writes_by_strategy_and_persists_each_group_once() -> None:
    storage = FlakyStorage()
    client = create_client(storage, flush_interval=None)
    seen: list[StoreChange] = []
    client.stores.Todo.subscribe(seen.append)
    with client.batch():
        a = client.stores.Todo.add_one({"n": 1})
        client.stores.Todo.update_one(a["id"], {"n": 2})
        client.stores.Note.add_one({"text": "q"}, write_strategy="queue")
        assert seen == []  # listeners run after the batch committed
        assert storage.list(ENTITIES) == []
    assert storage.write_many_calls == 1
    assert len(storage.list(f"{ENTITIES}Todo/")) == 1
    assert client.pending_writes == 1
    assert [c.operation for c in seen] == ["add", "update"]
    assert [c.strategy for c in seen] == ["direct", "direct"]
    client.dispose()


def test_listeners_see_the_strategy_each_write_used() -> None:
    client = create_client(MemoryStorage(), flush_interval=None)
    seen: list[StoreChange] = []
    client.stores.Todo.subscribe(seen.append)
    client.configure("Todo", write_strategy="queue")
    first = client.stores.Todo.add_one({"n": 1})
    client.stores.Todo.update_one(first["id"], {"n": 2}, write_strategy="direct")
    assert [(c.operation, c.strategy, c.remote) for c in seen] == [
        ("add", "queue", False),
        ("update", "direct", False),
    ]
    client.dispose()


def test_batch_persistence_failure_rolls_the_group_back_and_raises() -> None:
    storage = FlakyStorage()
    client = create_client(storage, flush_interval=None)
    kept = client.stores.Todo.add_one({"n": 0})
    seen: list[StoreChange] = []
    client.stores.Todo.subscribe(seen.append)
    storage.failing = True
    counts: list[int] = []

    def grouped_writes() -> None:
        with client.batch():
            client.stores.Todo.add_one({"n": 1})
            client.stores.Todo.update_one(kept["id"], {"n": 5})
            client.stores.Todo.delete_one(kept["id"])
            counts.append(client.stores.Todo.count())

    with pytest.raises(PersistenceError, match="'direct' group") as info:
        grouped_writes()
    assert counts == [1]  # reads inside the batch saw its writes
    assert isinstance(info.value.__cause__, OSError)
    assert [e["n"] for e in client.stores.Todo.get_all()] == [0]
    assert client.stores.Todo.get_one(kept["id"]) == kept
    assert seen == []
    assert len(client.history) == 1  # only the first add; nothing of the failed batch
    storage.failing = False
    client.dispose()


def test_a_failing_group_rolls_back_only_its_entities_while_other_groups_commit() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    todos = client.stores.Todo
    kept = todos.add_one({"n": 0})
    seen: list[StoreChange] = []
    todos.subscribe(seen.append)

    def broken(context: WriteContext) -> None:
        raise OSError("remote down")

    client.register_write_strategy("remote", broken)

    def mixed_batch() -> None:
        with client.batch():
            todos.update_one(kept["id"], {"n": 1}, write_strategy="remote")
            todos.add_one({"id": "fresh", "n": 2})  # direct
            todos.add_one({"id": "lost", "n": 3}, write_strategy="remote")

    with pytest.raises(PersistenceError, match="'remote' group") as info:
        mixed_batch()
    assert isinstance(info.value.__cause__, OSError)
    assert todos.get_one(kept["id"]) == kept  # the remote group rolled back in memory
    assert todos.get_one("lost") is None
    fresh = todos.get_one("fresh")
    assert fresh is not None  # the direct group committed, in memory and in storage
    assert storage.list(f"{ENTITIES}Todo/") == sorted(
        [f"{ENTITIES}Todo/fresh", f"{ENTITIES}Todo/{kept['id']}"]
    )
    assert [(c.operation, c.ids) for c in seen] == [("add", ("fresh",))]
    client.dispose()
    reopened = create_client(storage, flush_interval=None)
    assert [e["n"] for e in reopened.stores.Todo.get_all()] == [0, 2]
    reopened.dispose()


def test_exception_inside_a_batch_rolls_back_every_write() -> None:
    client = create_client(flush_interval=None)

    def failing_block() -> None:
        with client.batch():
            client.stores.Todo.add_one({"n": 1})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_block()
    assert client.stores.Todo.count() == 0
    assert client.storage.list(ENTITIES) == []
    client.dispose()


def test_a_batch_holds_other_threads_until_it_ends() -> None:
    client = create_client(flush_interval=None)
    order: list[str] = []
    with client.batch():
        client.stores.Todo.add_one({"n": 1})

        def other_writer() -> None:
            client.stores.Todo.add_one({"n": 2})
            order.append("thread")

        thread = threading.Thread(target=other_writer)
        thread.start()
        time.sleep(0.05)
        order.append("batch end")
    thread.join(5)
    assert order == ["batch end", "thread"]
    client.dispose()


@pytest.mark.parametrize("hydrate", ["lazy", "eager"])
def test_a_new_client_on_the_same_storage_sees_every_persisted_entity(hydrate: Any) -> None:
    storage = MemoryStorage()
    first = create_client(storage, flush_interval=None)
    a = first.stores.Todo.add_one({"title": "a"})
    first.stores.Todo.delete_one(a["id"])
    b = first.stores.Note.add_one({"title": "b"}, write_strategy="queue")  # never flushed
    second = create_client(storage, hydrate=hydrate, flush_interval=None)
    if hydrate == "eager":
        assert second.stores.__iter__() is not None
        assert second._store_names() == ["Note", "Todo"]
    else:
        assert second._store_names() == []
    assert second.stores.Note.get_one(b["id"]) == b
    assert second.stores.Todo.get_one(a["id"], include_deleted=True) is not None
    assert second.stores.Todo.get_one(a["id"]) is None
    assert second.pending_writes == 1  # the adopted outbox record
    second.flush()
    assert storage.list(OUTBOX) == []
    second.dispose()


def test_history_undo_and_redo_whole_writes() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    todos = client.stores.Todo
    assert not client.history.can_undo
    a = todos.add_one({"n": 1})
    todos.update_one(a["id"], {"n": 2})
    with client.batch():
        todos.add_one({"id": "b", "n": 10})
        todos.update_one(a["id"], {"n": 3})
    assert client.history.undo()  # the whole batch
    assert [e["n"] for e in todos.get_all()] == [2]
    assert client.history.undo()
    assert todos.get_one(a["id"])["n"] == 1  # type: ignore[index]
    assert client.history.can_redo
    assert client.history.redo()
    assert todos.get_one(a["id"])["n"] == 2  # type: ignore[index]
    assert client.history.undo()
    assert client.history.undo()
    assert todos.count() == 0
    assert len(client.history) == 0
    assert client.history.undo() is False
    assert storage.list(ENTITIES) == []  # undo is persisted too
    client.history.redo()
    assert todos.get_one(a["id"]) is not None
    todos.add_one({"n": 99})
    assert client.history.redo() is False  # a new write cleared the redo stack
    client.dispose()


def test_undo_notifies_subscribers() -> None:
    client = create_client(flush_interval=None)
    seen: list[StoreChange] = []
    client.stores.Todo.subscribe(seen.append)
    a = client.stores.Todo.add_one({"n": 1})
    client.history.undo()
    assert [(c.operation, c.ids) for c in seen] == [("add", (a["id"],)), ("undo", (a["id"],))]
    client.dispose()


def test_a_batch_never_reorders_one_entitys_writes_across_strategy_groups() -> None:
    # Found by the model test: queue(add b), direct(force delete a), queue(add a) in one batch.
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    client.stores.Todo.add_one({"id": "a", "n": 0})
    with client.batch():
        client.stores.Todo.add_one({"id": "b", "n": 0}, write_strategy="queue")
        client.stores.Todo.delete_one("a", force=True)
        client.stores.Todo.add_one({"id": "a", "n": 1}, write_strategy="queue")
    client.dispose()
    fresh = create_client(storage, flush_interval=None)
    assert {e["id"]: e["n"] for e in fresh.stores.Todo.get_all()} == {"a": 1, "b": 0}
    fresh.dispose()


def test_custom_strategy_sees_one_coalesced_change_per_entity_in_a_batch() -> None:
    client = create_client(flush_interval=None)
    seen: list[tuple[str, Any, Any]] = []

    def record(context: WriteContext) -> None:
        seen.extend((c.id, c.before, (c.after or {}).get("n")) for c in context.changes)

    client.register_write_strategy("record", record)
    with client.batch():
        client.stores.Todo.add_one({"id": "x", "n": 1}, write_strategy="record")
        client.stores.Todo.update_one("x", {"n": 2}, write_strategy="record")
        client.stores.Todo.add_one({"id": "gone", "n": 1}, write_strategy="record")
        client.stores.Todo.delete_one("gone", force=True, write_strategy="record")
    assert seen == [("x", None, 2)]
    client.dispose()
