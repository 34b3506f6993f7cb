"""The atom registry: named atoms, the stores they belong to, and global/isolated store modes.

Every index is a dict, so lookups by id and by name are O(1) however many atoms are
registered. Atoms and stores are held weakly: dropping the last reference to either removes
its entries. In *isolated* mode (the default) each store holds its own values; *global*-mode
stores attached to the same registry share one runtime, hence one set of values.
"""

from __future__ import annotations

import threading
import time
import warnings
import weakref
from typing import Any

from atomiton.store._atoms.atom import Atom, _Options
from atomiton.store._atoms.index import AtomMetadata, Mode
from atomiton.store._atoms.runtime import Runtime
from atomiton.store._atoms.store import Store
from atomiton.store._errors import DuplicateAtomNameWarning, StoreError, UnknownAtomError


class _StoreEntry:
    __slots__ = ("atoms", "mode", "names", "ref")

    def __init__(self, ref: weakref.ref[Store], mode: Mode) -> None:
        self.ref = ref
        self.mode = mode
        self.atoms: dict[int, None] = {}
        self.names: dict[str, list[int]] = {}


class _AtomRef(weakref.ref):  # type: ignore[type-arg]
    """A weak reference that knows its atom's id, so one callback serves every atom.

    A lambda per atom (``lambda _r: self._forget(atom_id)``) cost ~240 bytes each; with this
    and a tuple instead of a set of names, 1,000 registered atoms fit in 1 MB (issue 19).
    """

    __slots__ = ("atom_id",)
    atom_id: int


