"""``store.query_atom(...)``: a live query as a derived atom in the atom graph (issue 20).

The atom's value is the query's ``Page``. In each store that observes it (``subscribe``, a
subscribed ``computed`` reading it) it follows every change that touches the result and only
those; one live query serves all such stores and stops when the last one lets go. A store that
does not observe it computes the result when it reads it.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from typing import Any, assert_type

import pytest

from atomiton.store import (
    Computed,
    EntityClient,
    LiveWatch,
    Page,
    computed,
    create_client,
    create_store,
)


@pytest.fixture
def client() -> Iterator[EntityClient]:
    c = create_client(flush_interval=None)
    c.configure("Todo", indexes=["status"])
    c.stores.Todo.add_many(
        [{"title": f"t{i}", "status": "open" if i % 2 else "done", "p": i} for i in range(10)]
    )
    yield c
    c.dispose()


QUERY: dict[str, Any] = {"where": {"status": "open"}, "order_by": ("p", "desc"), "limit": 3}


def test_value_follows_find_many_in_the_atom_graph(client: EntityClient) -> None:
    todos = client.stores.Todo
    q = todos.query_atom(**QUERY, name="top open")
    assert_type(q, Computed[Page])
    assert q.name == "top open"
    titles = computed(lambda get: [e["title"] for e in get(q).data])
    store = create_store()
    seen: list[list[str]] = []
    unsubscribe = store.subscribe(titles, seen.append)
    assert client._live.count("Todo") == 1
    assert store.get(titles) == ["t9", "t7", "t5"]
    todos.add_one({"title": "new", "status": "open", "p": 8})
    assert seen == [["t9", "new", "t7"]]
    assert store.get(q) == todos.find_many(**QUERY)
    done = todos.find_many({"status": "done"}).data[0]
    todos.update_one(done["id"], {"title": "renamed"})  # does not touch the result
    todos.add_one({"title": "low", "status": "open", "p": -1})  # past the window: total only
    assert seen == [["t9", "new", "t7"]]
    assert store.get(q).total == 7
    unsubscribe()
    assert client._live.count() == 0


def test_subscribers_are_told_only_when_the_result_changes(client: EntityClient) -> None:
    todos = client.stores.Todo
    q = todos.query_atom(**QUERY)
    store = create_store()
    pages: list[Page] = []
    unsubscribe = store.subscribe(q, pages.append)
    assert pages == []  # subscribing reports nothing (the value did not change)
    for i in range(5):
        todos.add_one({"title": f"done {i}", "status": "done", "p": 100})
    assert pages == []
    top = store.get(q).data[0]
    todos.update_one(top["id"], {"p": 50})
    assert len(pages) == 1
    assert pages[0].data[0]["p"] == 50
    unsubscribe()


def test_every_observing_store_follows_and_the_live_query_is_shared(client: EntityClient) -> None:
    todos = client.stores.Todo
    q = todos.query_atom(**QUERY)
    a, b = create_store(), create_store()
    seen_a: list[int] = []
    seen_b: list[int] = []
    total = computed(lambda get: get(q).total)
    stop_a = a.subscribe(total, seen_a.append)
    stop_b = b.subscribe(total, seen_b.append)
    assert client._live.count() == 1  # one live query for both stores
    todos.add_one({"title": "x", "status": "open"})
    assert (seen_a, seen_b) == ([6], [6])
    stop_a()
    todos.add_one({"title": "y", "status": "open"})
    assert (seen_a, seen_b) == ([6], [6, 7])
    assert client._live.count() == 1
    stop_b()
    assert client._live.count() == 0


def test_an_unobserved_store_computes_the_result_when_it_reads(client: EntityClient) -> None:
    todos = client.stores.Todo
    q = todos.query_atom(**QUERY)
    store = create_store()
    assert store.get(q) == todos.find_many(**QUERY)
    assert client._live.count() == 0  # reading does not start a live query
    # Observed, then released: the next read computes the result again.
    unsubscribe = store.subscribe(q, lambda _page: None)
    unsubscribe()
    todos.add_one({"title": "after", "status": "open", "p": 99})
    assert store.get(q).data[0]["title"] == "after"


def test_changes_from_other_threads_reach_the_store(client: EntityClient) -> None:
    todos = client.stores.Todo
    q = todos.query_atom({"status": "open"}, order_by="title")
    store = create_store()
    unsubscribe = store.subscribe(q, lambda _page: None)

    def writer(k: int) -> None:
        for i in range(50):
            todos.add_one({"title": f"w{k}-{i:02}", "status": "open" if i % 2 else "done"})

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(q) == todos.find_many({"status": "open"}, order_by="title")
    assert store.get(q).total == 5 + 4 * 25
    unsubscribe()


def test_inspectors_see_it_by_name(client: EntityClient) -> None:
    q = client.stores.Todo.query_atom(**QUERY, name="top open")
    store = create_store()
    unsubscribe = store.subscribe(q, lambda _page: None)
    state = store.get_state(include_derived=True)
    assert state["top open"] == client.stores.Todo.find_many(**QUERY)
    unsubscribe()


def test_a_store_dropped_while_observing_is_let_go(client: EntityClient) -> None:
    todos = client.stores.Todo
    q = todos.query_atom(**QUERY)
    store = create_store()
    store.subscribe(q, lambda _page: None)
    assert client._live.count() == 1
    del store
    gc.collect()
    todos.add_one({"title": "z", "status": "open", "p": 100})  # finds the store gone
    assert client._live.count() == 0


def test_store_watch_follows_it_and_lets_go(client: EntityClient) -> None:
    todos = client.stores.Todo
    q = todos.query_atom(**QUERY)
    store = create_store()

    async def main() -> list[int]:
        totals: list[int] = []
        async for page in store.watch(q):
            assert_type(page, Page)
            totals.append(page.total)
            if len(totals) == 1:
                await todos.aadd_one({"title": "done", "status": "done"})  # no new value
                await todos.aadd_one({"title": "open", "status": "open"})
            else:
                break
        return totals

    assert asyncio.run(main()) == [5, 6]
    assert client._live.count() == 0


def test_watch_many_is_typed(client: EntityClient) -> None:
    async def main() -> None:
        watch = client.stores.Todo.watch_many({"status": "open"}, order_by="p", limit=2)
        assert_type(watch, LiveWatch)
        async with watch:
            page = await anext(watch)
            assert_type(page, Page)
            assert page == client.stores.Todo.find_many({"status": "open"}, order_by="p", limit=2)

    asyncio.run(main())
