"""Static types of the container's overloaded resolve (mypy checks the assert_type calls).

A class key resolves to an instance of that class, a string key to ``Any``; the same holds for
``container[key]``, ``aresolve`` and a scope's twins. Every call also runs, so the values are
checked against what the types promise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, assert_type

from atomiton.platform import Container, Scope


class Clock:
    def now(self) -> float:
        return 1.0


class Greeter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock


class Session:
    pass


async def make_connection() -> AsyncIterator[Session]:
    yield Session()


def build() -> Container:
    container = Container()
    container.singleton(Clock)
    container.transient(Greeter)
    container.scoped(Session)
    container.singleton("greeting", lambda: "hello")
    return container


def test_a_class_key_resolves_to_its_instance_type() -> None:
    with build() as container:
        clock = assert_type(container.resolve(Clock), Clock)
        assert clock.now() == 1.0
        greeter = assert_type(container[Greeter], Greeter)
        assert greeter.clock is clock


def test_a_string_key_resolves_to_any() -> None:
    with build() as container:
        greeting = assert_type(container.resolve("greeting"), Any)
        assert greeting == "hello"
        assert assert_type(container["greeting"], Any) == "hello"


def test_a_scope_resolves_with_the_same_types() -> None:
    with build() as container, container.scope() as scope:
        assert_type(scope, Scope)
        session = assert_type(scope.resolve(Session), Session)
        assert scope[Session] is session
        assert assert_type(scope.resolve("greeting"), Any) == "hello"


async def test_aresolve_keeps_the_class_type() -> None:
    container = Container()
    container.singleton(Session, make_connection)
    container.singleton("name", lambda: "db")
    session = assert_type(await container.aresolve(Session), Session)
    assert isinstance(session, Session)
    assert assert_type(await container.aresolve("name"), Any) == "db"
    async with container.scope() as scope:
        assert assert_type(await scope.aresolve(Session), Session) is session
    await container.aclose()
