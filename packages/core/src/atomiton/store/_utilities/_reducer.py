"""``atom_with_reducer`` (Jotai's atomWithReducer): state changed only through a reducer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from atomiton.store._atoms.atom import Getter, Setter, WritableComputed
from atomiton.store._atoms.factories import atom, computed

T = TypeVar("T")
A = TypeVar("A")


def atom_with_reducer(
    initial: T,
    reducer: Callable[[T, A], T],
    *,
    name: str | None = None,
    equals: Callable[[T, T], bool] | None = None,
) -> WritableComputed[T, A, None]:
    """Define an atom written with actions: ``store.set(a, action)`` applies ``reducer``.

    The reducer runs under the store's lock, so concurrent actions from several threads apply
    one after the other (each sees the result of the previous one). A reducer returning an equal
    value notifies nobody.

    Args:
        initial: The value every store starts from.
        reducer: ``reducer(current, action) -> new value``; should not mutate ``current``.
        name: The atom's name (see ``atom``).
        equals: Equality for the bail-out (see ``atom``).

    Returns:
        A writable derived atom taking one action per ``store.set``.

    Raises:
        TypeError: ``reducer`` is not callable.
    """
    if not callable(reducer):
        raise TypeError(
            f"atom_with_reducer() reducer must be callable, got {type(reducer).__name__}"
        )
    state = atom(initial, equals=equals)

    def write(get: Getter, set: Setter, action: A) -> None:
        set(state, reducer(get(state), action))

    return computed(lambda get: get(state), write=write, name=name, equals=equals)
