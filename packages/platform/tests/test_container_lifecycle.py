from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from atomiton.platform import Container, ContainerError, ResolutionError

Log = list[str]


class Resource:
    """Records close() into the shared log given at construction."""

    def __init__(self, name: str, log: Log, fail: bool = False) -> None:
        self.name = name
        self.log = log
        self.fail = fail

    def close(self) -> None:
        self.log.append(f"close {self.name}")
        if self.fail:
            raise RuntimeError(f"{self.name} failed to close")


class AsyncResource:
    def __init__(self, log: Log) -> None:
        self.log = log

    async def aclose(self) -> None:
        self.log.append("aclose")


class Managed:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.entered = False

    def __enter__(self) -> Managed:
        self.entered = True
        self.log.append("enter")
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.append("exit")


class AsyncManaged:
    def __init__(self, log: Log) -> None:
        self.log = log

    async def __aenter__(self) -> AsyncManaged:
        self.log.append("aenter")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.log.append("aexit")


class Logger:
    pass


class Server:
    def __init__(self, logger: Logger, log: Log) -> None:
        self.log = log

    def start(self) -> None:
        self.log.append("start server")


class Worker:
    def __init__(self, server: Server, log: Log) -> None:
        self.log = log

    def start(self) -> None:
        self.log.append("start worker")


class AsyncStarter:
    def __init__(self, log: Log) -> None:
        self.log = log

    async def start(self) -> None:
        self.log.append("async start")


def test_generator_factory_cleans_up_after_yield() -> None:
    log: Log = []

    def connect() -> Iterator[Resource]:
        log.append("open")
        yield Resource("db", log)
        log.append("cleanup db")

    with Container() as container:
        container.singleton(Resource, connect)
        assert container[Resource].name == "db"
        assert log == ["open"]
    assert log == ["open", "cleanup db"]


def test_cleanup_runs_in_reverse_creation_order() -> None:
    log: Log = []
    container = Container()
    container.singleton("first", lambda: Resource("first", log))
    container.singleton("second", lambda: Resource("second", log))
    container.singleton("third", lambda: Resource("third", log))
    for key in ("second", "first", "third"):
        container.resolve(key)
    container.close()
    assert log == ["close third", "close first", "close second"]


def test_a_failing_cleanup_does_not_stop_the_others_and_all_are_raised_together() -> None:
    log: Log = []
    container = Container()
    container.singleton("a", lambda: Resource("a", log, fail=True))
    container.singleton("b", lambda: Resource("b", log))
    container.singleton("c", lambda: Resource("c", log, fail=True))
    for key in ("a", "b", "c"):
        container.resolve(key)
    with pytest.raises(ExceptionGroup) as info:
        container.close()
    assert log == ["close c", "close b", "close a"]
    assert sorted(str(e) for e in info.value.exceptions) == [
        "a failed to close",
        "c failed to close",
    ]


def test_context_manager_services_are_entered_and_exited() -> None:
    log: Log = []
    container = Container()
    container.instance("log", log)
    container.singleton(Managed, lambda: Managed(log))
    assert container[Managed].entered
    container.close()
    assert log == ["enter", "exit"]


def test_close_forgets_built_singletons_so_they_are_rebuilt() -> None:
    log: Log = []
    container = Container()
    container.singleton(Resource, lambda: Resource("r", log))
    first = container[Resource]
    container.close()
    assert container[Resource] is not first


def test_instances_are_not_closed_by_the_container() -> None:
    log: Log = []
    container = Container()
    container.instance(Resource, Resource("mine", log))
    container.resolve(Resource)
    container.close()
    assert log == []


def test_transients_with_cleanup_are_cleaned_up_too() -> None:
    log: Log = []
    container = Container()
    count = iter(range(10))
    container.transient(Resource, lambda: Resource(f"t{next(count)}", log))
    container.resolve(Resource)
    container.resolve(Resource)
    container.close()
    assert log == ["close t1", "close t0"]


def test_generator_yielding_twice_is_reported() -> None:
    def twice() -> Iterator[int]:
        yield 1
        yield 2

    container = Container()
    container.singleton("n", twice)
    container.resolve("n")
    with pytest.raises(ExceptionGroup) as info:
        container.close()
    assert "yielded more than once" in str(info.value.exceptions[0])


def test_start_runs_in_dependency_order_once() -> None:
    log: Log = []
    container = Container()
    container.instance(list, log)
    container.singleton(Logger)
    container.singleton(Worker, _make_worker)
    container.singleton(Server, _make_server)
    container.start()
    container.start()
    assert log == ["start server", "start worker"]


def _make_server(logger: Logger, log: list) -> Server:  # type: ignore[type-arg]
    return Server(logger, log)


def _make_worker(server: Server, log: list) -> Worker:  # type: ignore[type-arg]
    return Worker(server, log)


