"""The container's resolution engine: compiled builders, async resolution, graph checks.

The first resolve of a key turns its registration into a *builder*, a closure
``builder(scope) -> service`` that already holds its dependencies' builders, so later resolves
do no signature analysis and no registry walks. Created singletons live in one dict that
``resolve`` reads first; a transient whose dependencies are all singletons or instances is further
promoted to a zero-argument ``functools.partial`` holding them. Any registration change (or
override) drops the compiled builders; they are rebuilt on the next resolve.

Thread safety: compiling happens under the container's lock; creating a singleton does not hold
it. ``_building.SingletonBuilds`` builds each singleton once, makes a thread that needs a key
being built wait for that key only, and raises ``CircularDependencyError`` where waiting would
close a cycle (see its docstring).
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from atomiton.platform._building import MISSING, SingletonBuilds
from atomiton.platform._errors import CircularDependencyError, ResolutionError, ScopeError
from atomiton.platform._lifecycle import Cleanup, acreate, create
from atomiton.platform._wiring import (
    INSTANCE,
    PLAIN,
    SCOPED,
    SINGLETON,
    TRANSIENT,
    Key,
    Registration,
    call_shape,
    chain_text,
    describe,
    plan_arguments,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from atomiton.platform._scope import Scope

    Builder = Callable[[Scope | None], Any]


class Resolver:
    """The state and resolution machinery behind ``Container`` (its public face)."""

    __slots__ = (
        "__weakref__",
        "_builders",
        "_cleanups",
        "_created",
        "_direct",
        "_instances",
        "_lock",
        "_registrations",
        "_singletons",
        "_started",
    )

    def __init__(self) -> None:
        self._registrations: dict[Key, Registration] = {}
        # Created singletons and instance() objects: the first dict resolve reads.
        self._instances: dict[Key, Any] = {}
        # Zero-argument builders of transients whose dependencies are all constants; None marks
        # a key already found not to qualify.
        self._direct: dict[Key, Callable[[], Any] | None] = {}
        self._builders: dict[Key, Builder] = {}
        # Guards the registry and the build table; never held while a factory runs.
        self._lock = threading.RLock()
        self._singletons = SingletonBuilds(self._lock)
        self._cleanups: list[Cleanup] = []
        self._created: list[Any] = []  # singletons in creation (= dependency) order
        self._started: dict[int, Any] = {}

    def _resolve_slow(self, key: Key, scope: Scope | None) -> Any:
        builder = self._builders.get(key)
        if builder is None:
            with self._lock:
                builder = self._compile(key, [])
        service = builder(scope)
        self._promote(key)
        return service

    def _promote(self, key: Key) -> None:
        """Give a plain transient whose dependencies are all built constants a direct builder.

        Called after a successful build, when every singleton it needs exists, so the answer
        is final until the registrations change: a key that cannot be promoted is remembered
        with ``None`` and never checked again.
        """
        if key in self._direct:
            return
        registration = self._registrations.get(key)
        if registration is None:
            return
        direct: Callable[[], Any] | None = None
        if (
            registration.lifetime == TRANSIENT
            and registration.kind == PLAIN
            and not registration.may_clean
            and not registration.is_async
        ):
            arguments = plan_arguments(registration, self._registrations.__contains__, [key])
            instances = self._instances
            if all(dep in instances for _, dep in arguments):
                count, names = call_shape(arguments, registration)
                values = [instances[dep] for _, dep in arguments]
                direct = functools.partial(
                    registration.factory,
                    *values[:count],
                    **dict(zip(names, values[count:], strict=True)),
                )
        with self._lock:
            if self._registrations.get(key) is registration:
                self._direct[key] = direct

    def _owns(self, obj: object) -> bool:
        """Whether ``obj`` is a built singleton or an ``instance()`` of this container."""
        # Identity, not equality; a snapshot, since other threads may add singletons meanwhile.
        return any(value is obj for value in tuple(self._instances.values()))

    # ----------------------------------------------------------------- compiling

    def _lookup(self, key: Key, chain: list[Key]) -> Registration:
        registration = self._registrations.get(key)
        if registration is None:
            needed = f"; needed by {chain_text([*chain, key])}" if chain else ""
            raise ResolutionError(
                f"nothing is registered for {describe(key)}{needed}. Register it with "
                f"container.singleton/transient/scoped/instance({describe(key)}, ...)",
                key,
                [*chain, key],
            )
        if key in chain:
            cycle = [*chain[chain.index(key) :], key]
            raise CircularDependencyError(
                f"circular dependency: {chain_text(cycle)}. Break the cycle, e.g. by letting one "
                "of them take a factory or look the other up later",
                cycle,
            )
        return registration

    def _check_singleton_scope(self, registration: Registration) -> None:
        """A singleton must not depend (even indirectly) on a scoped service."""
        path = self._scoped_path(registration.key, [], set())
        if path is not None:
            raise ScopeError(
                f"singleton {describe(registration.key)} depends on scoped "
                f"{describe(path[-1])} ({chain_text(path)}): a singleton outlives every scope. "
                f"Make {describe(registration.key)} scoped or transient, or "
                f"{describe(path[-1])} a singleton"
            )

    def _scoped_path(self, key: Key, path: list[Key], seen: set[Key]) -> list[Key] | None:
        registration = self._registrations.get(key)
        if registration is None or key in seen:
            return None
        seen.add(key)
        if registration.lifetime == SCOPED and path:
            return [*path, key]
        if registration.lifetime == INSTANCE:
            return None
        arguments = plan_arguments(registration, self._registrations.__contains__, [*path, key])
        for _, dep in arguments:
            found = self._scoped_path(dep, [*path, key], seen)
            if found is not None:
                return found
        return None

    def _compile(self, key: Key, chain: list[Key]) -> Builder:
        """Build (under the lock) and cache the builder of ``key``."""
        builder = self._builders.get(key)
        if builder is not None:
            return builder
        registration = self._lookup(key, chain)
        if registration.lifetime == INSTANCE:
            value = registration.value

            def constant(scope: Scope | None) -> Any:
                return value

            self._builders[key] = constant
            return constant
        chain.append(key)
        try:
            arguments = plan_arguments(registration, self._registrations.__contains__, chain)
            if registration.lifetime == SINGLETON:
                self._check_singleton_scope(registration)
            dependencies = [self._compile(dep, chain) for _, dep in arguments]
        finally:
            chain.pop()
        count, names = call_shape(arguments, registration)
        make = _maker(
            registration,
            dependencies[:count],
            tuple(zip(names, dependencies[count:], strict=True)),
            self._owns,
        )
        built: Builder = getattr(self, f"_{registration.lifetime}_builder")(key, make)
        self._builders[key] = built
        return built

    def _singleton_builder(self, key: Key, make: Callable[..., Any]) -> Builder:
        instances, created, cleanups, build = (
            self._instances,
            self._created,
            self._cleanups,
            self._singletons.build,
        )

        def singleton(scope: Scope | None) -> Any:
            service = instances.get(key, MISSING)
            if service is MISSING:
                service = build(key, lambda: make(None, cleanups), instances, created)
            return service

        return singleton

    def _transient_builder(self, key: Key, make: Callable[..., Any]) -> Builder:
        cleanups = self._cleanups

        def transient(scope: Scope | None) -> Any:
            return make(scope, cleanups if scope is None else scope._cleanups)

        return transient

    def _scoped_builder(self, key: Key, make: Callable[..., Any]) -> Builder:
        def scoped(scope: Scope | None) -> Any:
            if scope is None:
                raise _outside_scope(key)
            cache = scope._cache
            service = cache.get(key, MISSING)
            if service is MISSING:
                service = make(scope, scope._cleanups)
                cache[key] = service
            return service

        return scoped

    async def _aresolve(self, key: Key, scope: Scope | None, chain: list[Key]) -> Any:
        service = self._instances.get(key, MISSING)
        if service is not MISSING:
            return service
        registration = self._lookup(key, chain)
        lifetime = registration.lifetime
        if lifetime == SCOPED:
            if scope is None:
                raise _outside_scope(key)
            service = scope._cache.get(key, MISSING)
            if service is not MISSING:
                return service
        if lifetime == SINGLETON:
            self._check_singleton_scope(registration)
        chain.append(key)
        try:
            arguments = plan_arguments(registration, self._registrations.__contains__, chain)
            values = [
                await self._aresolve(dep, None if lifetime == SINGLETON else scope, chain)
                for _, dep in arguments
            ]
        finally:
            chain.pop()
        count, names = call_shape(arguments, registration)
        args, kwargs = tuple(values[:count]), dict(zip(names, values[count:], strict=True))
        if lifetime == SINGLETON:
            return await self._singletons.abuild(
                key,
                lambda: acreate(registration, args, kwargs, self._cleanups, self._owns),
                self._instances,
                self._created,
            )
        owner = self._cleanups if scope is None else scope._cleanups
        service = await acreate(registration, args, kwargs, owner, self._owns)
        if lifetime == SCOPED and scope is not None:
            scope._cache[key] = service
        return service

    def _validate(self, key: Key, chain: list[Key], done: set[Key]) -> None:
        if key in done:
            return
        registration = self._lookup(key, chain)
        chain.append(key)
        try:
            arguments = plan_arguments(registration, self._registrations.__contains__, chain)
            for _, dep in arguments:
                self._validate(dep, chain, done)
        finally:
            chain.pop()
        if registration.lifetime == SINGLETON:
            self._check_singleton_scope(registration)
        done.add(key)


def _outside_scope(key: Key) -> ScopeError:
    return ScopeError(
        f"{describe(key)} is scoped: resolve it inside a scope, "
        f"`with container.scope() as scope: scope.resolve({describe(key)})`"
    )


def _maker(
    registration: Registration,
    positional: list[Builder],
    keywords: tuple[tuple[str, Builder], ...],
    owned: Callable[[object], bool],
) -> Callable[[Scope | None, list[Cleanup]], Any]:
    """``make(scope, cleanups)``: build the arguments, call the factory, record cleanups.

    Plain classes without cleanup hooks (the common case) skip the lifecycle checks; their
    zero-, one- and two-argument positional forms are unrolled because they dominate.
    """
    factory = registration.factory
    fast = registration.kind == PLAIN and not registration.may_clean and not registration.is_async
    if fast and not keywords:
        if not positional:
            return lambda scope, cleanups: factory()
        if len(positional) == 1:
            (first,) = positional
            return lambda scope, cleanups: factory(first(scope))
        if len(positional) == 2:
            first, second = positional
            return lambda scope, cleanups: factory(first(scope), second(scope))

    def make(scope: Scope | None, cleanups: list[Cleanup]) -> Any:
        args = tuple([build(scope) for build in positional])
        kwargs = {name: build(scope) for name, build in keywords}
        if fast:
            return factory(*args, **kwargs)
        return create(registration, args, kwargs, cleanups, owned)

    return make
