"""The dependency-injection container: register by type or string key, resolve lazily, clean up.

This module is the public face; the resolution engine (compiled builders, async resolution,
graph checks) is in ``_resolution.py``.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, overload

from atomiton.platform._building import MISSING, cycle_from_recursion
from atomiton.platform._errors import ContainerError
from atomiton.platform._lifecycle import arun_cleanups, raise_failures, run_cleanups
from atomiton.platform._resolution import Resolver
from atomiton.platform._scope import Scope
from atomiton.platform._starting import astart_services, start_services
from atomiton.platform._wiring import (
    INSTANCE,
    SCOPED,
    SINGLETON,
    TRANSIENT,
    Key,
    Registration,
    describe,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from types import TracebackType

T = TypeVar("T")


def _check_key(key: object) -> None:
    if not isinstance(key, (type, str)):
        raise TypeError(f"a container key must be a type or a string, got {key!r}")


class Container(Resolver):
    """Registers services by type or string key and builds them, dependencies first, on first use.

    Example::

        container = Container()
        container.singleton(Settings)
        container.singleton(Database, open_database)   # a generator factory: yield, then close
        container.transient(Repository)                # __init__(self, db: Database) autowired
        repo = container.resolve(Repository)           # or container[Repository]
        container.close()                              # cleans up in reverse creation order
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<Container: {len(self._registrations)} registrations, {len(self._created)} built>"

    # ----------------------------------------------------------------- registering

    def singleton(self, key: Key, factory: Callable[..., Any] | None = None) -> None:
        """Register ``key`` as one shared instance, built on first resolve.

        Args:
            key: A type, or a string key (which then needs a factory).
            factory: Any callable (class, function, generator function, async function); its
                parameters are autowired from their annotations. Defaults to ``key`` itself.
        """
        self._register(key, SINGLETON, factory)

    def transient(self, key: Key, factory: Callable[..., Any] | None = None) -> None:
        """Register ``key`` as a new instance on every resolve (arguments as for ``singleton``)."""
        self._register(key, TRANSIENT, factory)

    def scoped(self, key: Key, factory: Callable[..., Any] | None = None) -> None:
        """Register ``key`` as one instance per ``container.scope()``.

        Arguments as for ``singleton``; resolving it outside a scope raises ScopeError.
        """
        self._register(key, SCOPED, factory)

    def instance(self, key: Key, obj: Any) -> None:
        """Register an existing object for ``key``. The container does not clean it up."""
        _check_key(key)
        with self._lock:
            self._registrations[key] = Registration(key, INSTANCE, value=obj)
            self._instances[key] = obj
            self._invalidate()

    def has(self, key: Key) -> bool:
        """Whether anything is registered for ``key``."""
        return key in self._registrations

    __contains__ = has

    def _register(self, key: Key, lifetime: str, factory: Callable[..., Any] | None) -> None:
        _check_key(key)
        if factory is None:
            if not isinstance(key, type):
                raise TypeError(
                    f"the string key {key!r} needs a factory: "
                    f"container.{lifetime}({key!r}, factory)"
                )
            factory = key
        elif not callable(factory):
            raise TypeError(f"the factory for {describe(key)} must be callable, got {factory!r}")
        with self._lock:
            self._registrations[key] = Registration(key, lifetime, factory)
            self._instances.pop(key, None)
            self._invalidate()

    def _invalidate(self) -> None:
        self._builders.clear()
        self._direct.clear()

    # ----------------------------------------------------------------- resolving

    @overload
    def resolve(self, key: type[T]) -> T: ...
    @overload
    def resolve(self, key: str) -> Any: ...

    def resolve(self, key: Key) -> Any:
        """The service for ``key``, built (with its dependencies) on first need.

        Raises:
            ResolutionError: Nothing is registered for it or a dependency, or its factory is
                async (use ``aresolve``).
            CircularDependencyError: Its dependencies form a cycle.
            ScopeError: It is scoped (resolve it from a scope), or it is a singleton that
                depends on a scoped service.
        """
        instance = self._instances.get(key, MISSING)
        if instance is MISSING:
            try:
                direct = self._direct.get(key)
                if direct is not None:
                    return direct()
                return self._resolve_slow(key, None)
            except RecursionError as error:
                cycle = cycle_from_recursion(error, key)
                if cycle is None:
                    raise
                raise cycle from None
        return instance

    __getitem__ = resolve

    @overload
    async def aresolve(self, key: type[T]) -> T: ...
    @overload
    async def aresolve(self, key: str) -> Any: ...

    async def aresolve(self, key: Key) -> Any:
        """Like ``resolve``, but also builds services with async factories.

        Async factories are ``async def`` functions and async generators; async-only context
        managers are entered (``__aenter__``).
        """
        instance = self._instances.get(key, MISSING)
        if instance is not MISSING:
            return instance
        return await self._aresolve(key, None, [])

    def scope(self) -> Scope:
        """A new scope for per-request services: ``with container.scope() as scope:``."""
        return Scope(self)

    # ----------------------------------------------------------------- checking

    def validate(self) -> None:
        """Check the whole graph without constructing anything.

        Raises:
            ResolutionError: A registration needs something that is not registered.
            CircularDependencyError: There is a cycle.
            ScopeError: A singleton depends on a scoped service.
        """
        done: set[Key] = set()
        for key in list(self._registrations):
            self._validate(key, [], done)

    # ----------------------------------------------------------------- testing

    @contextmanager
    def override(self, key: Key, obj_or_factory: Any) -> Iterator[None]:
        """Replace ``key``'s registration inside the ``with`` block, then restore it.

        A class or function is used as a factory with the original registration's lifetime
        (singleton if ``key`` was not registered); anything else is used as the instance.
        Singletons built during the override are forgotten when it ends.
        """
        _check_key(key)
        with self._lock:
            saved = self._registrations.get(key)
            saved_instances = dict(self._instances)
            if _is_factory(obj_or_factory):
                lifetime = (
                    SINGLETON if saved is None or saved.lifetime == INSTANCE else saved.lifetime
                )
                self._registrations[key] = Registration(key, lifetime, obj_or_factory)
                self._instances.pop(key, None)
            else:
                self._registrations[key] = Registration(key, INSTANCE, value=obj_or_factory)
                self._instances[key] = obj_or_factory
            self._invalidate()
        try:
            yield
        finally:
            with self._lock:
                if saved is None:
                    self._registrations.pop(key, None)
                else:
                    self._registrations[key] = saved
                self._instances.clear()
                self._instances.update(saved_instances)
                self._invalidate()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Build every singleton and call ``start()`` on those that have one, dependencies first.

        Raises:
            ContainerError: A service's ``start`` is async (use ``await container.astart()``).
        """
        for key, registration in list(self._registrations.items()):
            if registration.lifetime == SINGLETON:
                self.resolve(key)
        start_services(self._created, self._started)

    async def astart(self) -> None:
        """Async twin of ``start``: awaits ``async def start()`` and async factories."""
        for key, registration in list(self._registrations.items()):
            if registration.lifetime == SINGLETON:
                await self.aresolve(key)
        await astart_services(self._created, self._started)

    def _forget_built(self) -> None:
        self._singletons.wait_for_other_threads()
        with self._lock:
            for key, registration in self._registrations.items():
                if registration.lifetime != INSTANCE:
                    self._instances.pop(key, None)
            self._created.clear()
            self._started.clear()
            self._invalidate()

    def close(self) -> None:
        """Clean up everything the container built, in reverse creation order.

        Generator factories resume after their ``yield``, context managers exit, and services
        with ``close()`` are closed. Every cleanup runs even if others fail.

        Raises:
            ExceptionGroup: One or more cleanups failed (all of them are in it).
        """
        self._forget_built()
        raise_failures(run_cleanups(self._cleanups), "the container")

    async def aclose(self) -> None:
        """Async twin of ``close``.

        Also finishes async generators, exits async context managers and awaits ``aclose()``.
        """
        self._forget_built()
        raise_failures(await arun_cleanups(self._cleanups), "the container")

    def __enter__(self) -> Container:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Container:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ----------------------------------------------------------------- composition

    @classmethod
    def from_installed(cls, settings: Mapping[str, Any] | None = None) -> Container:
        """A container composed by every installed atomiton package's provider.

        Loads the entry points of group ``atomiton.providers`` (``atomiton.platform`` first,
        then by name) and calls each ``provide(container, settings)``.

        Raises:
            ContainerError: A provider cannot be loaded (the entry point is named).
        """
        # Not importlib.metadata.entry_points: it costs ~30 ms cold (issue 19); this reads only
        # the entry_points.txt files, with the same result.
        from atomiton.platform import _entry_points

        container = cls()
        seen: set[tuple[str, str]] = set()
        points = sorted(
            _entry_points.installed("atomiton.providers"),
            key=lambda ep: (ep.name != "platform", ep.name),
        )
        for point in points:
            if (point.name, point.value) in seen:
                continue
            seen.add((point.name, point.value))
            try:
                provide = point.load()
            except Exception as exc:
                raise ContainerError(
                    f"cannot load the atomiton provider {point.name} = {point.value}: {exc}"
                ) from exc
            try:
                provide(container, settings)
            except Exception as exc:
                exc.add_note(f"while running the atomiton provider {point.name} = {point.value}")
                raise
        return container


def _is_factory(obj: Any) -> bool:
    import inspect

    return isinstance(obj, (type, functools.partial)) or inspect.isroutine(obj)
