"""Detaching removes every hook: afterwards no devtools code runs when the app works."""

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from atomiton.devtools import DevTools
from atomiton.events import EventBus
from atomiton.execution import ThreadWorkers
from atomiton.store import atom, create_client, create_store


def devtools_calls(work: Callable[[], object]) -> list[str]:
    """Names of the devtools functions that ran (in this thread) while ``work`` ran."""
    seen: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and "atomiton/devtools" in frame.f_code.co_filename.replace("\\", "/"):
            seen.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return seen


def test_no_devtools_code_runs_after_detach_and_some_runs_while_attached() -> None:
    count = atom(0, name="count")
    store = create_store()
    bus = EventBus()
    client = create_client(events=bus)
    workers = ThreadWorkers(max_workers=1)

    def work() -> None:
        store.update(count, lambda n: n + 1)
        bus.emit("app.tick", {"n": 1}, source="test")
        client.stores.Todo.add_one({"title": "x"})

    try:
        dt = DevTools()
        for target in (store, bus, client, workers):
            dt.attach(target)
        assert devtools_calls(work) != []
        dt.detach()
        assert devtools_calls(work) == []
        entries = len(dt.timeline)
        workers.submit(sum, [1, 2]).result(timeout=10)
        assert len(dt.timeline) == entries
    finally:
        workers.shutdown()
        client.dispose()
