"""What a store knows of its registry: the ``AtomIndex`` protocol, and ``AtomMetadata``.

``AtomRegistry`` implements ``AtomIndex``; a store holds its registry through this protocol so
that the store module never imports the registry module, which imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from atomiton.store._atoms.atom import Atom

S = TypeVar("S")

Mode = Literal["isolated", "global"]


@dataclass(frozen=True, slots=True)
class AtomMetadata:
    """What the registry knows about a registered atom."""

    name: str
    created_at: float  # time.time() when the atom was registered
    kind: str  # "primitive", "computed" or "writable"


class AtomIndex(Protocol[S]):
    """The public face of an atom registry, for stores of type ``S``."""

    def attach_store(self, store: S, *, mode: Mode = "isolated") -> None:
        """Attach ``store`` in ``mode``."""
        ...

    def detach_store(self, store: S) -> None:
        """Forget ``store``."""
        ...

    def mode_of(self, store: S) -> Mode | None:
        """The mode ``store`` is attached in, or None."""
        ...

    def register(self, atom: Atom[Any], store: S | None = None, *, name: str | None = None) -> None:
        """Register ``atom``, globally or for one store."""
        ...

    def get(self, atom_id: int, store: S | None = None) -> Atom[Any] | None:
        """The registered atom with ``atom_id``, or None."""
        ...

    def get_by_name(self, name: str, store: S | None = None) -> Atom[Any] | None:
        """The atom named ``name``, or None."""
        ...

    def get_metadata(self, atom_id: int) -> AtomMetadata | None:
        """Name, registration time and kind of a registered atom, or None."""
        ...

    def get_store_for_atom(self, atom_id: int) -> S | None:
        """The store an atom belongs to, or None."""
        ...

    def get_atoms_for_store(self, store: S, *, used: bool = True) -> list[Atom[Any]]:
        """The live atoms registered to ``store`` (with ``used``: also those it only used)."""
        ...

    def get_atom_value(self, atom_id: int, store: S | None = None) -> Any:
        """The value of a registered atom in ``store``."""
        ...
