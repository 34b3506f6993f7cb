"""Entity stores: writes, reads, soft/force delete, ids, subscriptions, events, dispose."""

from __future__ import annotations

from typing import Any

import pytest

from atomiton.storage import MemoryStorage, StorageClosedError
from atomiton.store import (
    ClientDisposedError,
    DuplicateEntityError,
    EntityClient,
    EntityNotFoundError,
    EntityStoreError,
    InvalidEntityIdError,
    PersistenceError,
    StoreChange,
    create_client,
)


class RecordingBus:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any, str]] = []

    def emit(self, type: str, data: Any, /, *, source: str) -> None:
        self.events.append((type, data, source))


@pytest.fixture
def client() -> Any:
    c = create_client(flush_interval=None)
    yield c
    c.dispose()


def test_stores_attribute_and_call_return_the_same_cached_facade(client: EntityClient) -> None:
    assert client.stores.Todo is client.stores("Todo")
    assert client.stores.Todo is not client.stores.Note
    assert client.stores.Todo.__slots__ == ("_client", "name")


def test_facade_state_lives_in_one_handle_table_keyed_by_client_and_store(
    client: EntityClient,
) -> None:
    client.stores.Todo.add_one({"title": "a"})
    client.stores.Note.add_one({"title": "b"})
    assert sorted(client._handles) == [f"{client.id}:Note", f"{client.id}:Todo"]


def test_invalid_store_name_is_a_clear_error(client: EntityClient) -> None:
    with pytest.raises(InvalidEntityIdError, match="store name 'bad/name'"):
        client.stores("bad/name")
    with pytest.raises(AttributeError):
        client.stores._private  # noqa: B018


def test_add_one_returns_entity_with_bookkeeping_fields(client: EntityClient) -> None:
    todo = client.stores.Todo.add_one({"title": "write docs", "priority": 2})
    assert todo["title"] == "write docs"
    assert todo["priority"] == 2
    assert todo["version"] == 1
    assert todo["created_at"] == todo["updated_at"]
    assert todo["deleted"] is False
    assert len(todo["id"]) == 26
    assert client.stores.Todo.get_one(todo["id"]) == todo


def test_given_id_is_kept_and_a_duplicate_is_an_error(client: EntityClient) -> None:
    todos = client.stores.Todo
    assert todos.add_one({"id": "t-1", "title": "a"})["id"] == "t-1"
    with pytest.raises(DuplicateEntityError, match="t-1"):
        todos.add_one({"id": "t-1", "title": "b"})
    with pytest.raises(DuplicateEntityError):
        todos.add_many([{"id": "x"}, {"id": "x"}])
    assert todos.get_one("x") is None  # add_many is all or nothing


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x\n", "x\x85", "x\ud800", 7, "x" * 129])
def test_bad_entity_ids_are_rejected_naming_the_id(client: EntityClient, bad: Any) -> None:
    with pytest.raises(InvalidEntityIdError, match="entity id"):
        client.stores.Todo.add_one({"id": bad})


def test_returned_entities_are_copies(client: EntityClient) -> None:
    item: dict[str, Any] = {"title": "a", "tags": ["x"]}
    todo = client.stores.Todo.add_one(item)
    item["tags"].append("y")
    todo["title"] = "changed"
    stored = client.stores.Todo.get_one(todo["id"])
    assert stored is not None
    assert stored["title"] == "a"
    assert stored["tags"] == ["x"]


def test_update_one_merges_fields_and_bumps_version(client: EntityClient) -> None:
    todos = client.stores.Todo
    todo = todos.add_one({"title": "a", "done": False})
    updated = todos.update_one(todo["id"], {"done": True})
    assert updated["done"] is True
    assert updated["title"] == "a"
    assert updated["version"] == 2
    assert updated["created_at"] == todo["created_at"]
    assert updated["updated_at"] >= todo["updated_at"]


def test_update_one_accepts_a_function_of_the_current_entity(client: EntityClient) -> None:
    todos = client.stores.Todo
    todo = todos.add_one({"count": 1})
    assert todos.update_one(todo["id"], lambda cur: {"count": cur["count"] + 1})["count"] == 2


