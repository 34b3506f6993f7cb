"""Job listeners (devtools) and execution.job.* events with exactly the cross-package payload."""

from __future__ import annotations

import time

import pytest

from atomiton.execution import Job, ProcessWorkers, ThreadWorkers

from .execution_jobs import (
    RecordingBus,
    WorkersFactory,
    fail_with_value_error,
    report_steps,
    sleep_then_return,
)

KEYS = {"job_id", "name", "kind", "status", "current", "total", "error"}


def settle(bus: RecordingBus, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(bus.events) < count and time.monotonic() < deadline:
        time.sleep(0.005)


def test_events_follow_a_job_from_queued_to_succeeded(
    make_workers: WorkersFactory, kind: str
) -> None:
    bus = RecordingBus()
    workers = make_workers(events=bus)
    job = workers.submit(report_steps, 2)
    assert job.result(timeout=10) == 2
    settle(bus, 5)
    kinds = [event_type for event_type, _, _ in bus.events]
    assert kinds == [
        "execution.job.queued",
        "execution.job.started",
        "execution.job.progress",
        "execution.job.progress",
        "execution.job.succeeded",
    ]
    for _, payload, source in bus.events:
        assert set(payload) == KEYS
        assert payload["job_id"] == job.id
        assert payload["name"] == "report_steps"
        assert source == "execution"
    # Each event's kind is its type's last part, and its status the one that kind leads to.
    assert [(p["kind"], p["status"]) for _, p, _ in bus.events] == [
        ("queued", "pending"),
        ("started", "running"),
        ("progress", "running"),
        ("progress", "running"),
        ("succeeded", "succeeded"),
    ]
    assert bus.events[2][1]["current"] == 1.0
    assert bus.events[2][1]["total"] == 2.0
    assert bus.events[-1][1] == {
        "job_id": job.id,
        "name": "report_steps",
        "kind": "succeeded",
        "status": "succeeded",
        "current": 2.0,
        "total": 2.0,
        "error": None,
    }


def test_a_failed_job_event_carries_the_error(make_workers: WorkersFactory) -> None:
    bus = RecordingBus()
    workers = make_workers(events=bus)
    workers.submit(fail_with_value_error, "broken").exception(timeout=10)
    settle(bus, 3)
    event_type, payload, _ = bus.events[-1]
    assert event_type == "execution.job.failed"
    assert payload["status"] == "failed"
    assert payload["error"] == "ValueError: broken"


def test_cancelled_and_timed_out_jobs_emit_their_events(make_workers: WorkersFactory) -> None:
    bus = RecordingBus()
    workers = make_workers(max_workers=1, events=bus)
    running = workers.schedule(sleep_then_return, args=(0.6,), timeout=0.1)
    queued = workers.submit(sleep_then_return, 0)
    queued.cancel()
    running.exception(timeout=10)
    settle(bus, 5)
    kinds = {event_type for event_type, _, _ in bus.events}
    assert {"execution.job.cancelled", "execution.job.timed_out"} <= kinds


def test_a_job_listener_sees_every_change_until_removed(make_workers: WorkersFactory) -> None:
    seen: list[tuple[str, str]] = []
    workers = make_workers()

    def listener(job: Job[object]) -> None:
        seen.append((job.id, job.status.value))

    remove = workers.add_job_listener(listener)
    first = workers.submit(report_steps, 1)
    first.result(timeout=10)
    deadline = time.monotonic() + 10
    while (first.id, "succeeded") not in seen and time.monotonic() < deadline:
        time.sleep(0.005)
    assert [status for job_id, status in seen if job_id == first.id] == [
        "pending",
        "running",
        "running",
        "succeeded",
    ]
    remove()
    second = workers.submit(report_steps, 1)
    second.result(timeout=10)
    time.sleep(0.05)
    assert all(job_id != second.id for job_id, _ in seen)
    assert [job.id for job in workers.jobs()] == [first.id, second.id]


def test_a_failing_listener_is_logged_and_does_not_break_the_job(
    make_workers: WorkersFactory, caplog: pytest.LogCaptureFixture
) -> None:
    workers = make_workers()

    def broken(job: Job[object]) -> None:
        raise RuntimeError("listener bug")

    workers.add_job_listener(broken)
    assert workers.submit(report_steps, 1).result(timeout=10) == 1
    assert "listener bug" in caplog.text


def test_jobs_remembers_only_the_recent_history() -> None:
    with ThreadWorkers(max_workers=1, history_limit=3) as workers:
        jobs = [workers.submit(sleep_then_return, 0, n) for n in range(5)]
        for job in jobs:
            job.result(timeout=10)
        assert workers.jobs() == jobs[-3:]


def test_add_job_listener_rejects_a_non_callable() -> None:
    with ProcessWorkers(max_workers=1) as workers, pytest.raises(TypeError, match="callable"):
        workers.add_job_listener("not a function")  # type: ignore[arg-type]
