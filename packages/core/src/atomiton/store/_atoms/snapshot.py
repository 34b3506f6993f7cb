"""Snapshots: the values of a store's primitive atoms at one moment."""

from __future__ import annotations

from typing import Any

from atomiton.store._atoms.atom import Atom, PrimitiveAtom
from atomiton.store._errors import UnknownAtomError


class Snapshot:
    """The values of a store's primitive atoms at one moment, keyed by atom identity (id).

    Immutable; holds values, never atoms. ``snapshot[atom]`` is the atom's value then (its
    initial value if it had not been written).
    """

    __slots__ = ("_values",)

    def __init__(self, values: dict[int, Any]) -> None:
        self._values = values

    def __getitem__(self, atom: Atom[Any]) -> Any:
        try:
            return self._values[atom._id]
        except KeyError:
            if isinstance(atom, PrimitiveAtom):
                return atom.init
            raise UnknownAtomError(f"{atom!r} is not a primitive atom of this snapshot") from None

    def __contains__(self, atom: object) -> bool:
        return isinstance(atom, Atom) and atom._id in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<Snapshot of {len(self._values)} atoms>"

    @property
    def ids(self) -> frozenset[int]:
        """The ids of the atoms written in the store when the snapshot was taken."""
        return frozenset(self._values)

    def by_id(self) -> dict[int, Any]:
        """A copy of the values, keyed by atom id."""
        return dict(self._values)
