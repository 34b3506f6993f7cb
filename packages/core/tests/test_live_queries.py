"""Entity live queries: ``watch_many`` keeps a ``find_many`` result current (issue 20).

The core check is differential: under seeded random writes (adds, updates, soft and forced
deletes, upserts reviving deleted entities, batches, rolled-back batches, undo/redo) every live
result must equal ``find_many`` run afresh, for indexed and unindexed ``where``, several
``order_by`` (None values, mixed types, descending), ``limit``/``offset`` windows and
``include_deleted``. The other tests pin the cost rules (an unrelated write wakes nobody and
runs no query; a window is refilled only when it must be, through the index) and the async
iterator's life: conflation, break, cancellation, dispose, other threads, remote changes.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from atomiton.storage import MemoryStorage
from atomiton.store import (
    EntityClient,
    EntityStore,
    LiveWatch,
    Page,
    QueryError,
    create_client,
    create_store,
)
from atomiton.store._entities._live import LiveQuery

QUERIES: list[dict[str, Any]] = [
    {"where": {"status": "open"}},
    {"where": {"status": "open"}, "order_by": "p", "limit": 5},
    {"where": {"status": {"in": ["open", "late"]}}, "order_by": [("p", "desc"), "title"]},
    {"where": {"rank": {"gte": 2, "lt": 7}}, "order_by": ("rank", "desc"), "limit": 4, "offset": 2},
    {"where": {"status": "open", "rank": {"lt": 5}}, "order_by": ["mixed", "p"], "limit": 3},
    {"where": None, "order_by": "p", "limit": 6},
    {"where": None},
    {"where": {"$or": [{"status": "late"}, {"p": {"is_null": True}}]}, "order_by": "title"},
    {"where": {"status": "open"}, "include_deleted": True, "order_by": "rank", "limit": 8},
    {"where": {"status": "open"}, "limit": 0},
    {"where": None, "order_by": [("mixed", "desc"), ("p", "desc")], "limit": 7, "offset": 3},
    {"where": {"status": {"ne": "done"}}, "order_by": [("status", "desc"), "mixed"]},
    {"where": {"title": {"starts_with": "t1"}}, "order_by": ("p", "desc"), "limit": 2, "offset": 1},
]


def _ids(query: dict[str, Any]) -> str:
    return repr(sorted(query.items()))[:60]


@pytest.fixture
def client() -> Iterator[EntityClient]:
    c = create_client(flush_interval=None)
    yield c
    c.dispose()


def _item(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "title": f"t{n}",
        "status": rng.choice(["open", "open", "done", "late", None]),
        "p": rng.choice([0, 1, 2, 3, None]),
        "rank": rng.randrange(10),
        "mixed": rng.choice([1, "a", None, 2.5, "b"]),
    }


def _random_writes(
    store: EntityStore, client: EntityClient, rng: random.Random, steps: int
) -> Iterator[None]:
    """Yield after each of ``steps`` random writes to ``store``."""
    for step in range(steps):
        n = step * 10
        everything = store.get_all(include_deleted=True)
        ids = [e["id"] for e in everything]
        live_ids = [e["id"] for e in everything if not e["deleted"]]
        dead_ids = [e["id"] for e in everything if e["deleted"]]
        op = rng.random()
        if op < 0.25 or not live_ids:
            store.add_many([_item(rng, n + k) for k in range(rng.randrange(1, 4))])
        elif op < 0.55:
            changes = {k: v for k, v in _item(rng, n).items() if rng.random() < 0.5}
            store.update_one(rng.choice(live_ids), changes)
        elif op < 0.62:
            store.delete_one(rng.choice(live_ids))
        elif op < 0.67:
            store.delete_one(rng.choice(ids), force=True)
        elif op < 0.72 and dead_ids:
            store.upsert_one({"id": rng.choice(dead_ids), "status": "open"})
        elif op < 0.82:
            with client.batch():
                store.add_one(_item(rng, n))
                store.update_one(rng.choice(live_ids), {"status": "open", "p": None})
                store.update_many([(i, {"rank": rng.randrange(10)}) for i in live_ids[:3]])
        elif op < 0.87:
            with pytest.raises(RuntimeError):
                _rolled_back(store, client, rng.choice(live_ids))
        elif op < 0.94:
            client.history.undo()
        else:
            client.history.redo()
        yield


def _rolled_back(store: EntityStore, client: EntityClient, entity_id: str) -> None:
    with client.batch():
        store.update_one(entity_id, {"status": "late", "rank": 0})
        raise RuntimeError("roll back")


@dataclass
class Recorder:
    """Records what a live query's listener receives, as the watch and the atom get it."""

    pages: list[tuple[int, Page | None]]

    def __call__(self, version: int, page: Page | None) -> None:
        self.pages.append((version, page))


