"""The async entity API: ``aadd_one`` ... ``afind_many``, ``aflush``, ``aclose`` (issue 20).

Every twin runs its sync method in a worker thread: the tests drive them over a storage that
sleeps 100 ms per call while a heartbeat task on the event loop must keep ticking (the same
calls made synchronously stall it, which shows the check can fail), and check that results,
errors (the same classes), write strategies, batches and undo/redo behave as the sync ones.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, assert_type

import pytest

from atomiton.storage import MemoryStorage
from atomiton.store import (
    ClientDisposedError,
    DuplicateEntityError,
    EntityClient,
    EntityNotFoundError,
    EntityStore,
    Page,
    PersistenceError,
    QueryError,
    SchemaValidationError,
    create_client,
)

# A stall of the loop is DELAY per storage call; the bound leaves half of it for a loaded
# machine's scheduling noise (a 20 ms bound failed under load average 8).
DELAY = 0.1
MAX_GAP = DELAY / 2


class SlowStorage:
    """A real ``MemoryStorage`` behind a 100 ms sleep per call (a remote database's round trip)."""

    def __init__(self) -> None:
        self.inner = MemoryStorage()
        self.calls = 0
        self.fail_writes = False

    def _wait(self) -> None:
        self.calls += 1
        time.sleep(DELAY)

    def read(self, key: str, /) -> bytes | None:
        self._wait()
        return self.inner.read(key)

    def write(self, key: str, data: bytes, /) -> None:
        self._wait()
        if self.fail_writes:
            raise OSError("disk full")
        self.inner.write(key, data)

    def delete(self, key: str, /) -> bool:
        self._wait()
        return self.inner.delete(key)

    def list(self, prefix: str = "", /) -> list[str]:
        self._wait()
        return self.inner.list(prefix)

    def read_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        self._wait()
        return self.inner.read_many(keys)

    def write_many(self, items: Mapping[str, bytes], /) -> None:
        self._wait()
        if self.fail_writes:
            raise OSError("disk full")
        self.inner.write_many(items)

    def delete_many(self, keys: Iterable[str], /) -> int:
        self._wait()
        return self.inner.delete_many(keys)

    def close(self) -> None:
        self.inner.close()


class Heartbeat:
    """A task ticking every 2 ms on the loop; ``max_gap`` is the longest it was kept waiting."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            self.max_gap = max(self.max_gap, now - last)
            self.ticks += 1
            last = now

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.ensure_future(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()


@pytest.fixture
def slow() -> Iterator[SlowStorage]:
    storage = SlowStorage()
    yield storage
    storage.close()


def test_every_entity_operation_has_an_async_twin() -> None:
    public = {
        name
        for name, member in vars(EntityStore).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    not_operations = {"subscribe", "watch_many", "query_atom"}
    twins = {n for n in public if n.startswith("a") and n[1:] in public}
    operations = public - twins - not_operations
    assert len(operations) == 13  # add/update/upsert/delete one/many, get one/many/all, ...
    for name in sorted(operations):
        assert inspect.iscoroutinefunction(getattr(EntityStore, f"a{name}")), name
        # The same parameters as the sync method.
        sync = inspect.signature(getattr(EntityStore, name))
        twin = inspect.signature(getattr(EntityStore, f"a{name}"))
        assert twin.parameters == sync.parameters, name
    for name in ("flush", "close", "reconcile"):
        assert inspect.iscoroutinefunction(getattr(EntityClient, f"a{name}"))
    assert EntityClient.aclose.__name__ == "aclose"
    assert "Async twin of ``add_one``" in (EntityStore.aadd_one.__doc__ or "")


def _warm_up() -> None:
    """Run each operation once on fast storage: a module imported (and, on a cold cache,
    compiled) for the first time inside a worker thread holds the GIL, which is not storage I/O.
    """
    with create_client(flush_interval=None) as client:
        todos = client.stores.Todo
        added = todos.add_one({"title": "a"})
        todos.update_one(added["id"], {"n": 1})
        todos.upsert_one({"id": "x"})
        todos.find_many(order_by="title")
        todos.delete_many([added["id"]], force=True)
        client.history.undo()


def test_async_writes_never_block_the_loop_on_storage(slow: SlowStorage) -> None:
    _warm_up()
    client = create_client(slow, flush_interval=None)
    todos = client.stores.Todo

    async def main() -> None:
        async with Heartbeat() as beat:
            added = await todos.aadd_one({"title": "a", "n": 1})  # hydrates, then writes
            more = await todos.aadd_many([{"title": "b", "n": 2}, {"title": "c", "n": 3}])
            await todos.aupdate_one(added["id"], {"n": 10})
            await todos.aupdate_many([(more[0]["id"], {"n": 20})])
            await todos.aupsert_one({"id": "fixed", "title": "d"})
            await todos.aupsert_many([{"id": "fixed", "n": 4}])
            assert await todos.adelete_one(more[1]["id"]) is True
            assert await todos.adelete_many([added["id"]], force=True) == 1
            # Several at once: each in its own thread, serialised by the client's lock.
            await asyncio.gather(*(todos.aadd_one({"title": f"g{i}"}) for i in range(4)))
            page = await todos.afind_many(order_by="title")
            assert await todos.aget_one("fixed") == todos.get_one("fixed")
            assert await todos.aget_many(["fixed"]) == todos.get_many(["fixed"])
            assert await todos.aget_all() == todos.get_all()
            assert await todos.acount() == 6
            assert await client.history.aundo() is True
            assert await client.history.aredo() is True
        assert [e["title"] for e in page.data] == ["b", "d", "g0", "g1", "g2", "g3"]
        assert slow.calls >= 12  # the writes did reach the slow storage
        assert beat.ticks > 100
        assert beat.max_gap < MAX_GAP, f"the loop stalled for {beat.max_gap * 1000:.1f} ms"
        await client.aclose()

    asyncio.run(main())


def test_the_same_calls_made_sync_do_stall_the_loop(slow: SlowStorage) -> None:
    """The control: the heartbeat check fails when storage I/O runs on the loop."""
    client = create_client(slow, flush_interval=None)

    async def main() -> None:
        async with Heartbeat() as beat:
            await asyncio.sleep(0.01)
            client.stores.Todo.add_one({"title": "a"})
            await asyncio.sleep(0.01)
        assert beat.max_gap >= DELAY

    asyncio.run(main())
    client.dispose()


def test_queue_strategy_and_aflush_and_async_with(slow: SlowStorage) -> None:
    async def main() -> None:
        async with create_client(slow, flush_interval=None) as client:
            todos = client.stores.Todo
            async with Heartbeat() as beat:
                await todos.aadd_many([{"title": "q1"}, {"title": "q2"}], write_strategy="queue")
                pending = client.pending_writes
                assert pending >= 1
                assert await client.aflush() == pending
                assert client.pending_writes == 0
            assert beat.max_gap < MAX_GAP
        assert client.is_disposed
        reopened = create_client(slow, flush_interval=None)
        assert sorted(e["title"] for e in reopened.stores.Todo.get_all()) == ["q1", "q2"]
        reopened.dispose()

    asyncio.run(main())


def test_errors_are_the_sync_ones(slow: SlowStorage) -> None:
    client = create_client(slow, flush_interval=None)
    client.configure("Typed", schema=_Typed)
    todos = client.stores.Todo

    async def main() -> None:
        first = await todos.aadd_one({"id": "one", "title": "a"})
        with pytest.raises(DuplicateEntityError):
            await todos.aadd_one({"id": "one"})
        with pytest.raises(EntityNotFoundError):
            await todos.aupdate_one("missing", {"x": 1})
        with pytest.raises(QueryError):
            await todos.afind_many({"title": {"nope": 1}})
        with pytest.raises(SchemaValidationError):
            await client.stores.Typed.aadd_one({"n": "not an int"})
        slow.fail_writes = True
        with pytest.raises(PersistenceError) as caught:
            await todos.aupdate_one(first["id"], {"title": "b"})
        assert isinstance(caught.value.__cause__, OSError)
        slow.fail_writes = False
        assert todos.get_one("one")["title"] == "a"  # type: ignore[index]
        await client.aclose()
        with pytest.raises(ClientDisposedError):
            await todos.acount()

    asyncio.run(main())


@dataclass
class _Typed:
    n: int


def test_twins_inside_a_batch_run_inline_and_join_it() -> None:
    client = create_client(flush_interval=None)
    todos = client.stores.Todo
    changes: list[Any] = []
    todos.subscribe(changes.append)

    async def main() -> None:
        with client.batch():
            # A worker thread would wait for the batch's lock: the twin runs inline instead.
            a = await asyncio.wait_for(todos.aadd_one({"title": "a"}), 2)
            await todos.aupdate_one(a["id"], {"title": "a2"})
            assert await todos.acount() == 1
            assert changes == []  # listeners wait for the batch's end
        assert len(changes) == 2
        assert todos.get_all()[0]["title"] == "a2"
        with pytest.raises(RuntimeError):
            await _failing_batch(client)
        assert todos.count() == 1  # the failed batch rolled back

    asyncio.run(main())
    client.dispose()


async def _failing_batch(client: EntityClient) -> None:
    with client.batch():
        await client.stores.Todo.aadd_one({"title": "rolled back"})
        raise RuntimeError("boom")


async def _types(client: EntityClient) -> None:
    todos = client.stores.Todo
    assert_type(await todos.aadd_one({"a": 1}), dict[str, Any])
    assert_type(await todos.aadd_many([{"a": 1}]), list[dict[str, Any]])
    assert_type(await todos.adelete_one("x", force=True), bool)
    assert_type(await todos.adelete_many(["x"]), int)
    assert_type(await todos.aget_one("x"), dict[str, Any] | None)
    assert_type(await todos.afind_many({"a": 1}, limit=2), Page)
    assert_type(await todos.acount(include_deleted=True), int)
    assert_type(await client.aflush(), int)
    assert_type(await client.aclose(), None)
    assert_type(await client.history.aundo(), bool)


def test_assert_type_checks_run() -> None:
    client = create_client(flush_interval=None)
    asyncio.run(_types(client))
    assert client.is_disposed


class _DeafBus:
    """A sync bus that loses every event: only reconciling brings other writes in."""

    def emit(self, type: str, data: Any, /, *, source: str) -> object:
        return None

    def on(self, pattern: str, handler: Any, /) -> Any:
        return lambda: None


def test_areconcile_reads_what_was_missed() -> None:
    storage = MemoryStorage()
    options: dict[str, Any] = {"flush_interval": None, "reconcile_interval": None}
    here = create_client(storage, sync=_DeafBus(), **options)
    there = create_client(storage, sync=_DeafBus(), **options)
    assert here.stores.Todo.count() == 0  # hydrated before the other write

    async def main() -> None:
        await there.stores.Todo.aadd_one({"title": "missed"})
        assert await here.stores.Todo.acount() == 0
        assert await here.areconcile() == 1
        assert await here.stores.Todo.acount() == 1

    asyncio.run(main())
    here.dispose()
    there.dispose()
    storage.close()