def test_update_function_returns_the_new_entity_so_it_can_drop_fields(
    client: EntityClient,
) -> None:
    todos = client.stores.Todo
    todo = todos.add_one({"title": "a", "draft": True})
    updated = todos.update_one(
        todo["id"], lambda cur: {k: v for k, v in cur.items() if k != "draft"}
    )
    assert "draft" not in updated
    assert updated["title"] == "a"
    assert updated["version"] == 2
    assert updated["created_at"] == todo["created_at"]


def test_update_missing_entity_raises_not_found(client: EntityClient) -> None:
    with pytest.raises(EntityNotFoundError, match="nope"):
        client.stores.Todo.update_one("nope", {"a": 1})


def test_update_many_accepts_dicts_with_ids_and_pairs(client: EntityClient) -> None:
    todos = client.stores.Todo
    a, b = todos.add_many([{"n": 1}, {"n": 2}])
    result = todos.update_many([{"id": a["id"], "n": 10}, (b["id"], {"n": 20})])
    assert [e["n"] for e in result] == [10, 20]
    assert [e["n"] for e in todos.get_many([b["id"], a["id"]])] == [20, 10]


def test_client_cannot_overwrite_bookkeeping_fields(client: EntityClient) -> None:
    todos = client.stores.Todo
    todo = todos.add_one({"title": "a", "version": 99, "deleted": True})
    assert todo["version"] == 1
    assert todo["deleted"] is False


def test_upsert_adds_then_merges(client: EntityClient) -> None:
    todos = client.stores.Todo
    first = todos.upsert_one({"id": "u1", "title": "a"})
    second = todos.upsert_one({"id": "u1", "done": True})
    assert first["version"] == 1
    assert second == {**second, "title": "a", "done": True, "version": 2}
    many = todos.upsert_many([{"id": "u1", "title": "b"}, {"id": "u2", "title": "c"}])
    assert [e["version"] for e in many] == [3, 1]


def test_soft_delete_hides_the_entity_but_keeps_it(client: EntityClient) -> None:
    todos = client.stores.Todo
    todo = todos.add_one({"title": "a"})
    assert todos.delete_one(todo["id"]) is True
    assert todos.get_one(todo["id"]) is None
    kept = todos.get_one(todo["id"], include_deleted=True)
    assert kept is not None
    assert kept["deleted"] is True
    assert kept["deleted_at"] is not None
    assert todos.delete_one(todo["id"]) is False  # already soft-deleted
    assert todos.get_all() == []
    assert len(todos.get_all(include_deleted=True)) == 1


def test_force_delete_removes_the_entity(client: EntityClient) -> None:
    todos = client.stores.Todo
    todo = todos.add_one({"title": "a"})
    assert todos.delete_one(todo["id"], force=True) is True
    assert todos.get_one(todo["id"], include_deleted=True) is None
    assert client.storage.list("atomiton/store/entities/Todo/") == []
    assert todos.delete_one(todo["id"], force=True) is False


def test_delete_many_counts_what_changed(client: EntityClient) -> None:
    todos = client.stores.Todo
    ids = [e["id"] for e in todos.add_many([{"n": i} for i in range(3)])]
    assert todos.delete_many([*ids[:2], "missing"]) == 2
    assert todos.count() == 1
    assert todos.count(include_deleted=True) == 3


def test_upsert_revives_a_soft_deleted_entity(client: EntityClient) -> None:
    todos = client.stores.Todo
    todos.add_one({"id": "r", "title": "a"})
    todos.delete_one("r")
    revived = todos.upsert_one({"id": "r", "title": "b"})
    assert revived["deleted"] is False
    assert todos.get_one("r") is not None


def test_values_json_cannot_store_are_rejected_before_anything_changes(
    client: EntityClient,
) -> None:
    with pytest.raises(EntityStoreError, match="cannot be stored as JSON"):
        client.stores.Todo.add_one({"when": object()})
    assert client.stores.Todo.count() == 0


def test_non_dict_items_are_a_clear_error(client: EntityClient) -> None:
    with pytest.raises(EntityStoreError, match="takes dicts"):
        client.stores.Todo.add_one(["not", "a", "dict"])  # type: ignore[arg-type]


