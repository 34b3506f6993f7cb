"""The atom registry: named atoms, the stores they belong to, and global/isolated store modes.

Every index is a dict, so lookups by id and by name are O(1) however many atoms are
registered. Atoms and stores are held weakly: dropping the last reference to either removes
its entries. In *isolated* mode (the default) each store holds its own values; *global*-mode
stores attached to the same registry share one runtime, hence one set of values.

Registration is automatic (the seed's rule): a store attached here tells the registry of every
named atom it reads, writes or mounts (the runtime's ``catalog`` hook), and ``atom(...,
store=s)`` registers its atom with ``s``. ``register`` stays for naming an atom differently,
for registering unnamed atoms, and for isolating an atom to a store.

Memory: per registered atom one weak reference (with its id, one shared callback), its
registration time and one dict entry per index; a name index holds a bare id until a second
atom takes the same name, so 1,000 registered atoms with values stay under 1 MB.
"""

from __future__ import annotations

import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any

from atomiton.store._atoms.atom import Atom, _Options
from atomiton.store._atoms.index import AtomMetadata, Mode
from atomiton.store._atoms.runtime import Runtime
from atomiton.store._atoms.store import Store
from atomiton.store._errors import DuplicateAtomNameWarning, StoreError, UnknownAtomError

# name -> the id registered under it, or the ids in registration order once there are several
_NameIndex = dict[str, int | list[int]]


class _StoreEntry:
    __slots__ = ("atoms", "mode", "names", "ref")

    def __init__(self, ref: weakref.ref[Store], mode: Mode) -> None:
        self.ref = ref
        self.mode = mode
        self.atoms: dict[int, bool] = {}  # atom id -> registered explicitly (not only used)
        self.names: _NameIndex = {}


class _AtomRef(weakref.ref[Atom[Any]]):
    """A weak reference that knows its atom's id, so one callback serves every atom.

    A lambda per atom (``lambda _r: self._forget(atom_id)``) cost ~240 bytes each.
    """

    __slots__ = ("atom_id",)
    atom_id: int


def _first(names: _NameIndex, name: str) -> int | None:
    ids = names.get(name)
    if ids is None or isinstance(ids, int):
        return ids
    return ids[0]


def _unindex(names: _NameIndex, name: str, atom_id: int) -> None:
    ids = names.get(name)
    if ids is None:
        return
    if isinstance(ids, int):
        if ids == atom_id:
            del names[name]
        return
    if atom_id in ids:
        ids.remove(atom_id)
        if len(ids) == 1:
            names[name] = ids[0]


