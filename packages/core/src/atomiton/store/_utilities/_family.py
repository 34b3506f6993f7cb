"""``atom_family`` (Jotai's atomFamily): one atom per parameter, created on first use.

The family holds its members strongly, as Jotai's does: an atom that a family forgot and
re-created would lose its values in every store (a store frees an atom's value when the atom is
collected). ``remove`` and ``set_should_remove`` let members go; a removed member that nothing
else holds is collected, and its values with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from atomiton.store._atoms.atom import Atom

P = TypeVar("P")
A = TypeVar("A", bound=Atom[Any])

ShouldRemove = Callable[[float, Any], bool]


class AtomFamily(Generic[P, A]):
    """A callable returning the same atom for equal parameters: ``family(param)``.

    Create with ``atom_family(create)``. Thread-safe: two threads asking for one new parameter
    get one atom (``create`` runs once per parameter, under the family's lock).
    """

    __slots__ = ("_create", "_equals", "_lock", "_members", "_should_remove")

    def __init__(self, create: Callable[[P], A], equals: Callable[[P, P], bool] | None) -> None:
        self._create = create
        self._equals = equals
        self._lock = threading.RLock()  # re-entrant: ``create`` may use another member
        # param -> (atom, created_at). With ``equals`` the dict is only an ordered list of
        # pairs (looked up by scanning), keyed by a counter so unhashable params work.
        self._members: dict[Any, tuple[Any, A, float]] = {}
        self._should_remove: ShouldRemove | None = None

    def __repr__(self) -> str:
        return f"<AtomFamily of {len(self._members)} atoms>"

    def __len__(self) -> int:
        return len(self._members)

    def __call__(self, param: P) -> A:
        """The member for ``param``, created by ``create(param)`` the first time.

        A member that ``set_should_remove``'s predicate now marks for removal is replaced by a
        new one.

        Raises:
            TypeError: ``param`` is unhashable and the family has no ``equals``.
        """
        with self._lock:
            slot = self._find(param)
            if slot is not None:
                _, member, created_at = self._members[slot]
                should_remove = self._should_remove
                if should_remove is None or not should_remove(created_at, param):
                    return member
                del self._members[slot]
            member = self._create(param)
            if not isinstance(member, Atom):
                raise TypeError(
                    f"atom_family() create must return an atom, got {type(member).__name__} "
                    f"for {param!r}"
                )
            key = object() if self._equals is not None else param
            self._members[key] = (param, member, time.time())
            return member

    def _find(self, param: P) -> Any:
        """The ``_members`` key holding ``param``, or None."""
        equals = self._equals
        if equals is None:
            try:
                return param if param in self._members else None
            except TypeError:
                raise TypeError(
                    f"atom_family() parameter {param!r} is unhashable: give the family an "
                    "equals= function to compare such parameters"
                ) from None
        for key, (known, _, _) in self._members.items():
            if equals(known, param):
                return key
        return None

    def remove(self, param: P) -> None:
        """Forget the member for ``param`` (nothing happens if there is none).

        The next ``family(param)`` creates a new atom. The removed atom, once nothing else
        holds it, is collected and its values leave every store.
        """
        with self._lock:
            slot = self._find(param)
            if slot is not None:
                del self._members[slot]

    def set_should_remove(self, should_remove: Callable[[float, P], bool] | None) -> None:
        """Remove members by a predicate ``should_remove(created_at, param)``, now and later.

        Every current member for which it returns true is removed at once; later, ``family(param)``
        replaces a member the predicate marks. ``created_at`` is the member's creation time
        (``time.time()``). ``None`` clears the predicate.

        Raises:
            TypeError: ``should_remove`` is neither callable nor None.
        """
        if should_remove is not None and not callable(should_remove):
            raise TypeError(
                f"set_should_remove() takes a callable or None, got {type(should_remove).__name__}"
            )
        with self._lock:
            self._should_remove = should_remove
            if should_remove is None:
                return
            doomed = [
                key
                for key, (param, _, created_at) in self._members.items()
                if should_remove(created_at, param)
            ]
            for key in doomed:
                del self._members[key]

    def params(self) -> list[P]:
        """The parameters that have a member now, in creation order."""
        with self._lock:
            return [param for param, _, _ in self._members.values()]


def atom_family(
    create: Callable[[P], A], *, equals: Callable[[P, P], bool] | None = None
) -> AtomFamily[P, A]:
    """Define a family of atoms: ``family(param)`` returns one atom per distinct parameter.

    Args:
        create: Makes the member for a parameter (``lambda id: atom(...)``); called once per
            parameter until that member is removed.
        equals: Compares parameters instead of hashing them (needed for unhashable ones such as
            dicts or lists). Lookups then scan the members: O(members).

    Returns:
        The family.

    Raises:
        TypeError: ``create`` or ``equals`` is not callable.
    """
    if not callable(create):
        raise TypeError(f"atom_family() create must be callable, got {type(create).__name__}")
    if equals is not None and not callable(equals):
        raise TypeError(f"atom_family() equals must be callable, got {type(equals).__name__}")
    return AtomFamily(create, equals)
