"""A live todo list served by Starlette, kept current across several server processes.

    uv run examples/todo_web.py --port 8001 --data /tmp/todos &
    uv run examples/todo_web.py --port 8002 --data /tmp/todos &
    # open http://127.0.0.1:8001/ and http://127.0.0.1:8002/: a todo added on one page
    # appears on both

Each server process holds one synced entity client (``create_client(storage, sync=bus)``) on the
shared SQLite file ``<data>/todos.db``, its bus bridged to the SQLite event stream
``<data>/events.db`` (``connect_bus``), so a write in one process reaches the others. The page
follows a live query (``watch_many``) over server-sent events: every change, local or from
another process, sends the new list.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from atomiton.events import EventBus, connect_bus
from atomiton.storage import open_storage
from atomiton.store import create_client

PAGE = """<!doctype html><meta charset="utf-8"><title>atomiton todos</title>
<style>body{font:15px system-ui;margin:2rem auto;max-width:32rem} li.done{opacity:.5}</style>
<h1>todos <small id="where"></small></h1>
<form id="add"><input id="title" placeholder="what to do" autofocus> <button>add</button></form>
<ul id="list"></ul>
<script>
document.getElementById("where").textContent = location.host;
document.getElementById("add").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("title");
  if (!input.value.trim()) return;
  await fetch("/todos", {method: "POST", headers: {"Content-Type": "application/json"},
                         body: JSON.stringify({title: input.value})});
  input.value = "";
});
new EventSource("/events").addEventListener("todos", (message) => {
  const list = document.getElementById("list");
  list.replaceChildren(...JSON.parse(message.data).map((todo) => {
    const item = document.createElement("li");
    item.textContent = todo.title;
    item.dataset.id = todo.id;
    return item;
  }));
});
</script>"""


def create_app(data: Path) -> Starlette:
    """The app over the shared folder ``data`` (SQLite entities and event stream)."""
    data.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bus = EventBus()
        with (
            open_storage(f"sqlite://{data / 'todos.db'}") as storage,
            connect_bus(bus, f"sqlite://{data / 'events.db'}"),
        ):
            client = create_client(storage, sync=bus, flush_interval=None)
            app.state.todos = client.stores.Todo
            try:
                yield
            finally:
                client.close()

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def add(request: Request) -> Response:
        body = await request.json()
        title = str(body.get("title", "")).strip() if isinstance(body, dict) else ""
        if not title:
            return JSONResponse({"error": "a todo needs a title"}, status_code=400)
        todo = await request.app.state.todos.aadd_one({"title": title})
        return JSONResponse(todo, status_code=201)

    async def listing(request: Request) -> Response:
        return JSONResponse(request.app.state.todos.find_many(order_by="created_at").data)

    async def events(request: Request) -> Response:
        todos = request.app.state.todos

        async def frames() -> AsyncIterator[str]:
            async for result in todos.watch_many(order_by="created_at"):
                yield f"event: todos\ndata: {json.dumps(result.data)}\n\n"

        return StreamingResponse(frames(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/", page),
            Route("/todos", add, methods=["POST"]),
            Route("/todos", listing),
            Route("/events", events),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    """Serve the app on 127.0.0.1 until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--data", type=Path, default=Path("todo-data"))
    args = parser.parse_args()
    uvicorn.run(create_app(args.data), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