def _open(client: EntityClient, store: str, **query: Any) -> tuple[LiveQuery, Recorder]:
    live = LiveQuery(
        store,
        query.get("where"),
        query.get("order_by"),
        query.get("limit"),
        query.get("offset", 0),
        query.get("include_deleted", False),
    )
    recorder = Recorder([])
    live.listeners = (recorder,)
    assert client._live.open(live) is not None
    return live, recorder


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "scan"])
@pytest.mark.parametrize("query", QUERIES, ids=_ids)
def test_live_result_equals_find_many_under_random_writes(
    client: EntityClient, query: dict[str, Any], indexed: bool
) -> None:
    if indexed:
        client.configure("Todo", indexes=["status", "rank", "title"])
    todos = client.stores.Todo
    rng = random.Random(hash(_ids(query)) % 1000 + indexed)
    todos.add_many([_item(rng, -k) for k in range(25)])
    live, recorder = _open(client, "Todo", **query)
    for _ in _random_writes(todos, client, rng, 250):
        expected = todos.find_many(**query)
        assert live.page == expected
        # Told exactly when the result changed, with that result.
        if recorder.pages:
            assert recorder.pages[-1][1] is live.page
    assert len(recorder.pages) < 250  # writes that did not touch the result told nobody


def test_an_unrelated_write_wakes_nobody_and_runs_no_query(
    client: EntityClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.configure("Todo", indexes=["status"])
    todos = client.stores.Todo
    todos.add_many([{"title": f"t{i}", "status": "open" if i < 10 else "done"} for i in range(100)])
    live, recorder = _open(client, "Todo", where={"status": "open"}, order_by="title", limit=5)
    builds: list[int] = []
    original = LiveQuery.build

    def counted_build(self: LiveQuery, handle: Any) -> None:
        builds.append(1)
        original(self, handle)

    monkeypatch.setattr(LiveQuery, "build", counted_build)
    version = live.version
    done = todos.find_many({"status": "done"}).data
    todos.update_one(done[0]["id"], {"title": "still done"})
    todos.add_one({"title": "another", "status": "done"})
    todos.delete_one(done[1]["id"])
    assert recorder.pages == []
    assert live.version == version
    assert builds == []
    # An entity past the window that still matches: total and data unchanged, nobody told.
    past = todos.find_many({"status": "open"}, order_by="title").data[-1]
    todos.update_one(past["id"], {"note": "x"})
    assert recorder.pages == []
    # A relevant write: told once, incrementally (no query run).
    todos.add_one({"title": "a first", "status": "open"})
    assert len(recorder.pages) == 1
    assert recorder.pages[0][1] is not None
    assert recorder.pages[0][1].data[0]["title"] == "a first"
    assert recorder.pages[0][1].total == 11
    assert builds == []


def test_a_window_is_refilled_only_when_it_must_be_and_through_the_index(
    client: EntityClient,
) -> None:
    client.configure("Todo", indexes=["status"])
    todos = client.stores.Todo
    todos.add_many(
        [{"title": f"t{i:03}", "status": "open" if i % 100 == 0 else "done"} for i in range(1000)]
    )
    live, _recorder = _open(client, "Todo", where={"status": "open"}, order_by="title", limit=3)
    assert [e["title"] for e in live.page.data] == ["t000", "t100", "t200"]
    tested: list[str] = []
    predicate = live.predicate
    assert predicate is not None

    def counting(entity: Any) -> bool:
        tested.append(entity["id"])
        return predicate(entity)

    live.predicate = counting
    # Moving inside the window and entering it from past it: no refill.
    first = live.page.data[0]["id"]
    todos.update_one(first, {"title": "t150"})
    assert [e["title"] for e in live.page.data] == ["t100", "t150", "t200"]
    todos.update_one(todos.find_many({"title": "t900"}).data[0]["id"], {"title": "t050"})
    assert [e["title"] for e in live.page.data] == ["t050", "t100", "t150"]
    assert live.refills == 0
    # Leaving a full window with matches beyond it: one refill, testing only indexed candidates.
    tested.clear()
    todos.update_one(first, {"status": "done"})
    assert live.refills == 1
    assert [e["title"] for e in live.page.data] == ["t050", "t100", "t200"]
    assert live.page.total == 9
    assert len(tested) <= 10  # the 9 open entities (+ the changed one), not 1000


def test_results_share_unchanged_entity_copies_and_never_the_stored_dicts(
    client: EntityClient,
) -> None:
    todos = client.stores.Todo
    a, b = todos.add_many([{"title": "a", "n": 1}, {"title": "b", "n": 2}])
    live, _recorder = _open(client, "Todo", order_by="title")
    first = live.page
    todos.update_one(b["id"], {"n": 3})
    second = live.page
    assert second.data[0] is first.data[0]  # a did not change: same copy
    assert second.data[1] is not first.data[1]
    second.data[1]["n"] = 99
    assert todos.get_one(b["id"])["n"] == 3  # type: ignore[index]
    assert first.data[1]["n"] == 2  # an older result keeps its own copy
    assert a["id"] == first.data[0]["id"]


def test_bad_queries_fail_when_written(client: EntityClient) -> None:
    todos = client.stores.Todo
    with pytest.raises(QueryError):
        todos.watch_many({"n": {"bogus": 1}})
    with pytest.raises(QueryError):
        todos.watch_many(limit=-1)
    with pytest.raises(QueryError):
        todos.watch_many(order_by=5)  # type: ignore[arg-type]
    with pytest.raises(QueryError):
        todos.query_atom({"$or": {}})


# -- the async iterator -------------------------------------------------------------------------


def _titles(page: Page) -> list[str]:
    return [e["title"] for e in page.data]


async def _next(watch: LiveWatch) -> Page:
    return await asyncio.wait_for(watch.__anext__(), 5)


def test_watch_many_yields_at_once_then_on_each_change(client: EntityClient) -> None:
    todos = client.stores.Todo
    todos.add_many([{"title": "b", "open": True}, {"title": "x", "open": False}])

    async def main() -> None:
        async with todos.watch_many({"open": True}, order_by="title") as watch:
            assert _titles(await _next(watch)) == ["b"]
            await todos.aadd_one({"title": "y", "open": False})  # unrelated
            await todos.aadd_one({"title": "a", "open": True})
            page = await _next(watch)
            assert (_titles(page), page.total) == (["a", "b"], 2)
            assert watch._query.version == 2  # the unrelated write made no result
            x = todos.find_many({"title": "x"}).data[0]
            todos.update_one(x["id"], {"open": True})  # a sync write from the loop's thread
            assert _titles(await _next(watch)) == ["a", "b", "x"]
        assert watch.is_closed
        assert client._live.count() == 0

    asyncio.run(main())


def test_a_slow_consumer_gets_the_latest_result_not_a_queue(client: EntityClient) -> None:
    todos = client.stores.Todo
    item = todos.add_one({"title": "counter", "n": 0})

    async def main() -> None:
        results: list[int] = []
        async for page in todos.watch_many(order_by="title"):
            results.append(page.data[0]["n"])
            if len(results) == 1:
                for n in range(1, 101):  # 100 changes while the consumer is busy
                    await todos.aupdate_one(item["id"], {"n": n})
            if results[-1] == 100:
                break
        assert results[0] == 0
        assert results[-1] == 100
        assert len(results) < 50  # not one result per change

    asyncio.run(main())


def test_break_and_cancellation_leave_no_live_query(client: EntityClient) -> None:
    todos = client.stores.Todo
    todos.add_one({"title": "a"})

    async def main() -> None:
        async for _page in todos.watch_many():
            break
        assert client._live.count() == 0

        watch = todos.watch_many()
        await _next(watch)
        assert client._live.count("Todo") == 1
        task = asyncio.ensure_future(watch.__anext__())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert watch.is_closed
        assert client._live.count() == 0
        with pytest.raises(StopAsyncIteration):
            await watch.__anext__()

    asyncio.run(main())
    # The store stops recording changed ids once its last live query is gone.
    todos.add_one({"title": "b"})
    assert client._handles[client._key("Todo")].watched is None


def test_cancelled_while_opening_leaves_no_live_query(client: EntityClient) -> None:
    todos = client.stores.Todo
    todos.add_one({"title": "a"})

    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:  # another thread's long write
        with client._lock:
            held.set()
            release.wait(5)

    async def main() -> None:
        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        held.wait(5)
        watch = todos.watch_many()
        task = asyncio.ensure_future(watch.__anext__())  # opening waits in its worker thread
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        holder.join()
        for _ in range(100):  # the worker thread finishes opening, then sees it was closed
            await asyncio.sleep(0.005)
            if client._live.count() == 0:
                break
        assert client._live.count() == 0

    asyncio.run(main())


def test_disposing_the_client_ends_the_watch() -> None:
    client = create_client(flush_interval=None)
    client.stores.Todo.add_one({"title": "a"})

    async def main() -> None:
        seen = [page.total async for page in _dispose_after_first(client)]
        assert seen == [1]

    asyncio.run(main())


async def _dispose_after_first(client: EntityClient):  # type: ignore[no-untyped-def]
    async for page in client.stores.Todo.watch_many():
        yield page
        await client.aclose()


def test_watch_on_a_disposed_client_raises() -> None:
    client = create_client(flush_interval=None)
    client.dispose()
    from atomiton.store import ClientDisposedError

    async def main() -> None:
        with pytest.raises(ClientDisposedError):
            async for _page in client.stores.Todo.watch_many():
                pass

    asyncio.run(main())
    assert client._live.count() == 0


def test_changes_from_other_threads_reach_the_watch(client: EntityClient) -> None:
    client.configure("Todo", indexes=["group"])
    todos = client.stores.Todo
    todos.add_many([{"title": f"t{i}", "group": i % 3, "n": 0} for i in range(30)])
    query: dict[str, Any] = {"where": {"group": 1}, "order_by": [("n", "desc"), "title"]}

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(60):
            page = todos.find_many({"group": rng.randrange(3)})
            entity = rng.choice(page.data)
            todos.update_one(entity["id"], {"n": rng.randrange(100), "group": rng.randrange(3)})

    async def main() -> None:
        threads = [threading.Thread(target=writer, args=(s,)) for s in range(3)]
        results = 0
        async with todos.watch_many(**query) as watch:
            await _next(watch)
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                await asyncio.sleep(0.001)
            for t in threads:
                t.join()
            # Every write has been delivered by now: the latest result is the current one.
            expected = todos.find_many(**query)
            while True:
                page = await _next(watch)
                results += 1
                if page == expected:
                    break
        assert results >= 1

    asyncio.run(main())


# -- changes applied from another process's client (the sync feature) -----------------------


class _Bus:
    """A bus joining in-process clients as the events bridge joins processes."""

    def __init__(self, handlers: list[Callable[[Any], Any]]) -> None:
        self.handlers = handlers

    def emit(self, type: str, data: Any, /, *, source: str) -> object:
        for handler in list(self.handlers):
            handler(data)
        return None

    def on(self, pattern: str, handler: Callable[[Any], Any], /) -> Callable[[], object]:
        self.handlers.append(handler)
        return lambda: self.handlers.remove(handler)


def test_remote_changes_update_live_queries() -> None:
    storage = MemoryStorage()
    handlers: list[Callable[[Any], Any]] = []
    # One event per write (no publishing window): each remote write reaches ``here`` before
    # the writing call returns, so the test can check the page write by write.
    options: dict[str, Any] = {
        "flush_interval": None,
        "reconcile_interval": None,
        "sync_coalesce": None,
    }
    here = create_client(storage, sync=_Bus(handlers), **options)
    there = create_client(storage, sync=_Bus(handlers), **options)
    try:
        here.stores.Todo.add_one({"title": "mine", "open": True})
        live, recorder = _open(here, "Todo", where={"open": True}, order_by="title")
        assert _titles(live.page) == ["mine"]
        theirs = there.stores.Todo.add_one({"title": "theirs", "open": True})
        assert _titles(live.page) == ["mine", "theirs"]
        there.stores.Todo.add_one({"title": "closed", "open": False})
        assert len(recorder.pages) == 1
        there.stores.Todo.delete_one(theirs["id"])
        assert _titles(live.page) == ["mine"]
        assert len(recorder.pages) == 2
    finally:
        here.dispose()
        there.dispose()
        storage.close()


def test_a_watch_started_inside_a_batch_opens_inline(client: EntityClient) -> None:
    todos = client.stores.Todo

    async def main() -> list[int]:
        totals: list[int] = []
        with client.batch():
            todos.add_one({"title": "in the batch"})
            watch = todos.watch_many()
            totals.append((await asyncio.wait_for(watch.__anext__(), 2)).total)
        todos.add_one({"title": "after"})
        totals.append((await _next(watch)).total)
        await watch.aclose()
        return totals

    assert asyncio.run(main()) == [1, 2]


def test_a_query_keeps_its_own_copy_of_where(client: EntityClient) -> None:
    client.configure("Todo", indexes=["status"])
    todos = client.stores.Todo
    todos.add_many([{"title": f"t{i}", "status": "open"} for i in range(5)])
    where: dict[str, Any] = {"status": "open"}
    live, _recorder = _open(client, "Todo", where=where, order_by="title", limit=2)
    q = todos.query_atom(where, order_by="title", limit=2)
    where["status"] = "done"  # the caller reuses its dict
    first = todos.find_many(where={"status": "open"}, order_by="title").data[0]
    todos.update_one(first["id"], {"status": "done"})  # forces a refill, planned from `where`
    expected = todos.find_many({"status": "open"}, order_by="title", limit=2)
    assert live.page == expected
    store = create_store()
    unsubscribe = store.subscribe(q, lambda _page: None)
    assert store.get(q) == expected
    unsubscribe()