class AtomRegistry:
    """Indexes atoms by id and name, per store and globally; attaches stores in a mode."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._atoms: dict[int, weakref.ref[Atom[Any]]] = {}
        self._meta: dict[int, AtomMetadata] = {}
        self._names: dict[str, list[int]] = {}  # name -> ids in registration order
        # atom id -> every name it is indexed by (a tuple: usually one name, 48 B vs 216 B)
        self._atom_names: dict[int, tuple[str, ...]] = {}
        self._atom_store: dict[int, int] = {}  # atom id -> store id
        self._stores: dict[int, _StoreEntry] = {}
        self._warned: set[str] = set()
        self._shared: weakref.ref[Runtime] | None = None
        self._on_atom_dropped = self._forget_ref  # one bound method shared by every _AtomRef

    # ---------------------------------------------------------------- stores
    def attach_store(self, store: Store, mode: Mode = "isolated") -> None:
        """Attach ``store`` (held weakly) in ``mode``.

        A global-mode store attached again in isolated mode stops sharing: it keeps a private
        copy of the shared values (like ``detach_store``).

        Raises:
            ValueError: ``mode`` is not ``"isolated"`` or ``"global"``.
            StoreError: Switching to global mode a store that has subscribers.
        """
        if mode not in ("isolated", "global"):
            raise ValueError(f"mode must be 'isolated' or 'global', got {mode!r}")
        if not isinstance(store, Store):
            raise TypeError(f"attach_store() needs a Store, got {type(store).__name__}")
        with self._lock:
            shared = self._shared() if self._shared is not None else None
            if mode == "global" and store._rt is not shared and store._rt.mounted:
                # Checked before anything changes: a refused store keeps its mode and values.
                raise StoreError(
                    f"store {store.name!r} has subscribers; attach it before subscribing"
                )
            entry = self._stores.get(store._id)
            if entry is None:
                sid = store._id
                ref = weakref.ref(store, lambda _r: self._drop_store(sid))
                entry = self._stores[sid] = _StoreEntry(ref, mode)
            entry.mode = mode
            store._registry = self
            if mode == "isolated":
                self._make_private(store)  # leaving global mode: stop sharing values
            else:
                if shared is None:
                    shared = Runtime()
                    self._shared = weakref.ref(shared)
                if store._rt is not shared:
                    for key, value in store._rt.values.items():
                        shared.values.setdefault(key, value)
                    shared.names.update(store._rt.names)
                    store._bind(shared)

    def detach_store(self, store: Store) -> None:
        """Forget ``store`` and every reference to it; a global store keeps a private copy."""
        with self._lock:
            self._drop_store(store._id)
            if store._registry is self:
                store._registry = None
            self._make_private(store)

    def _make_private(self, store: Store) -> None:
        """Give a store that shares the global values a private copy of them."""
        shared = self._shared() if self._shared is not None else None
        if shared is not None and store._rt is shared:
            private = Runtime()
            private.values.update(shared.values)
            private.names.update(shared.names)
            store._bind(private)

    def _drop_store(self, sid: int) -> None:
        with self._lock:
            entry = self._stores.pop(sid, None)
            if entry is None:
                return
            for atom_id in entry.atoms:
                if self._atom_store.get(atom_id) == sid:
                    del self._atom_store[atom_id]

    def mode_of(self, store: Store) -> Mode | None:
        """The mode ``store`` is attached in, or None when it is not attached here."""
        entry = self._stores.get(store._id)
        return None if entry is None else entry.mode

    @property
    def store_count(self) -> int:
        """How many live stores are attached."""
        return len(self._stores)

    # ---------------------------------------------------------------- atoms
    def register(
        self, atom: Atom[Any], store: Store | None = None, name: str | None = None
    ) -> None:
        """Register ``atom`` (held weakly), globally or for one store.

        Registering to an isolated-mode store isolates the atom to it: other stores raise
        ``IsolationError`` when they read or write it. A name already taken warns once
        (``DuplicateAtomNameWarning``); lookups keep returning the first registered atom.

        Args:
            atom: The atom.
            store: The store it belongs to (attached in isolated mode if not yet attached).
            name: The name to index it by (default: the atom's name).
        """
        if not isinstance(atom, Atom):
            raise TypeError(f"register() needs an atom, got {type(atom).__name__}")
        name = atom.name if name is None else name
        with self._lock:
            atom_id = atom._id
            if atom_id not in self._atoms:
                ref = _AtomRef(atom, self._on_atom_dropped)
                ref.atom_id = atom_id
                self._atoms[atom_id] = ref
                self._meta[atom_id] = AtomMetadata(name, time.time(), atom.kind)
            known = self._atom_names.get(atom_id, ())
            if name not in known:
                self._atom_names[atom_id] = (*known, name)
            if store is None:
                self._index(self._names, name, atom_id)
                return
            entry = self._stores.get(store._id)
            if entry is None:
                self.attach_store(store)
                entry = self._stores[store._id]
            entry.atoms[atom_id] = None
            self._index(entry.names, name, atom_id)
            self._atom_store[atom_id] = store._id
            if entry.mode == "isolated":
                opts = atom._opts
                if opts is None:
                    atom._opts = _Options(None, store, None, None)
                else:
                    opts.owner_ref = weakref.ref(store)

    def _index(self, names: dict[str, list[int]], name: str, atom_id: int) -> None:
        ids = names.setdefault(name, [])
        if atom_id in ids:
            return
        if ids and name not in self._warned:
            self._warned.add(name)
            warnings.warn(
                f"atom name {name!r} is registered twice; lookups return the first one",
                DuplicateAtomNameWarning,
                stacklevel=3,
            )
        ids.append(atom_id)

    def _forget_ref(self, ref: weakref.ref[Any]) -> None:
        if isinstance(ref, _AtomRef):
            self._forget(ref.atom_id)

    def _forget(self, atom_id: int) -> None:
        with self._lock:
            self._atoms.pop(atom_id, None)
            self._meta.pop(atom_id, None)
            sid = self._atom_store.pop(atom_id, None)
            names = self._atom_names.pop(atom_id, None)
            if names is None:
                return
            tables = [self._names] + [e.names for e in self._stores.values()]
            for table in tables:
                for name in names:  # every name it was registered under, not just the first
                    ids = table.get(name)
                    if ids is not None and atom_id in ids:
                        ids.remove(atom_id)
                        if not ids:
                            del table[name]
            if sid is not None and sid in self._stores:
                self._stores[sid].atoms.pop(atom_id, None)

    def _live(self, atom_id: int) -> Atom[Any] | None:
        ref = self._atoms.get(atom_id)
        return None if ref is None else ref()

    def get(self, atom_id: int, store: Store | None = None) -> Atom[Any] | None:
        """The registered atom with ``atom_id`` (registered to ``store`` if given), or None."""
        if store is not None:
            entry = self._stores.get(store._id)
            if entry is None or atom_id not in entry.atoms:
                return None
        return self._live(atom_id)

    def get_by_name(self, name: str, store: Store | None = None) -> Atom[Any] | None:
        """The atom named ``name``: first among ``store``'s atoms, then the global ones."""
        if store is not None:
            entry = self._stores.get(store._id)
            if entry is not None:
                ids = entry.names.get(name)
                if ids:
                    return self._live(ids[0])
        ids = self._names.get(name)
        return self._live(ids[0]) if ids else None

    def get_metadata(self, atom_id: int) -> AtomMetadata | None:
        """Name, registration time and kind of a registered atom, or None."""
        return self._meta.get(atom_id)

    def get_store_for_atom(self, atom_id: int) -> Store | None:
        """The store an atom was registered to, or None."""
        sid = self._atom_store.get(atom_id)
        entry = None if sid is None else self._stores.get(sid)
        return None if entry is None else entry.ref()

    def get_atoms_for_store(self, store: Store) -> list[Atom[Any]]:
        """The live atoms registered to ``store``, in registration order."""
        entry = self._stores.get(store._id)
        if entry is None:
            return []
        atoms = (self._live(i) for i in list(entry.atoms))
        return [a for a in atoms if a is not None]

    def get_atom_value(self, atom_id: int, store: Store | None = None) -> Any:
        """The value of a registered atom in ``store`` (default: the store it belongs to).

        Raises:
            UnknownAtomError: No live atom with that id, or no store to read it from.
        """
        atom = self._live(atom_id)
        if atom is None:
            raise UnknownAtomError(f"no registered atom with id {atom_id}")
        target = store if store is not None else self.get_store_for_atom(atom_id)
        if target is None:
            raise UnknownAtomError(f"atom {atom.name!r} belongs to no store: pass store=")
        return target.get(atom)

    def __len__(self) -> int:
        return len(self._atoms)


default_registry = AtomRegistry()
"""The process-wide registry that ``create_store()`` attaches to when given none."""
