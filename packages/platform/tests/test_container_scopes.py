from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from atomiton.platform import Container, ScopeError


class Config:
    pass


class Session:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Handler:
    def __init__(self, session: Session) -> None:
        self.session = session


def make_container() -> Container:
    container = Container()
    container.singleton(Config)
    container.scoped(Session)
    container.transient(Handler)
    return container


def test_scoped_service_is_one_per_scope() -> None:
    container = make_container()
    with container.scope() as first:
        assert first.resolve(Session) is first[Session]
        assert first[Handler].session is first[Session]
        with container.scope() as second:
            assert second[Session] is not first[Session]
            assert first[Session].config is second[Session].config is container[Config]


def test_scope_closes_its_services_on_exit() -> None:
    container = make_container()
    with container.scope() as scope:
        session = scope[Session]
    assert session.closed


def test_scope_cleanup_errors_are_grouped() -> None:
    def failing() -> Iterator[Session]:
        yield Session(Config())
        raise RuntimeError("session cleanup failed")

    container = make_container()
    container.scoped(Session, failing)
    with pytest.raises(ExceptionGroup) as info, container.scope() as scope:
        scope.resolve(Session)
    assert str(info.value.exceptions[0]) == "session cleanup failed"


async def test_async_scope_with_async_generator() -> None:
    log: list[str] = []

    async def open_session(config: Config) -> AsyncIterator[Session]:
        log.append("open")
        yield Session(config)
        log.append("close")

    container = make_container()
    container.scoped(Session, open_session)
    async with container.scope() as scope:
        session = await scope.aresolve(Session)
        assert await scope.aresolve(Session) is session
        assert log == ["open"]
    assert log == ["open", "close"]


async def test_async_resolution_outside_a_scope_is_a_scope_error() -> None:
    async def open_session(config: Config) -> Session:
        return Session(config)

    container = make_container()
    container.scoped(Session, open_session)
    with pytest.raises(ScopeError, match="Session is scoped"):
        await container.aresolve(Session)


def test_singletons_resolved_in_a_scope_stay_with_the_container() -> None:
    container = make_container()
    with container.scope() as scope:
        config = scope[Config]
    assert container[Config] is config


@pytest.mark.parametrize("key", [Session, Handler, Config])
def test_a_closed_scope_resolves_nothing(key: type) -> None:
    container = make_container()
    with container.scope() as scope:
        session = scope[Session]
    assert session.closed
    with pytest.raises(ScopeError, match="this scope is closed"):
        scope.resolve(key)
    with pytest.raises(ScopeError, match="this scope is closed"):
        scope[key]
    scope.close()  # closing again is harmless and cleans nothing twice


async def test_a_closed_scope_resolves_nothing_async() -> None:
    container = make_container()
    async with container.scope() as scope:
        await scope.aresolve(Session)
    with pytest.raises(ScopeError, match="this scope is closed"):
        await scope.aresolve(Session)
