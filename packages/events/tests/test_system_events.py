"""The typed catalogue: subscribers get dataclasses from the dict payloads other packages emit."""

from __future__ import annotations

from typing import Any

import pytest

import atomiton.platform
from atomiton.events import (
    Event,
    EventBus,
    EventDataError,
    JobEvent,
    JobEventKind,
    JobStatus,
    StorageOperation,
    StoreChanged,
    StoreSynced,
    SyncedEntity,
    system_event,
)

JOB = {
    "job_id": "j1",
    "name": "resize",
    "kind": "progress",
    "status": "running",
    "current": 3,
    "total": 10.0,
    "error": None,
}
STORAGE = {"operation": "get", "keys": ["a", "b"], "duration": 0.002, "bytes": 120, "error": None}
STORE = {"store": "users", "operation": "update", "ids": ["u1"]}
SYNC = {
    "writer": "w1",
    "seq": 3,
    "prefix": "atomiton/store",
    "kind": "write",
    "changes": [
        {"store": "users", "id": "u1", "after": {"id": "u1", "n": 1}, "strategy": "direct"},
        {"store": "users", "id": "u2", "after": None, "strategy": "direct"},
    ],
}


def test_job_vocabulary_is_the_one_platform_declares() -> None:
    assert JobStatus is atomiton.platform.JobStatus
    assert JobEventKind is atomiton.platform.JobEventKind


def test_subscriber_gets_typed_job_data() -> None:
    bus = EventBus()
    jobs: list[JobEvent] = []
    bus.on(JobEvent.PATTERN, lambda e: jobs.append(JobEvent.from_event(e)))
    bus.emit("execution.job.progress", dict(JOB), source="execution")
    assert jobs == [
        JobEvent("j1", "resize", JobEventKind.PROGRESS, JobStatus.RUNNING, 3.0, 10.0, None)
    ]
    assert jobs[0].kind is JobEventKind.PROGRESS
    assert jobs[0].status is JobStatus.RUNNING
    assert jobs[0].event_type == "execution.job.progress"


def test_constructor_strings_become_the_enums() -> None:
    event = JobEvent("j1", "resize", "queued", "pending", None, None, None)  # type: ignore[arg-type]
    assert event.kind is JobEventKind.QUEUED
    assert event.status is JobStatus.PENDING
    assert type(event.to_data()["kind"]) is str


def test_storage_and_store_payloads_parse_to_their_dataclasses() -> None:
    bus = EventBus()
    storage = bus.emit("storage.operation", dict(STORAGE), source="storage")
    store = bus.emit("store.changed", dict(STORE), source="store")
    assert StorageOperation.from_event(storage) == StorageOperation(
        "get", ("a", "b"), 0.002, 120, None
    )
    assert StoreChanged.from_event(store) == StoreChanged("users", "update", ("u1",))
    assert system_event(store) == StoreChanged("users", "update", ("u1",))


@pytest.mark.parametrize(
    ("cls", "data", "event_type"),
    [
        (JobEvent, JOB, "execution.job.progress"),
        (StorageOperation, STORAGE, "storage.operation"),
        (StoreChanged, STORE, "store.changed"),
        (StoreSynced, SYNC, "store.sync.entities"),
    ],
)
def test_to_data_gives_back_exactly_the_contract_keys(
    cls: type[Any], data: dict[str, Any], event_type: str
) -> None:
    typed = cls.from_data(data)
    assert set(typed.to_data()) == set(data)
    assert cls.from_data(typed.to_data()) == typed
    assert typed.event_type == event_type
    assert system_event(Event(1, event_type, typed.to_data(), None, 0.0)) == typed


def test_emitting_the_typed_value_itself_also_works() -> None:
    typed = StoreChanged("users", "delete", ("u1", "u2"))
    event = EventBus().emit(typed.event_type, typed)
    assert StoreChanged.from_event(event) is typed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({k: v for k, v in STORE.items() if k != "ids"}, r"missing \['ids'\]"),
        ({**STORE, "extra": 1}, r"unexpected \['extra'\]"),
        ({**STORE, "ids": "u1"}, "ids must be a list of str"),
        ({**STORE, "store": 5}, "store must be str"),
        ("not a dict", "must be a dict"),
    ],
)
def test_malformed_store_payload_is_refused_naming_the_problem(data: Any, message: str) -> None:
    with pytest.raises(EventDataError, match=message):
        StoreChanged.from_event(Event(1, "store.changed", data, None, 0.0))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**JOB, "status": "exploded"}, "status must be one of"),
        ({**JOB, "kind": "exploded"}, "kind must be one of"),
        ({**JOB, "status": "succeeded"}, "'progress' job event leaves the job 'running'"),
        ({**JOB, "current": "3"}, "current must be a number or None"),
        ({**JOB, "error": 3}, "error must be a str or None"),
    ],
)
def test_malformed_job_payload_is_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(EventDataError, match=message):
        JobEvent.from_data(data)


def test_job_event_type_must_agree_with_its_kind() -> None:
    with pytest.raises(EventDataError, match="carries kind 'progress'"):
        JobEvent.from_event(Event(1, "execution.job.failed", dict(JOB), None, 0.0))


def test_reading_an_event_as_the_wrong_class_is_refused() -> None:
    with pytest.raises(EventDataError, match="is not a StoreChanged event"):
        StoreChanged.from_event(Event(1, "storage.operation", dict(STORAGE), None, 0.0))


def test_storage_duration_must_be_a_number() -> None:
    with pytest.raises(EventDataError, match="duration must be a number"):
        StorageOperation.from_data({**STORAGE, "duration": None})


def test_unknown_types_are_not_system_events() -> None:
    with pytest.raises(EventDataError, match="not a system event"):
        system_event(Event(1, "my.own", {}, None, 0.0))


def test_sync_events_parse_with_their_entities() -> None:
    event = EventBus().emit("store.sync.entities", dict(SYNC), source="store")
    typed = system_event(event)
    assert typed == StoreSynced(
        "w1",
        3,
        "atomiton/store",
        "write",
        (
            SyncedEntity("users", "u1", {"id": "u1", "n": 1}, "direct"),
            SyncedEntity("users", "u2", None, "direct"),
        ),
    )
    assert typed.to_data() == SYNC


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**SYNC, "seq": "3"}, "seq must be int"),
        ({**SYNC, "changes": "u1"}, "changes must be a list of SyncedEntity"),
        ({**SYNC, "changes": [{"store": "users", "id": "u1"}]}, r"missing \['after', 'strategy'\]"),
    ],
)
def test_malformed_sync_payload_is_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(EventDataError, match=message):
        StoreSynced.from_data(data)
