"""Scope: one unit of work (a request, a job) with its own scoped services and cleanups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from atomiton.platform._building import cycle_from_recursion
from atomiton.platform._errors import ScopeError
from atomiton.platform._lifecycle import Cleanup, arun_cleanups, raise_failures, run_cleanups
from atomiton.platform._wiring import describe

if TYPE_CHECKING:
    from types import TracebackType

    from atomiton.platform._container import Container
    from atomiton.platform._wiring import Key

T = TypeVar("T")
_MISSING: Any = object()


class Scope:
    """A unit of work (a request, a job) with its own scoped services.

    Scoped services are built once per scope, and everything the scope built is cleaned up when
    it closes, in reverse creation order.

    Example::

        with container.scope() as scope:
            session = scope.resolve(Session)     # the same Session for this scope
            handler = scope[Handler]             # transients get this scope's Session

    Singletons come from the container; transients resolved here that need cleaning up are
    cleaned up with the scope.
    """

    __slots__ = ("_cache", "_cleanups", "_closed", "_container")

    def __init__(self, container: Container) -> None:
        self._container = container
        self._closed = False
        self._cache: dict[Key, Any] = {}
        self._cleanups: list[Cleanup] = []

    @overload
    def resolve(self, key: type[T]) -> T: ...
    @overload
    def resolve(self, key: str) -> Any: ...

    def resolve(self, key: Key) -> Any:
        """The service for ``key`` in this scope (see ``Container.resolve`` for the errors).

        Raises:
            ScopeError: The scope is closed (its services were cleaned up).
        """
        if self._closed:
            raise _closed_error(key)
        container = self._container
        service = container._instances.get(key, _MISSING)
        if service is not _MISSING:
            return service
        service = self._cache.get(key, _MISSING)
        if service is not _MISSING:
            return service
        try:
            direct = container._direct.get(key)
            if direct is not None:
                return direct()
            return container._resolve_slow(key, self)
        except RecursionError as error:
            cycle = cycle_from_recursion(error, key)
            if cycle is None:
                raise
            raise cycle from None

    __getitem__ = resolve

    @overload
    async def aresolve(self, key: type[T]) -> T: ...
    @overload
    async def aresolve(self, key: str) -> Any: ...

    async def aresolve(self, key: Key) -> Any:
        """Like ``resolve``, also building async factories (see ``Container.aresolve``)."""
        if self._closed:
            raise _closed_error(key)
        service = self._cache.get(key, _MISSING)
        if service is not _MISSING:
            return service
        return await self._container._aresolve(key, self, [])

    def close(self) -> None:
        """Clean up what this scope built; all failures are raised together (ExceptionGroup).

        A closed scope resolves nothing more (``ScopeError``); closing it again does nothing.
        """
        self._closed = True
        self._cache.clear()
        raise_failures(run_cleanups(self._cleanups), "the scope")

    async def aclose(self) -> None:
        """Async twin of ``close``."""
        self._closed = True
        self._cache.clear()
        raise_failures(await arun_cleanups(self._cleanups), "the scope")

    def __enter__(self) -> Scope:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Scope:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _closed_error(key: Key) -> ScopeError:
    return ScopeError(
        f"cannot resolve {describe(key)}: this scope is closed and its services were cleaned "
        "up; open a new one with `with container.scope() as scope:`"
    )
