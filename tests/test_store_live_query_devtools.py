"""A query atom (``store.query_atom``) shown by DevTools: its live value, as the store holds it."""

from __future__ import annotations

from atomiton.devtools import DevTools
from atomiton.store import create_client, create_store


def test_devtools_shows_a_query_atom_and_follows_it() -> None:
    client = create_client(flush_interval=None)
    todos = client.stores.Todo
    todos.add_many([{"title": "a", "status": "open"}, {"title": "b", "status": "done"}])
    q = todos.query_atom({"status": "open"}, order_by="title", name="open todos")
    store = create_store()
    unsubscribe = store.subscribe(q, lambda _page: None)
    with DevTools() as dt:
        dt.attach(store, name="ui", atoms=[q])
        shown = dt.state("ui")["open todos"]  # the Page, as plain data
        assert shown["data"] == store.get(q).data
        assert shown["total"] == 1
        todos.add_one({"title": "c", "status": "open"})
        shown = dt.state("ui")["open todos"]
        assert [e["title"] for e in shown["data"]] == ["a", "c"]
        assert shown["total"] == 2
    unsubscribe()
    client.close()