def test_sync_start_refuses_async_start_methods() -> None:
    container = Container()
    container.singleton(AsyncStarter, lambda: AsyncStarter([]))
    with pytest.raises(ContainerError, match="astart"):
        container.start()


async def test_async_start_and_async_cleanup() -> None:
    log: Log = []

    async def open_resource() -> AsyncIterator[Resource]:
        log.append("open")
        yield Resource("agen", log)
        log.append("agen cleanup")

    async def make_starter() -> AsyncStarter:
        return AsyncStarter(log)

    async with Container() as container:
        container.singleton(Resource, open_resource)
        container.singleton(AsyncStarter, make_starter)
        container.singleton(AsyncResource, lambda: AsyncResource(log))
        container.singleton(AsyncManaged, lambda: AsyncManaged(log))
        await container.astart()
        assert isinstance(await container.aresolve(Resource), Resource)
        await container.aresolve(AsyncResource)
        await container.aresolve(AsyncManaged)
        assert log == ["open", "aenter", "async start"]
    assert log[3:] == ["aexit", "aclose", "agen cleanup"]


async def test_async_factory_needs_aresolve() -> None:
    async def make() -> Logger:
        return Logger()

    container = Container()
    container.singleton(Logger, make)
    with pytest.raises(ResolutionError, match="aresolve"):
        container.resolve(Logger)
    logger = await container.aresolve(Logger)
    assert container.resolve(Logger) is logger


def test_sync_close_reports_async_only_cleanups() -> None:
    container = Container()
    container.singleton(AsyncResource, lambda: AsyncResource([]))
    container.resolve(AsyncResource)
    with pytest.raises(ExceptionGroup) as info:
        container.close()
    assert "aclose" in str(info.value.exceptions[0])


def test_sixteen_threads_racing_build_a_slow_singleton_exactly_once() -> None:
    built: list[int] = []

    def slow() -> object:
        time.sleep(0.05)
        built.append(1)
        return object()

    container = Container()
    container.singleton("slow", slow)
    barrier = threading.Barrier(16)
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        results.append(container.resolve("slow"))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert len(results) == 16
    assert all(result is results[0] for result in results)


async def test_concurrent_tasks_build_an_async_singleton_once() -> None:
    import asyncio

    built: list[int] = []

    async def slow() -> Logger:
        await asyncio.sleep(0.01)
        built.append(1)
        return Logger()

    container = Container()
    container.singleton(Logger, slow)
    results = await asyncio.gather(*(container.aresolve(Logger) for _ in range(10)))
    assert len(built) == 1
    assert all(result is results[0] for result in results)


async def test_async_cleanups_run_in_reverse_order_and_failures_are_raised_together() -> None:
    log: Log = []

    class Failing:
        def __init__(self, name: str, fail: bool) -> None:
            self.name, self.fail = name, fail

        async def aclose(self) -> None:
            log.append(f"aclose {self.name}")
            if self.fail:
                raise RuntimeError(f"{self.name} failed to close")

    async def open_stream() -> AsyncIterator[str]:
        yield "stream"
        log.append("stream cleanup")
        raise OSError("stream failed to close")

    container = Container()
    container.singleton("a", lambda: Failing("a", True))
    container.singleton("stream", open_stream)
    container.singleton("c", lambda: Failing("c", False))
    for key in ("a", "stream", "c"):
        await container.aresolve(key)
    with pytest.raises(ExceptionGroup) as info:
        await container.aclose()
    assert log == ["aclose c", "stream cleanup", "aclose a"]
    assert [str(e) for e in info.value.exceptions] == [
        "stream failed to close",
        "a failed to close",
    ]


def test_an_alias_key_of_a_built_service_adds_no_second_cleanup() -> None:
    # The provider pattern: "events" resolves to the same object as the EventBus registration.
    log: Log = []
    container = Container()
    container.singleton(Resource, lambda: Resource("bus", log))
    container.singleton("events", lambda: container.resolve(Resource))
    container.singleton(Managed, lambda: Managed(log))
    container.transient("managed", lambda: container.resolve(Managed))
    assert container["events"] is container[Resource]
    assert container["managed"] is container["managed"] is container[Managed]
    container.close()
    assert log == ["enter", "exit", "close bus"]


def test_an_instance_returned_by_a_factory_is_still_not_cleaned_up() -> None:
    log: Log = []
    container = Container()
    container.instance(Resource, Resource("mine", log))
    container.singleton("alias", lambda: container.resolve(Resource))
    container.resolve("alias")
    container.close()
    assert log == []


async def test_an_async_alias_key_adds_no_second_cleanup() -> None:
    log: Log = []

    async def alias() -> AsyncResource:
        resource: AsyncResource = await container.aresolve(AsyncResource)
        return resource

    container = Container()
    container.singleton(AsyncResource, lambda: AsyncResource(log))
    container.singleton("alias", alias)
    assert await container.aresolve("alias") is await container.aresolve(AsyncResource)
    await container.aclose()
    assert log == ["aclose"]