class AtomRegistry:
    """Indexes atoms by id and name, per store and globally; attaches stores in a mode."""

    def __init__(self) -> None:
        # Two locks, always taken in this order and never the other way: ``_lock`` serialises
        # attaching/detaching/registering (which call into store runtimes); ``_index_lock``
        # guards the indexes only and is never held while calling a runtime. A runtime tells
        # the registry of atoms while holding its own lock (``catalog``), and weakref callbacks
        # run wherever the garbage collector does: both take ``_index_lock`` only, so neither
        # can deadlock against an attach holding ``_lock`` and waiting for that runtime.
        self._lock = threading.RLock()
        self._index_lock = threading.RLock()
        self._atoms: dict[int, _AtomRef] = {}
        self._created: dict[int, float] = {}  # atom id -> time.time() at registration
        self._renamed: dict[int, str] = {}  # metadata name, where it is not the atom's name
        self._names: _NameIndex = {}  # global registrations
        # atom id -> the name(s) it is indexed by (a bare str when one: 0 B more than the name)
        self._atom_names: dict[int, str | tuple[str, ...]] = {}
        self._atom_store: dict[int, int] = {}  # atom id -> store id
        self._stores: dict[int, _StoreEntry] = {}
        self._warned: set[str] = set()
        self._shared: weakref.ref[Runtime] | None = None
        self._on_atom_dropped = self._forget_ref  # one bound method shared by every _AtomRef

    # ---------------------------------------------------------------- stores
    def attach_store(self, store: Store, *, mode: Mode = "isolated") -> None:
        """Attach ``store`` (held weakly) in ``mode``.

        The atoms the store has already seen are registered to it. A global-mode store
        attached again in isolated mode stops sharing: it keeps a private copy of the shared
        values (like ``detach_store``).

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
            runtime = store._runtime
            if mode == "global" and runtime is not shared and runtime.observed:
                # Checked before anything changes: a refused store keeps its mode and values.
                raise StoreError(
                    f"store {store.name!r} has subscribers; attach it before subscribing"
                )
            with self._index_lock:
                entry = self._stores.get(store._id)
                if entry is None:
                    sid = store._id
                    ref = weakref.ref(store, lambda _r: self._drop_store(sid))
                    entry = self._stores[sid] = _StoreEntry(ref, mode)
                entry.mode = mode
            store._registry = self
            if mode == "isolated":
                self._make_private(store)  # leaving global mode: stop sharing values
                runtime = store._runtime
                runtime.report_to(self._catalog(store._id))
            else:
                if shared is None:
                    shared = Runtime()
                    shared.report_to(self._catalog(None))
                    self._shared = weakref.ref(shared)
                if runtime is not shared:
                    shared.absorb(runtime)
                    store._bind(shared)
                runtime = shared
            for atom in runtime.known_atoms():
                if atom.has_explicit_name:  # automatic registration covers named atoms
                    self._adopt(atom, store._id if mode == "isolated" else None)

    def _catalog(self, sid: int | None) -> Callable[[Atom[Any]], None]:
        # Held by the runtime: keeps neither the store (an id) nor anything else alive.
        def adopt(atom: Atom[Any]) -> None:
            self._adopt(atom, sid)

        return adopt

    def detach_store(self, store: Store) -> None:
        """Forget ``store`` and every reference to it; a global store keeps a private copy."""
        with self._lock:
            self._drop_store(store._id)
            if store._registry is self:
                store._registry = None
            self._make_private(store)
            store._runtime.report_to(None)

    def _make_private(self, store: Store) -> None:
        """Give a store that shares the global values a private copy of them."""
        shared = self._shared() if self._shared is not None else None
        if shared is not None and store._runtime is shared:
            store._bind(shared.fork())

    def _drop_store(self, sid: int) -> None:
        with self._index_lock:
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
        self, atom: Atom[Any], store: Store | None = None, *, name: str | None = None
    ) -> None:
        """Register ``atom`` (held weakly), globally or for one store.

        Registering to an isolated-mode store isolates the atom to it: other stores raise
        ``IsolationError`` when they read or write it. A name already taken by another atom
        warns once (``DuplicateAtomNameWarning``; only here: the automatic registration of
        atoms a store uses never warns); lookups keep returning the first registered atom.
        Registering an atom again under a new name indexes it by that name too and makes it
        the name in its metadata.

        Args:
            atom: The atom.
            store: The store it belongs to (attached in isolated mode if not yet attached).
            name: The name to index it by (default: the atom's name).
        """
        if not isinstance(atom, Atom):
            raise TypeError(f"register() needs an atom, got {type(atom).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"register() name must be a str, got {type(name).__name__}")
        with self._lock:
            if store is not None and store._id not in self._stores:
                self.attach_store(store)
            with self._index_lock:
                self._index_atom(atom, None if store is None else store._id, name, explicit=True)
                if store is None:
                    return
                entry = self._stores[store._id]
                self._atom_store[atom._id] = store._id
                isolate = entry.mode == "isolated"
            if isolate:
                opts = atom._opts
                if opts is None:
                    atom._opts = _Options(None, store, None, None)
                else:
                    opts.owner_ref = weakref.ref(store)

    def _adopt(self, atom: Atom[Any], sid: int | None) -> None:
        """Register an atom a store used (no isolation; an explicit registration stays)."""
        with self._index_lock:
            if sid is not None and sid not in self._stores:
                return  # the store was detached or dropped meanwhile
            self._index_atom(atom, sid, None, explicit=False)
            if sid is not None:
                self._atom_store.setdefault(atom._id, sid)

    def _index_atom(
        self, atom: Atom[Any], sid: int | None, name: str | None, explicit: bool
    ) -> None:
        atom_id = atom._id
        indexed_as = atom.name if name is None else name
        if atom_id not in self._atoms:
            ref = _AtomRef(atom, self._on_atom_dropped)
            ref.atom_id = atom_id
            self._atoms[atom_id] = ref
            self._created[atom_id] = time.time()
        if explicit:
            if indexed_as == atom.name:
                self._renamed.pop(atom_id, None)
            else:
                self._renamed[atom_id] = indexed_as
        known = self._atom_names.get(atom_id)
        if known is None:
            self._atom_names[atom_id] = indexed_as
        elif isinstance(known, str):
            if known != indexed_as:
                self._atom_names[atom_id] = (known, indexed_as)
        elif indexed_as not in known:
            self._atom_names[atom_id] = (*known, indexed_as)
        if sid is None:
            self._index(self._names, indexed_as, atom_id, explicit)
            return
        entry = self._stores[sid]
        entry.atoms[atom_id] = explicit or entry.atoms.get(atom_id, False)
        self._index(entry.names, indexed_as, atom_id, explicit)

    def _index(self, names: _NameIndex, name: str, atom_id: int, warn: bool) -> None:
        ids = names.get(name)
        if ids is None:
            names[name] = atom_id
            return
        if ids == atom_id or (isinstance(ids, list) and atom_id in ids):
            return
        if warn and name not in self._warned:  # an atom merely used by a store never warns
            self._warned.add(name)
            warnings.warn(
                f"atom name {name!r} is registered twice; lookups return the first one",
                DuplicateAtomNameWarning,
                stacklevel=4,
            )
        if isinstance(ids, int):
            names[name] = [ids, atom_id]
        else:
            ids.append(atom_id)

    def _forget_ref(self, ref: weakref.ref[Any]) -> None:
        if isinstance(ref, _AtomRef):
            self._forget(ref.atom_id)

    def _forget(self, atom_id: int) -> None:
        with self._index_lock:
            self._atoms.pop(atom_id, None)
            self._created.pop(atom_id, None)
            self._renamed.pop(atom_id, None)
            sid = self._atom_store.pop(atom_id, None)
            known = self._atom_names.pop(atom_id, None)
            if known is None:
                return
            names = (known,) if isinstance(known, str) else known
            tables = [self._names] + [e.names for e in self._stores.values()]
            for table in tables:
                for name in names:  # every name it was registered under, not just the first
                    _unindex(table, name, atom_id)
            for entry in self._stores.values():
                entry.atoms.pop(atom_id, None)
            del sid

    def _live(self, atom_id: int | None) -> Atom[Any] | None:
        ref = None if atom_id is None else self._atoms.get(atom_id)
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
                found = self._live(_first(entry.names, name))
                if found is not None:
                    return found
        return self._live(_first(self._names, name))

    def get_metadata(self, atom_id: int) -> AtomMetadata | None:
        """Name, registration time and kind of a registered atom, or None."""
        atom = self._live(atom_id)
        created = self._created.get(atom_id)
        if atom is None or created is None:
            return None
        return AtomMetadata(self._renamed.get(atom_id, atom.name), created, atom.kind)

    def get_store_for_atom(self, atom_id: int) -> Store | None:
        """The store an atom was registered to (or first used in), or None."""
        sid = self._atom_store.get(atom_id)
        entry = None if sid is None else self._stores.get(sid)
        return None if entry is None else entry.ref()

    def get_atoms_for_store(self, store: Store, *, used: bool = True) -> list[Atom[Any]]:
        """The live atoms registered to ``store``, in registration order.

        Args:
            store: The store.
            used: Also the atoms registered automatically because the store used them
                (default); False: only those registered with ``register(atom, store)``.
        """
        entry = self._stores.get(store._id)
        if entry is None:
            return []
        atoms = (self._live(i) for i, explicit in list(entry.atoms.items()) if used or explicit)
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
