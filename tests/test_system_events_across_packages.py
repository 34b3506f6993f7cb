"""Every event the packages emit parses through atomiton.events' typed catalogue.

Real components on a real EventBus: the store's entity client (store.changed), storage's
MonitoredStorage with report_to_events (storage.operation), synced entity clients
(store.sync.entities), and ThreadWorkers, ProcessWorkers and DaskWorkers with ``events=bus``
(execution.job.* for every kind). Each event goes through
``system_event`` and must come back as the right class with the right fields.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import atomiton.events
import atomiton.execution
import atomiton.platform
from atomiton.events import (
    Event,
    EventBus,
    JobEvent,
    JobEventKind,
    JobStatus,
    StorageOperation,
    StoreChanged,
    StoreSynced,
    SyncedEntity,
    system_event,
)
from atomiton.execution import Job, ProcessWorkers, ThreadWorkers, Workers
from atomiton.platform import EventSink
from atomiton.storage import InvalidKeyError, MemoryStorage, MonitoredStorage, report_to_events
from atomiton.store import create_client

from .cross_package_jobs import fail, report_steps, sleep_then_return

# Process workers import the jobs by name (tests.cross_package_jobs): from the repo root.
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.append(ROOT)


@pytest.fixture
def bus() -> Iterator[EventBus]:
    bus = EventBus()
    yield bus
    bus.close()


def record(bus: EventBus, pattern: str) -> list[Event]:
    received: list[Event] = []
    bus.on(pattern, received.append)
    return received


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for events"
        time.sleep(0.005)


def test_the_vocabulary_and_the_sink_are_one_object_in_every_package() -> None:
    assert atomiton.events.JobStatus is atomiton.execution.JobStatus is atomiton.platform.JobStatus
    assert (
        atomiton.events.JobEventKind
        is atomiton.execution.JobEventKind
        is atomiton.platform.JobEventKind
    )
    assert atomiton.execution.EventSink is atomiton.storage.EventSink is EventSink
    assert isinstance(EventBus(), EventSink)


def test_every_store_change_parses_as_store_changed(bus: EventBus) -> None:
    received = record(bus, "store.**")
    client = create_client(events=bus, flush_interval=None)
    try:
        todos = client.stores.Todo
        first = todos.add_one({"title": "a"})
        more = todos.add_many([{"title": "b"}, {"title": "c"}])
        todos.update_one(first["id"], {"title": "a2"})
        todos.upsert_one({"id": "t9", "title": "z"})
        with client.batch():
            client.stores.Note.add_one({"id": "n1"})
            todos.delete_one(first["id"])
        client.history.undo()
        client.history.redo()
    finally:
        client.dispose()
    ids = [item["id"] for item in more]
    expected = [
        StoreChanged("Todo", "add", (first["id"],)),
        StoreChanged("Todo", "add", tuple(ids)),
        StoreChanged("Todo", "update", (first["id"],)),
        StoreChanged("Todo", "upsert", ("t9",)),
        StoreChanged("Note", "add", ("n1",)),
        StoreChanged("Todo", "delete", (first["id"],)),
        StoreChanged("Note", "undo", ("n1",)),
        StoreChanged("Todo", "undo", (first["id"],)),
        # redo replays the batch forwards, undo backwards
        StoreChanged("Todo", "redo", (first["id"],)),
        StoreChanged("Note", "redo", ("n1",)),
    ]
    parsed = [system_event(event) for event in received]
    assert all(type(typed) is StoreChanged for typed in parsed)
    assert parsed == expected
    assert {event.source for event in received} == {"store"}


def test_every_sync_event_parses_as_store_synced(bus: EventBus) -> None:
    """Two entity clients synced over the bus on shared storage: writes, a queued write, a flush."""
    received = record(bus, "store.sync.**")
    shared = MemoryStorage()
    # One event per write (no publishing window), so each kind of event shows up on its own.
    options: dict[str, Any] = {
        "flush_interval": None,
        "reconcile_interval": None,
        "sync_coalesce": None,
    }
    writer = create_client(storage=shared, sync=bus, **options)
    reader = create_client(storage=shared, sync=bus, **options)
    try:
        todos = writer.stores.Todo
        todo = todos.add_one({"title": "a"})
        todos.update_one(todo["id"], {"title": "b"}, write_strategy="queue")
        writer.flush()
        todos.delete_one(todo["id"])
        wait_for(lambda: len(received) == 4)
    finally:
        writer.dispose()
        reader.dispose()

    parsed = [system_event(event) for event in received]
    synced = [typed for typed in parsed if type(typed) is StoreSynced]
    assert len(synced) == len(parsed) == 4
    assert {event.source for event in received} == {"store"}
    assert len({typed.writer for typed in synced}) == 1
    assert [(s.seq, s.kind, s.prefix) for s in synced] == [
        (1, "write", "atomiton/store"),
        (2, "write", "atomiton/store"),
        (3, "flush", "atomiton/store"),
        (4, "write", "atomiton/store"),
    ]
    changes = [s.changes for s in synced]
    assert all(len(c) == 1 and type(c[0]) is SyncedEntity for c in changes)
    assert [(c[0].store, c[0].id, c[0].strategy) for c in changes] == [
        ("Todo", todo["id"], "direct"),
        ("Todo", todo["id"], "queue"),
        ("Todo", todo["id"], "flush"),
        ("Todo", todo["id"], "direct"),
    ]
    assert changes[0][0].after["title"] == "a"
    assert changes[1][0].after["title"] == "b"
    assert changes[2][0].after is None
    assert changes[3][0].after["deleted"] is True


def test_every_storage_operation_parses_as_storage_operation(bus: EventBus) -> None:
    received = record(bus, "storage.**")
    storage = MonitoredStorage(MemoryStorage(), report_to_events(bus))
    storage.write("a", b"12345")
    assert storage.read("a") == b"12345"
    storage.read_entry("a")
    storage.write_many({"b": b"xy", "c": b"z"})
    storage.read_many(["a", "b", "missing"])
    storage.exists("a")
    storage.size("a")
    storage.list("")
    storage.total_size()
    len(storage)
    storage.delete("a")
    storage.delete_many(["b", "c"])
    storage.purge_expired()
    with pytest.raises(InvalidKeyError):
        storage.write("", b"no key")
    storage.clear()
    storage.close()

    every = [system_event(event) for event in received]
    parsed = [typed for typed in every if type(typed) is StorageOperation]
    assert len(parsed) == len(every)
    assert [(op.operation, op.keys, op.bytes) for op in parsed] == [
        ("write", ("a",), 5),
        ("read", ("a",), 5),
        ("read", ("a",), 5),  # read_entry is reported as the read it is
        ("write_many", ("b", "c"), 3),
        ("read_many", ("a", "b", "missing"), 7),
        ("exists", ("a",), 0),
        ("size", ("a",), 0),
        ("list", (), 0),
        ("total_size", (), 0),
        ("len", (), 0),
        ("delete", ("a",), 0),
        ("delete_many", ("b", "c"), 0),
        ("purge_expired", (), 0),
        ("write", ("",), 0),
        ("clear", (), 0),
        ("close", (), 0),
    ]
    assert all(op.duration >= 0 for op in parsed)
    failed = [op for op in parsed if op.error is not None]
    assert len(failed) == 1
    assert failed[0].error is not None
    assert failed[0].error.startswith("InvalidKeyError: ")


def is_final(event: Event) -> bool:
    return JobEventKind(event.type.rpartition(".")[2]).status.is_final


WORKERS: dict[str, Callable[..., Workers]] = {
    "threads": ThreadWorkers,
    "processes": ProcessWorkers,
}


def make_workers(kind: str, bus: EventBus) -> Workers:
    if kind == "dask":
        pytest.importorskip("distributed", reason="DaskWorkers needs atomiton-execution[dask]")
        from atomiton.execution import DaskWorkers

        return DaskWorkers(max_workers=1, events=bus)
    return WORKERS[kind](max_workers=1, events=bus)


@pytest.mark.parametrize("kind", [*sorted(WORKERS), "dask"])
def test_every_job_event_parses_as_job_event(bus: EventBus, kind: str) -> None:
    received = record(bus, "execution.**")
    with make_workers(kind, bus) as workers:
        steps = workers.submit(report_steps, 2)
        assert steps.result(timeout=30) == 2
        broken = workers.submit(fail, "broken")
        assert isinstance(broken.exception(timeout=30), ValueError)
        slow = workers.schedule(sleep_then_return, args=(5.0,), timeout=0.3)
        waiting = workers.submit(sleep_then_return, 0)
        assert waiting.cancel()
        slow.exception(timeout=30)
        jobs: list[Job[Any]] = [steps, broken, slow, waiting]
        wait_for(lambda: len([e for e in received if is_final(e)]) == len(jobs))

    parsed = [system_event(event) for event in received]
    assert all(type(typed) is JobEvent for typed in parsed)
    assert {event.source for event in received} == {"execution"}
    by_job: dict[str, list[JobEvent]] = {}
    for event, typed in zip(received, parsed, strict=True):
        assert isinstance(typed, JobEvent)
        assert event.type == f"execution.job.{typed.kind.value}"
        assert typed.status is typed.kind.status
        by_job.setdefault(typed.job_id, []).append(typed)
    assert set(by_job) == {job.id for job in jobs}

    K = JobEventKind
    assert [e.kind for e in by_job[steps.id]] == [
        K.QUEUED,
        K.STARTED,
        K.PROGRESS,
        K.PROGRESS,
        K.SUCCEEDED,
    ]
    assert [(e.current, e.total) for e in by_job[steps.id]] == [
        (None, None),
        (None, None),
        (1.0, 2.0),
        (2.0, 2.0),
        (2.0, 2.0),
    ]
    assert {e.name for e in by_job[steps.id]} == {"report_steps"}
    assert by_job[steps.id][-1].status is JobStatus.SUCCEEDED

    assert [e.kind for e in by_job[broken.id]] == [K.QUEUED, K.STARTED, K.FAILED]
    assert by_job[broken.id][-1].error == "ValueError: broken"
    assert by_job[broken.id][-1].status is JobStatus.FAILED

    assert [e.kind for e in by_job[slow.id]] == [K.QUEUED, K.STARTED, K.TIMED_OUT]
    assert by_job[slow.id][-1].status is JobStatus.TIMED_OUT
    assert by_job[slow.id][-1].error is not None

    assert [e.kind for e in by_job[waiting.id]] == [K.QUEUED, K.CANCELLED]
    assert by_job[waiting.id][-1].status is JobStatus.CANCELLED
    assert by_job[waiting.id][-1].error is None

    for typed in parsed:
        assert JobEvent.from_data(typed.to_data()) == typed
