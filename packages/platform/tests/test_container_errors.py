from __future__ import annotations

import pytest

from atomiton.platform import (
    CircularDependencyError,
    Container,
    ResolutionError,
    ScopeError,
)


class A:
    def __init__(self, b: B) -> None:
        self.b = b


class B:
    def __init__(self, a: A) -> None:
        self.a = a


class SelfLoop:
    def __init__(self, me: SelfLoop) -> None:
        self.me = me


class Request:
    pass


class Cache:
    def __init__(self, request: Request) -> None:
        self.request = request


class Handler:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache


class Broken:
    def __init__(self, thing: Undefined) -> None:  # type: ignore[name-defined]  # noqa: F821
        self.thing = thing


def test_cycle_message_shows_the_cycle() -> None:
    container = Container()
    container.singleton(A)
    container.singleton(B)
    with pytest.raises(CircularDependencyError, match="A -> B -> A") as info:
        container.resolve(A)
    assert info.value.cycle == (A, B, A)


def test_self_dependency_is_a_cycle() -> None:
    container = Container()
    container.transient(SelfLoop)
    with pytest.raises(CircularDependencyError, match="SelfLoop -> SelfLoop"):
        container.resolve(SelfLoop)


def test_validate_finds_cycles_without_constructing() -> None:
    container = Container()
    container.singleton(A)
    container.singleton(B)
    with pytest.raises(CircularDependencyError, match="A -> B -> A"):
        container.validate()


def test_validate_finds_missing_registrations_without_constructing() -> None:
    built: list[str] = []

    def make_handler(cache: Cache) -> Handler:
        built.append("handler")
        return Handler(cache)

    container = Container()
    container.singleton(Handler, make_handler)
    container.transient(Cache)
    with pytest.raises(ResolutionError, match="Handler -> Cache -> Request"):
        container.validate()
    assert built == []


def test_validate_passes_a_sound_graph_and_builds_nothing() -> None:
    built: list[str] = []

    def make_request() -> Request:
        built.append("request")
        return Request()

    container = Container()
    container.scoped(Request, make_request)
    container.transient(Cache)
    container.transient(Handler)
    container.validate()
    assert built == []


def test_scoped_outside_a_scope_is_a_scope_error() -> None:
    container = Container()
    container.scoped(Request)
    with pytest.raises(ScopeError, match="Request is scoped"):
        container.resolve(Request)


def test_transient_depending_on_scoped_outside_a_scope_is_a_scope_error() -> None:
    container = Container()
    container.scoped(Request)
    container.transient(Cache)
    with pytest.raises(ScopeError, match="Request is scoped"):
        container.resolve(Cache)


def test_singleton_depending_on_scoped_is_a_scope_error_even_inside_a_scope() -> None:
    container = Container()
    container.scoped(Request)
    container.transient(Cache)
    container.singleton(Handler)
    with (
        container.scope() as scope,
        pytest.raises(ScopeError, match="singleton Handler depends on scoped Request"),
    ):
        scope.resolve(Handler)
    with pytest.raises(ScopeError, match=r"Handler -> Cache -> Request"):
        container.validate()


def test_unevaluable_annotation_names_the_factory() -> None:
    container = Container()
    container.singleton(Broken)
    with pytest.raises(
        ResolutionError, match=r"annotation 'Undefined' of parameter 'thing' of Broken.*defined"
    ):
        container.resolve(Broken)
    with pytest.raises(ResolutionError, match="parameter 'thing' of Broken"):
        container.validate()
