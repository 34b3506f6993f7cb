"""Threads and the container: unrelated singletons never wait on each other, and a cycle of
``resolve()`` calls inside factories is a ``CircularDependencyError`` (never a hang or a bare
``RecursionError``), on one thread and across threads.

Every thread is a daemon joined with a bound, so a regression fails the test instead of
hanging the run.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from atomiton.platform import CircularDependencyError, Container

JOIN_BOUND = 10.0  # seconds; only reached when the container deadlocks


def run_in_thread(target: Any) -> tuple[threading.Thread, list[Any]]:
    """Start ``target`` in a daemon thread; the list receives its result or its exception."""
    outcome: list[Any] = []

    def body() -> None:
        try:
            outcome.append(target())
        except BaseException as error:  # the test inspects it
            outcome.append(error)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


def finish(thread: threading.Thread) -> None:
    thread.join(JOIN_BOUND)
    assert not thread.is_alive(), "deadlocked: the thread never finished"


class Clock:
    pass


class Poller:
    """A singleton whose constructor resolves another singleton in a thread and joins it."""

    def __init__(self, container: Container) -> None:
        thread, outcome = run_in_thread(lambda: container.resolve(Clock))
        finish(thread)
        self.clock = outcome[0]


@pytest.mark.timeout(60)
def test_a_constructor_may_resolve_an_unrelated_singleton_in_a_thread_and_join_it() -> None:
    container = Container()
    container.singleton(Clock)
    container.singleton(Poller, lambda: Poller(container))
    thread, outcome = run_in_thread(lambda: container.resolve(Poller))
    finish(thread)
    (poller,) = outcome
    assert isinstance(poller, Poller)
    assert poller.clock is container.resolve(Clock)


@pytest.mark.timeout(60)
def test_a_slow_singleton_does_not_block_an_unrelated_one() -> None:
    release = threading.Event()
    building = threading.Event()

    def slow() -> object:
        building.set()
        assert release.wait(JOIN_BOUND)
        return object()

    container = Container()
    container.singleton("slow", slow)
    container.singleton(Clock)
    slow_thread, slow_outcome = run_in_thread(lambda: container.resolve("slow"))
    assert building.wait(JOIN_BOUND)
    fast_thread, fast_outcome = run_in_thread(lambda: container.resolve(Clock))
    finish(fast_thread)  # while "slow" is still being built
    assert isinstance(fast_outcome[0], Clock)
    assert slow_thread.is_alive()
    release.set()
    finish(slow_thread)
    assert slow_outcome[0] is container.resolve("slow")


def test_singletons_resolving_each_other_in_factories_are_a_cycle_on_one_thread() -> None:
    container = Container()
    container.singleton("a", lambda: ("a", container.resolve("b")))
    container.singleton("b", lambda: ("b", container.resolve("a")))
    with pytest.raises(CircularDependencyError) as info:
        container.resolve("a")
    assert info.value.cycle == ("a", "b", "a")
    assert "circular dependency: 'a' -> 'b' -> 'a'" in str(info.value)
    # Nothing half-built stays behind: a corrected registration builds normally.
    container.singleton("b", lambda: "b")
    assert container.resolve("a") == ("a", "b")


@pytest.mark.timeout(60)
def test_a_cycle_across_two_threads_is_an_error_in_both_not_a_deadlock() -> None:
    a_started, b_started = threading.Event(), threading.Event()

    def make_a() -> object:
        a_started.set()
        assert b_started.wait(JOIN_BOUND)
        return ("a", container.resolve("b"))

    def make_b() -> object:
        b_started.set()
        assert a_started.wait(JOIN_BOUND)
        return ("b", container.resolve("a"))

    container = Container()
    container.singleton("a", make_a)
    container.singleton("b", make_b)
    thread_a, outcome_a = run_in_thread(lambda: container.resolve("a"))
    thread_b, outcome_b = run_in_thread(lambda: container.resolve("b"))
    finish(thread_a)
    finish(thread_b)
    for outcome in (outcome_a, outcome_b):
        (error,) = outcome
        assert isinstance(error, CircularDependencyError), repr(error)
        assert set(error.cycle) == {"a", "b"}
        assert error.cycle[0] == error.cycle[-1]


def test_a_cycle_through_a_chain_of_three_singletons_names_every_key() -> None:
    container = Container()
    container.singleton("a", lambda: container.resolve("b"))
    container.singleton("b", lambda: container.resolve("c"))
    container.singleton("c", lambda: container.resolve("a"))
    with pytest.raises(CircularDependencyError) as info:
        container.resolve("b")
    assert info.value.cycle == ("b", "c", "a", "b")


@pytest.mark.parametrize("lifetime", ["transient", "scoped"])
def test_transients_resolving_each_other_in_factories_are_a_cycle_not_a_recursion_error(
    lifetime: str,
) -> None:
    container = Container()
    with container.scope() as scope:
        resolver = container if lifetime == "transient" else scope
        register = getattr(container, lifetime)
        register("a", lambda: ("a", resolver.resolve("b")))
        register("b", lambda: ("b", resolver.resolve("a")))
        with pytest.raises(CircularDependencyError) as info:
            resolver.resolve("a")
    assert set(info.value.cycle) == {"a", "b"}
    assert len(info.value.cycle) == 3
    assert info.value.cycle[0] == info.value.cycle[-1]
    assert info.value.__cause__ is None  # not a chain of a thousand frames


def test_a_factory_that_recurses_on_its_own_keeps_its_recursion_error() -> None:
    def deep(n: int) -> int:
        return deep(n + 1)

    container = Container()
    container.transient("deep", lambda: deep(0))
    with pytest.raises(RecursionError):
        container.resolve("deep")


@pytest.mark.timeout(60)
def test_a_failed_build_lets_a_waiting_thread_build_it_again() -> None:
    building = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def flaky() -> object:
        calls.append(1)
        if len(calls) == 1:
            building.set()
            assert release.wait(JOIN_BOUND)
            raise OSError("first build fails")
        return "built"

    container = Container()
    container.singleton("flaky", flaky)
    first, first_outcome = run_in_thread(lambda: container.resolve("flaky"))
    assert building.wait(JOIN_BOUND)
    second, second_outcome = run_in_thread(lambda: container.resolve("flaky"))
    release.set()
    finish(first)
    finish(second)
    assert isinstance(first_outcome[0], OSError)
    assert second_outcome == ["built"]
    assert len(calls) == 2


async def test_async_singletons_awaiting_each_other_are_a_cycle_not_a_hang() -> None:
    container = Container()

    async def make_a() -> object:
        return ("a", await container.aresolve("b"))

    async def make_b() -> object:
        return ("b", await container.aresolve("a"))

    container.singleton("a", make_a)
    container.singleton("b", make_b)
    with pytest.raises(CircularDependencyError) as info:
        await asyncio.wait_for(container.aresolve("a"), JOIN_BOUND)
    assert info.value.cycle == ("a", "b", "a")


async def test_an_async_cycle_across_two_tasks_is_an_error_in_both() -> None:
    a_started, b_started = asyncio.Event(), asyncio.Event()

    async def make_a() -> object:
        a_started.set()
        await b_started.wait()
        return ("a", await container.aresolve("b"))

    async def make_b() -> object:
        b_started.set()
        await a_started.wait()
        return ("b", await container.aresolve("a"))

    container = Container()
    container.singleton("a", make_a)
    container.singleton("b", make_b)
    results = await asyncio.wait_for(
        asyncio.gather(container.aresolve("a"), container.aresolve("b"), return_exceptions=True),
        JOIN_BOUND,
    )
    for error in results:
        assert isinstance(error, CircularDependencyError), repr(error)
        assert set(error.cycle) == {"a", "b"}


async def test_an_unrelated_async_singleton_is_built_while_another_waits() -> None:
    release, building = asyncio.Event(), asyncio.Event()

    async def slow() -> object:
        building.set()
        await release.wait()
        return "slow"

    container = Container()
    container.singleton("slow", slow)
    container.singleton(Clock)
    pending = asyncio.ensure_future(container.aresolve("slow"))
    await building.wait()
    assert isinstance(await asyncio.wait_for(container.aresolve(Clock), JOIN_BOUND), Clock)
    assert not pending.done()
    release.set()
    assert await pending == "slow"


class Resource:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.mark.timeout(60)
def test_close_waits_for_a_singleton_another_thread_is_building_and_cleans_it_up() -> None:
    building, release = threading.Event(), threading.Event()

    def slow() -> Resource:
        building.set()
        assert release.wait(JOIN_BOUND)
        return Resource()

    container = Container()
    container.singleton(Resource, slow)
    builder, built = run_in_thread(lambda: container.resolve(Resource))
    assert building.wait(JOIN_BOUND)
    closer, closed = run_in_thread(container.close)
    release.set()
    finish(builder)
    finish(closer)
    assert closed == [None]
    (resource,) = built
    assert resource.closed  # cleaned up by that close, not left for a later one
    assert container.resolve(Resource) is not resource  # the closed container forgot it
