"""provide(): ProcessWorkers under its type and "workers", built lazily, shut down on close."""

from __future__ import annotations

import time

from atomiton.execution import ProcessWorkers, provide
from atomiton.platform import Container, capabilities

from .execution_jobs import RecordingBus, square


def test_provide_registers_one_lazy_pool_under_type_and_key() -> None:
    container = Container()
    provide(container)
    assert container.has(ProcessWorkers)
    assert container.has("workers")
    workers = container.resolve("workers")
    try:
        assert container.resolve(ProcessWorkers) is workers
        assert workers.max_workers == capabilities().cpu_count
        assert workers.submit(square, 6).result(timeout=30) == 36
    finally:
        container.close()
    assert workers._shutdown


def test_settings_size_the_pool() -> None:
    container = Container()
    provide(container, {"workers.max_workers": 1, "workers.min_workers": 1})
    with container:
        workers = container.resolve(ProcessWorkers)
        assert workers.max_workers == 1
        assert len(workers.stats().workers) == 1


def test_an_events_bus_in_the_container_receives_job_events() -> None:
    bus = RecordingBus()
    container = Container()
    provide(container)
    container.instance("events", bus)  # registered after provide(): looked up when built
    with container:
        workers = container.resolve(ProcessWorkers)
        workers.submit(square, 2).result(timeout=30)
        deadline = time.monotonic() + 10
        while len(bus.events) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
    assert [event_type for event_type, _, _ in bus.events] == [
        "execution.job.queued",
        "execution.job.started",
        "execution.job.succeeded",
    ]


def test_closing_the_container_stops_the_worker_processes() -> None:
    container = Container()
    provide(container, {"workers.min_workers": 1, "workers.max_workers": 1})
    workers = container.resolve("workers")
    pid = workers.stats().workers[0].pid
    container.close()
    assert workers.stats().workers == ()
    assert pid is not None


def test_from_installed_finds_this_provider_through_its_entry_point() -> None:
    with Container.from_installed() as container:
        assert container.has("workers")
        assert container.has(ProcessWorkers)
