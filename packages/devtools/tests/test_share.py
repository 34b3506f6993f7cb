"""One timeline across processes: two DevTools on two buses bridged over a real SQLite stream.

(The two buses live in one test process here; ``tests/test_devtools_browser.py`` runs the same
across two real processes and checks the inspector.)
"""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from atomiton.devtools import AttachError, DevTools
from atomiton.events import EventBus, connect_bus
from atomiton.execution import ThreadWorkers
from atomiton.store import atom, create_store


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_entries_from_another_process_arrive_marked_with_its_origin(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'events.db'}"
    web_bus, worker_bus = EventBus(), EventBus()
    with (
        connect_bus(web_bus, url) as web_bridge,
        connect_bus(worker_bus, url) as worker_bridge,
        DevTools() as web,
        DevTools() as worker,
    ):
        web.attach(web_bus, name="events")
        web.share(web_bus)
        worker.attach(worker_bus, name="events")
        worker.share(worker_bus)
        count = atom(0, name="count")
        worker_store = create_store()
        worker.attach(worker_store, name="worker-ui")
        worker_store.set(count, 5)
        worker_bus.emit("order.created", {"id": 7}, source="shop")
        web_store = create_store()
        web.attach(web_store, name="web-ui")
        web_store.set(count, 1)

        def remote(dt: DevTools) -> list[tuple[str, str, str]]:
            return [(e.kind, e.label, e.origin) for e in dt.timeline if e.origin]

        wait_for(lambda: len(remote(web)) == 2)
        assert remote(web) == [
            ("atom", "count", worker_bridge.origin),
            ("event", "order.created", worker_bridge.origin),
        ]
        (shared,) = [e for e in web.timeline if e.kind == "atom" and e.origin]
        assert (shared.source, shared.data, shared.before) == (
            "worker-ui",
            {"count": 5},
            {"count": 0},
        )
        wait_for(lambda: len(remote(worker)) == 1)
        assert remote(worker) == [("atom", "count", web_bridge.origin)]
        # no echo, no devtools.* noise on the timeline, and the filters see the origins
        assert not [e for e in web.timeline if e.label.startswith("devtools.")]
        assert len(web.timeline) == 3
        page = web.timeline_page(origin=worker_bridge.origin)
        assert page["matched"] == 2
        assert page["origins"] == sorted(["", worker_bridge.origin])
        with pytest.raises(AttachError, match="already shared"):
            web.share(web_bus)
    with pytest.raises(AttachError, match="takes an event bus"):
        DevTools().share(object())


def _double(n: int) -> int:
    return n * 2


def test_another_processs_jobs_join_the_jobs_table_marked_with_its_origin(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'events.db'}"
    web_bus, worker_bus = EventBus(), EventBus()
    workers = ThreadWorkers(max_workers=1)
    try:
        with (
            connect_bus(web_bus, url),
            connect_bus(worker_bus, url) as worker_bridge,
            DevTools() as web,
            DevTools() as worker,
        ):
            web.share(web_bus)
            worker.share(worker_bus)
            worker.attach(workers, name="workers")
            assert workers.schedule(_double, args=(21,), name="double").result(timeout=10) == 42
            wait_for(lambda: any(j["status"] == "succeeded" for j in web.jobs()))
            (job,) = web.jobs()
            assert job["id"].startswith(f"{worker_bridge.origin}/")
            assert (job["name"], job["origin"], job["error"]) == (
                "double",
                worker_bridge.origin,
                None,
            )
    finally:
        workers.shutdown()