def test_subscribe_is_called_after_every_committed_write_until_unsubscribed(
    client: EntityClient,
) -> None:
    todos = client.stores.Todo
    seen: list[StoreChange] = []
    unsubscribe = todos.subscribe(seen.append)
    todo = todos.add_one({"title": "a"})
    todos.update_one(todo["id"], {"title": "b"})
    todos.delete_one(todo["id"])
    unsubscribe()
    todos.add_one({"title": "c"})
    assert [(c.operation, c.ids) for c in seen] == [
        ("add", (todo["id"],)),
        ("update", (todo["id"],)),
        ("delete", (todo["id"],)),
    ]
    assert all(c.store == "Todo" for c in seen)


def test_a_raising_listener_does_not_stop_the_others_and_the_write_stays(
    client: EntityClient,
) -> None:
    todos = client.stores.Todo
    seen: list[StoreChange] = []

    def broken(change: StoreChange) -> None:
        raise RuntimeError("listener bug")

    todos.subscribe(broken)
    todos.subscribe(seen.append)
    with pytest.raises(ExceptionGroup) as info:
        todos.add_one({"title": "a"})
    assert isinstance(info.value.exceptions[0], RuntimeError)
    assert len(seen) == 1
    assert todos.count() == 1


def test_store_changed_events_use_the_shared_payload() -> None:
    bus = RecordingBus()
    client = create_client(events=bus, flush_interval=None)
    todo = client.stores.Todo.add_one({"title": "a"})
    client.stores.Todo.delete_one(todo["id"], force=True)
    assert bus.events == [
        ("store.changed", {"store": "Todo", "operation": "add", "ids": [todo["id"]]}, "store"),
        ("store.changed", {"store": "Todo", "operation": "delete", "ids": [todo["id"]]}, "store"),
    ]
    client.dispose()


def test_a_failing_event_emitter_does_not_silence_the_other_stores_listeners() -> None:
    class BrokenBus:
        def emit(self, type: str, data: Any, /, *, source: str) -> None:
            raise RuntimeError("bus down")

    client = create_client(events=BrokenBus(), flush_interval=None)
    seen: list[StoreChange] = []
    client.stores.B.subscribe(seen.append)

    def write_both() -> None:
        with client.batch():
            client.stores.A.add_one({"n": 1})
            client.stores.B.add_one({"n": 2})

    with pytest.raises(ExceptionGroup) as info:
        write_both()
    assert [str(e) for e in info.value.exceptions] == ["bus down", "bus down"]
    assert [c.store for c in seen] == ["B"]
    assert client.stores.A.count() == client.stores.B.count() == 1  # committed all the same
    client.dispose()


def test_dispose_is_idempotent_and_later_use_is_a_clear_error() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    client.stores.Todo.add_one({"title": "a"})
    client.dispose()
    client.dispose()
    assert client.is_disposed
    with pytest.raises(ClientDisposedError):
        client.stores.Todo.get_all()
    assert len(storage) == 1  # a storage we were given is left open and intact
    assert storage.read_many(storage.list()) != {}


def test_client_owned_memory_storage_is_closed_on_dispose() -> None:
    client = create_client(flush_interval=None)
    storage = client.storage
    assert isinstance(storage, MemoryStorage)  # the default is atomiton.storage's
    client.dispose()
    with pytest.raises(StorageClosedError):
        storage.read("x")


def test_a_storage_failure_on_write_is_the_store_s_persistence_error() -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    client.stores.Todo.add_one({"id": "a"})
    storage.close()  # closed under the client: the next write cannot persist
    with pytest.raises(PersistenceError) as caught:
        client.stores.Todo.add_one({"id": "b"})
    assert isinstance(caught.value.__cause__, StorageClosedError)
    assert client.stores.Todo.get_one("b") is None  # rolled back in memory
    client.dispose()


def test_context_manager_disposes() -> None:
    with create_client(flush_interval=None) as client:
        client.stores.Todo.add_one({})
    assert client.is_disposed


def test_memory_holds_what_a_new_client_would_hydrate(client: EntityClient) -> None:
    item: dict[Any, Any] = {"pair": (1, 2), 3: "three", "nested": {"t": (4,)}}
    todo = client.stores.Todo.add_one(item)
    assert todo["pair"] == [1, 2]
    assert todo["3"] == "three"
    assert todo["nested"] == {"t": [4]}
    again = create_client(client.storage, flush_interval=None)
    assert again.stores.Todo.get_one(todo["id"]) == todo
    again.dispose()
