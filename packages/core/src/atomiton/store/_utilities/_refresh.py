"""``atom_with_refresh`` (Jotai's atomWithRefresh): a derived atom that ``store.set(a)`` re-runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

from atomiton.store._atoms.atom import Getter, Setter, WritableComputed
from atomiton.store._atoms.factories import atom, computed

T = TypeVar("T")


@overload
def atom_with_refresh(
    read: Callable[[Getter], Awaitable[T]],
    *,
    name: str | None = ...,
    equals: Callable[[T, T], bool] | None = ...,
) -> WritableComputed[T, None]: ...


@overload
def atom_with_refresh(
    read: Callable[[Getter], T],
    *,
    name: str | None = ...,
    equals: Callable[[T, T], bool] | None = ...,
) -> WritableComputed[T, None]: ...


def atom_with_refresh(
    read: Callable[[Getter], Any],
    *,
    name: str | None = None,
    equals: Callable[[Any, Any], bool] | None = None,
) -> WritableComputed[Any, None]:
    """Define a derived atom that re-evaluates ``read`` when written with no argument.

    ``store.set(a)`` makes the next read (or, when the atom is observed, the store at once)
    evaluate ``read`` again even though nothing it read changed: re-fetch, re-roll, re-load.
    ``read`` may be an ``async def``; refreshing it starts a new evaluation, which supersedes
    (cancels) one still running, as any change of an async atom's inputs does. A refresh whose
    result equals the current value notifies nobody.

    Args:
        read: Computes the value, like a ``computed`` read.
        name: The atom's name (see ``atom``).
        equals: Equality for the bail-out (see ``computed``).

    Returns:
        A writable derived atom: ``store.set(a)`` refreshes it.

    Raises:
        TypeError: ``read`` is not callable.
    """
    if not callable(read):
        raise TypeError(f"atom_with_refresh() read must be callable, got {type(read).__name__}")
    # A per-store counter the read depends on: bumping it is the refresh.
    generation = atom(0)

    def write(get: Getter, set: Setter) -> None:
        set(generation, get(generation) + 1)

    import inspect  # here, not at import: it costs ~10 ms (issue 19)

    if inspect.iscoroutinefunction(read):

        async def read_async(get: Getter) -> Any:
            get(generation)
            return await read(get)

        return computed(read_async, write=write, name=name, equals=equals)

    def read_sync(get: Getter) -> Any:
        get(generation)
        return read(get)

    return computed(read_sync, write=write, name=name, equals=equals)
