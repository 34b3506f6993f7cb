"""``select_atom`` (Jotai's selectAtom): a slice of an atom that notifies only when it changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from atomiton.store._atoms.atom import Atom, Computed
from atomiton.store._atoms.factories import computed

S = TypeVar("S")
T = TypeVar("T")


def select_atom(
    source: Atom[S],
    selector: Callable[[S], T],
    *,
    equals: Callable[[T, T], bool] | None = None,
    name: str | None = None,
) -> Computed[T]:
    """Define a read-only atom holding ``selector(value of source)``.

    When ``source`` changes but the selected slice is equal to the previous one (``equals``,
    default ``==`` guarded by identity), the atom keeps its previous value object and neither
    notifies its subscribers nor recomputes its dependants. Each call defines a new atom: define
    a selection once (at module level, or cached with the code that uses it).

    Args:
        source: The atom to select from (any kind, async included: the selection is then pending
            until it settles).
        selector: Picks the slice; should be a pure function of the value.
        equals: Decides whether a new slice equals the previous one.
        name: The atom's name (see ``atom``).

    Returns:
        The read-only derived atom.

    Raises:
        TypeError: ``source`` is not an atom, or ``selector`` is not callable.
    """
    if not isinstance(source, Atom):
        raise TypeError(f"select_atom() source must be an atom, got {type(source).__name__}")
    if not callable(selector):
        raise TypeError(f"select_atom() selector must be callable, got {type(selector).__name__}")
    return computed(lambda get: selector(get(source)), equals=equals, name=name)
