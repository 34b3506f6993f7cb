"""The public store: reads, writes, subscriptions, batches, snapshots and plugins.

The algorithm lives in ``_runtime.py``; this module is the face users call. The hot paths
(``get`` of a primitive atom, ``set`` of a primitive atom nobody observes) are inlined here and
allocate nothing; everything else goes through the runtime under the store's re-entrant lock.
A ``set`` inside a ``batch()`` block of the calling thread skips that lock: the block holds it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, cast, overload

from atomiton.store._atoms.atom import Atom, PrimitiveAtom, WritableComputed
from atomiton.store._atoms.cells import MISSING
from atomiton.store._atoms.index import AtomIndex
from atomiton.store._atoms.plugins import PluginHooks
from atomiton.store._atoms.runtime import Runtime, store_get, store_set
from atomiton.store._atoms.snapshot import Snapshot
from atomiton.store._errors import UnknownAtomError

if TYPE_CHECKING:
    from atomiton.store._utilities._watch import AtomWatch

T = TypeVar("T")
R = TypeVar("R")
Ts = TypeVarTuple("Ts")

_NO: Any = MISSING
_store_ids = itertools.count(1)


StorePlugin = Callable[["Store"], PluginHooks | None]
"""A plugin: called with the store when added, returns the hooks it wants (or None)."""


class _Batch:
    __slots__ = ("_rt",)

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    def __enter__(self) -> None:
        self._rt.begin_batch()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._rt.end_batch()


class Store:
    """Holds the values of atoms; read, write, subscribe. Create with ``create_store()``."""

    __slots__ = (
        "__weakref__",
        "_batch",
        "_id",
        "_known",
        "_name",
        "_registry",
        "_rt",
        "_values",
    )

    def __init__(self, *, name: str | None = None, runtime: Runtime | None = None) -> None:
        self._id = next(_store_ids)
        self._name = name
        self._bind(runtime if runtime is not None else Runtime())
        self._registry: AtomIndex[Store] | None = None

    def _bind(self, runtime: Runtime) -> None:
        """Use ``runtime`` (a registry moves a store between private and shared runtimes)."""
        runtime.adopt_home(self)
        self._rt = runtime
        # Read by ``get``'s fast path only, never written here.
        self._values = runtime.values
        self._known = runtime.known
        self._batch = _Batch(runtime)

    @property
    def _runtime(self) -> Runtime:
        return self._rt

    @property
    def name(self) -> str:
        """The store's name (default ``store-<n>``)."""
        return self._name if self._name is not None else f"store-{self._id}"

    @property
    def registry(self) -> AtomIndex[Store] | None:
        """The registry this store is attached to, if any."""
        return self._registry

    def __repr__(self) -> str:
        return f"<Store {self.name}>"

    # ---------------------------------------------------------------- read
    if TYPE_CHECKING:

        def get(self, atom: Atom[T]) -> T:
            """See ``store_get`` (the runtime's read path, bound here as the method)."""
            return store_get(self, atom)

    else:
        # The runtime's function is the method itself: a cached read costs one call.
        get = store_get

    async def aget(self, atom: Atom[T]) -> T:
        """Await the settled value of an async derived atom (any atom works).

        The latest evaluation wins: if a dependency changes while awaiting, the running
        evaluation is cancelled and this waits for the new one.
        """
        while True:
            settled, value, tasks = self._rt.poll(atom)
            if settled:
                return cast("T", value)
            import asyncio  # here, not at import (~16 ms): only async callers reach this line

            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)

    # ---------------------------------------------------------------- write
    if TYPE_CHECKING:

        @overload
        def set(self, atom: PrimitiveAtom[T], value: T, /) -> None: ...

        @overload
        def set(self, atom: WritableComputed[Any, *Ts, R], /, *args: *Ts) -> R: ...

        def set(self, atom: Atom[Any], value: Any = ..., /, *args: Any) -> Any:  # type: ignore[misc]
            """See ``store_set`` (the runtime's write path, bound here as the method)."""

    else:
        # The runtime's function is the method itself: the common write costs one call.
        set = store_set

    def update(self, atom: PrimitiveAtom[T], fn: Callable[[T], T]) -> T:
        """Atomically replace the value with ``fn(value)``; returns the new value."""
        new: T = self._rt.update(self, atom, fn)
        return new

    def batch(self) -> _Batch:
        """A context manager: writes inside it notify listeners once, after the block.

        The store's lock is held for the whole block, so other threads see it atomically.
        """
        return self._batch

    # ---------------------------------------------------------------- observe
    def subscribe(self, atom: Atom[T], listener: Callable[[T], None]) -> Callable[[], None]:
        """Call ``listener(value)`` after each change of ``atom``; returns the unsubscriber.

        Subscribing mounts the atom (and its dependencies): derived atoms that are observed
        recompute eagerly, once per write, before any listener runs.
        """
        if not callable(listener):
            raise TypeError(f"listener must be callable, got {type(listener).__name__}")
        return self._rt.subscribe(self, atom, listener)

    def watch(self, atom: Atom[T]) -> AtomWatch[T]:
        """``async for value in store.watch(atom)``: the current value, then each change.

        A slow consumer gets the latest value, never a queue; breaking out of the loop,
        cancelling the task, ``close()`` or leaving ``async with`` unsubscribes.
        """
        from atomiton.store._utilities._watch import AtomWatch  # loaded by async users only

        return AtomWatch(self, atom)

    def use(self, plugin: StorePlugin) -> Callable[[], None]:
        """Add a plugin now; returns a function that removes it again."""
        hooks = plugin(self)
        if hooks is None:
            return lambda: None
        if not isinstance(hooks, PluginHooks):
            raise TypeError(f"a plugin must return PluginHooks or None, got {type(hooks).__name__}")
        return self._rt.add_plugin(hooks)

    # ---------------------------------------------------------------- state
    def snapshot(self) -> Snapshot:
        """The values of every primitive atom written in this store, keyed by atom identity."""
        return Snapshot(self._rt.snapshot_values())

    def restore(self, snapshot: Snapshot, *, notify: bool = True) -> None:
        """Make primitive values equal to ``snapshot``; derived atoms follow.

        Args:
            snapshot: From ``snapshot()`` of this (or a compatible) store.
            notify: Run listeners of what changed (False restores silently; mounted derived
                atoms are still recomputed).
        """
        if not isinstance(snapshot, Snapshot):
            raise TypeError(f"restore() needs a Snapshot, got {type(snapshot).__name__}")
        self._rt.restore(snapshot.by_id(), notify=notify)

    def get_state(self, *, include_derived: bool = False) -> dict[str, Any]:
        """Current values by atom name: what ``set_state`` and inspectors read.

        Holds every primitive atom written in this store, every named primitive atom read
        here but never written (at its initial value) and every atom registered to the store.
        A registered derived atom whose read raises or is still pending (async) has no
        value and is left out, so one failing read never hides the rest of the state.

        Args:
            include_derived: Also report every mounted (subscribed) derived atom's current
                value, as an inspector would show it.
        """
        registry = self._registry
        extra = [] if registry is None else registry.get_atoms_for_store(self, used=False)
        return self._rt.state(extra, include_derived=include_derived, read=self.get)

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Write primitive atoms by name, as one batch, each like ``set`` (plugins included).

        Raises:
            UnknownAtomError: A name that neither the store (named atoms it has seen, mounted
                atoms) nor its registry knows, or a derived atom's name.
        """
        items: list[tuple[Atom[Any] | int, Any]] = []
        for name, value in state.items():
            found = self._registry.get_by_name(name, self) if self._registry else None
            if found is None:
                found = self._rt.find(name)
            if found is None:
                key = self._rt.find_id(name)
                if key is None:
                    raise UnknownAtomError(
                        f"no primitive atom named {name!r} in store {self.name!r}"
                    )
                items.append((key, value))
                continue
            if not isinstance(found, PrimitiveAtom):
                raise UnknownAtomError(f"atom {name!r} is derived: set_state writes primitives")
            items.append((found, value))
        self._rt.write_many(items)
