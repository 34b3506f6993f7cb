"""``RESET``, ``atom_with_reset`` and ``atom_with_default`` (Jotai's atomWithReset/atomWithDefault).

Both are writable derived atoms over a private primitive atom that holds what was written; the
derived atom's read decides what a store shows (the written value, the initial value, or the
default computed from other atoms).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar, cast, overload

from atomiton.store._atoms.atom import Getter, Setter, WritableComputed
from atomiton.store._atoms.factories import atom, computed

T = TypeVar("T")


class Reset(enum.Enum):
    """The type of ``RESET``: annotate a write argument as ``T | Reset``."""

    RESET = "RESET"

    def __repr__(self) -> str:
        return "RESET"


RESET: Final = Reset.RESET
"""Write this to a resettable atom (``store.set(a, RESET)``) to return it to its start."""


class _Follow:
    """What a default atom's private slot holds while it follows its default.

    A new instance per reset (instances compare by identity), so a reset always counts as a
    change of the slot and the derived atom re-reads its default.
    """

    __slots__ = ()


class _Written:
    """A value written to a default atom (boxed: the value itself may be anything)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def atom_with_reset(
    initial: T,
    *,
    name: str | None = None,
    equals: Callable[[T, T], bool] | None = None,
) -> WritableComputed[T, T | Reset, None]:
    """Define an atom that ``store.set(a, RESET)`` puts back to ``initial``.

    Any other value written is stored as given, as for a primitive atom.

    Args:
        initial: The value every store starts from, and the one ``RESET`` restores.
        name: The atom's name (see ``atom``).
        equals: Equality for the bail-out (see ``atom``).

    Returns:
        A writable derived atom: ``store.set(a, value)`` or ``store.set(a, RESET)``.
    """
    slot = atom(initial, equals=equals)

    def write(get: Getter, set: Setter, value: T | Reset) -> None:
        set(slot, initial if value is RESET else value)

    return computed(lambda get: get(slot), write=write, name=name, equals=equals)


@overload
def atom_with_default(
    get_default: Callable[[Getter], Awaitable[T]],
    *,
    name: str | None = ...,
    equals: Callable[[T, T], bool] | None = ...,
) -> WritableComputed[T, T | Reset, None]: ...


@overload
def atom_with_default(
    get_default: Callable[[Getter], T],
    *,
    name: str | None = ...,
    equals: Callable[[T, T], bool] | None = ...,
) -> WritableComputed[T, T | Reset, None]: ...


def atom_with_default(
    get_default: Callable[[Getter], Any],
    *,
    name: str | None = None,
    equals: Callable[[Any, Any], bool] | None = None,
) -> WritableComputed[Any, Any, None]:
    """Define an atom that follows ``get_default(get)`` until it is written.

    Until the first write in a store its value is ``get_default(get)``, recomputed when the
    atoms that read changes; a written value replaces it; ``store.set(a, RESET)`` returns the
    atom to following its default. ``get_default`` may be an ``async def`` (the atom is then an
    async derived atom: ``await store.aget(a)``).

    Args:
        get_default: Computes the default from other atoms, like a ``computed`` read.
        name: The atom's name (see ``atom``).
        equals: Equality for the bail-out (see ``computed``).

    Returns:
        A writable derived atom: ``store.set(a, value)`` or ``store.set(a, RESET)``.

    Raises:
        TypeError: ``get_default`` is not callable.
    """
    if not callable(get_default):
        raise TypeError(
            f"atom_with_default() get_default must be callable, got {type(get_default).__name__}"
        )
    slot: Any = atom(_Follow())

    def write(get: Getter, set: Setter, value: Any) -> None:
        set(slot, _Follow() if value is RESET else _Written(value))

    import inspect  # here, not at import: it costs ~10 ms (issue 19)

    if inspect.iscoroutinefunction(get_default):

        async def read_async(get: Getter) -> Any:
            held = get(slot)
            if isinstance(held, _Written):
                return held.value
            return await cast("Callable[[Getter], Awaitable[Any]]", get_default)(get)

        return computed(read_async, write=write, name=name, equals=equals)

    def read(get: Getter) -> Any:
        held = get(slot)
        if isinstance(held, _Written):
            return held.value
        return get_default(get)

    return computed(read, write=write, name=name, equals=equals)
