"""atomiton.platform Container resolution against dependency-injector, wireup, svcs and dishka,
in the same run.

Two cases, as in the issue: resolving a singleton that is already built, and resolving a
transient that takes two (singleton) dependencies. Every peer is used the way its docs show:

- dependency-injector: a ``DeclarativeContainer`` with ``providers.Singleton`` / ``Factory``
  (its compiled Cython providers), called as ``container.service()``;
- wireup: ``@injectable`` classes in ``create_sync_container``; singletons with ``get``, the
  transient from a scope entered once (wireup resolves transients only inside a scope);
- svcs: a ``Registry`` with ``register_value`` / ``register_factory``; svcs caches per
  ``Container``, so the transient case builds a fresh ``svcs.Container`` per resolve, which is
  how svcs gives a new instance (its per-request model);
- dishka: a ``Provider`` with ``Scope.APP`` services, the transient one with ``cache=False``.

Targets from the issue: singleton <= 0.3 µs, transient with two dependencies <= 2 µs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import dishka
import pytest
import wireup
from dependency_injector import containers, providers
from pytest_benchmark.fixture import BenchmarkFixture

from atomiton.platform import Container

with warnings.catch_warnings():
    # svcs imports its Starlette integration eagerly, and Starlette warns about httpx there.
    warnings.simplefilter("ignore")
    import svcs

# A resolve call: the callable, then its arguments.
Call = tuple[Any, ...]
IMPLS = ["atomiton", "dependency-injector", "wireup", "svcs", "dishka"]


class Config:
    pass


class Database:
    def __init__(self, config: Config) -> None:
        self.config = config


class Handler:
    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db


# wireup registers classes by decorating them; decorate subclasses so the shared classes stay
# plain for every other peer.
@wireup.injectable
class WConfig(Config):
    pass


@wireup.injectable
class WDatabase(Database):
    def __init__(self, config: WConfig) -> None:
        super().__init__(config)


@wireup.injectable(lifetime="transient")
class WHandler(Handler):
    def __init__(self, config: WConfig, db: WDatabase) -> None:
        super().__init__(config, db)


class _DI(containers.DeclarativeContainer):
    config = providers.Singleton(Config)
    db = providers.Singleton(Database, config=config)
    handler = providers.Factory(Handler, config=config, db=db)


class _DishkaProvider(dishka.Provider):
    config = dishka.provide(Config, scope=dishka.Scope.APP)
    db = dishka.provide(Database, scope=dishka.Scope.APP)
    handler = dishka.provide(Handler, scope=dishka.Scope.APP, cache=False)


def _atomiton() -> tuple[Call, Call]:
    container = Container()
    container.singleton(Config)
    container.singleton(Database)
    container.transient(Handler)
    return (container.resolve, Database), (container.resolve, Handler)


def _dependency_injector() -> tuple[Call, Call]:
    container = _DI()
    return (container.db,), (container.handler,)


_wireup_scopes: list[Any] = []


def _wireup() -> tuple[Call, Call]:
    container = wireup.create_sync_container(injectables=[WConfig, WDatabase, WHandler])
    scope_manager = container.enter_scope()
    scope = scope_manager.__enter__()
    _wireup_scopes.append(scope_manager)
    return (container.get, WDatabase), (scope.get, WHandler)


def _svcs() -> tuple[Call, Call]:
    registry = svcs.Registry()
    config = Config()
    registry.register_value(Config, config)
    registry.register_value(Database, Database(config))

    def make_handler(container: svcs.Container) -> Handler:
        return Handler(*container.get(Config, Database))

    registry.register_factory(Handler, make_handler)
    new_container = svcs.Container

    def fresh_container_get(key: type[Any]) -> Any:
        return new_container(registry).get(key)

    return (svcs.Container(registry).get, Database), (fresh_container_get, Handler)


def _dishka() -> tuple[Call, Call]:
    container = dishka.make_container(_DishkaProvider())
    return (container.get, Database), (container.get, Handler)


SETUPS: dict[str, Callable[[], tuple[Call, Call]]] = {
    "atomiton": _atomiton,
    "dependency-injector": _dependency_injector,
    "wireup": _wireup,
    "svcs": _svcs,
    "dishka": _dishka,
}


@pytest.fixture(autouse=True)
def _close_wireup_scopes() -> Iterator[None]:
    yield
    while _wireup_scopes:
        _wireup_scopes.pop().__exit__(None, None, None)


def _invoke(call: Call) -> Any:
    return call[0](*call[1:])


def _timed(benchmark: BenchmarkFixture, call: Call) -> None:
    # The bound resolve method and its key are passed straight to the timer (no lambda around
    # them), the same way for every peer; many calls per round smooth out a loaded machine.
    benchmark.pedantic(call[0], args=call[1:], rounds=200, iterations=1000, warmup_rounds=3)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="platform: resolve a built singleton")
def test_resolve_singleton(benchmark: BenchmarkFixture, impl: str) -> None:
    singleton, _ = SETUPS[impl]()
    first = _invoke(singleton)
    assert isinstance(first, Database)
    assert _invoke(singleton) is first
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = 0.3e-6
    _timed(benchmark, singleton)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="platform: resolve a transient with 2 deps")
def test_resolve_transient_with_two_dependencies(benchmark: BenchmarkFixture, impl: str) -> None:
    _, transient = SETUPS[impl]()
    first, second = _invoke(transient), _invoke(transient)
    assert isinstance(first, Handler)
    assert first is not second
    assert first.db is second.db
    assert first.config is second.config
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = 2e-6
    _timed(benchmark, transient)
