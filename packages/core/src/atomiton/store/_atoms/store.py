"""The public store: reads, writes, subscriptions, batches, snapshots and plugins.

The algorithm lives in ``_runtime.py``; this module is the face users call. The hot paths
(``get`` of a primitive atom, ``set`` of a primitive atom nobody observes) are inlined here and
allocate nothing; everything else goes through the runtime under the store's re-entrant lock.
A ``set`` inside a ``batch()`` block of the calling thread skips that lock: the block holds it.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Mapping
from threading import get_ident
from types import TracebackType
from typing import Any, TypeVar, TypeVarTuple, cast, overload

from atomiton.store._atoms.atom import Atom, Computed, PrimitiveAtom, WritableComputed
from atomiton.store._atoms.index import AtomIndex
from atomiton.store._atoms.plugins import PluginHooks
from atomiton.store._atoms.runtime import MISSING, Runtime, equal
from atomiton.store._atoms.snapshot import Snapshot
from atomiton.store._errors import PendingError, UnknownAtomError

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
        rt = self._rt
        rt.lock.acquire()
        rt.depth += 1
        rt.owner = get_ident()  # writes in the block skip the lock (see Store.set)

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        rt = self._rt
        try:
            rt.depth -= 1
            if not rt.depth:
                # While depth > 0 this thread still holds the lock (every depth increment is
                # made and undone under it), so ``owner`` stays true until the last exit.
                rt.owner = None
                # ``flush`` would find nothing to do unless one of these holds: skip the call.
                if rt.stale or rt.pending or rt.hooks or rt.dirty:
                    rt.flush()
        finally:
            rt.lock.release()


class Store:
    """Holds the values of atoms; read, write, subscribe. Create with ``create_store()``."""

    __slots__ = ("__weakref__", "_batch", "_id", "_name", "_registry", "_rt", "_values")

    def __init__(self, *, name: str | None = None, runtime: Runtime | None = None) -> None:
        self._id = next(_store_ids)
        self._name = name
        self._bind(runtime if runtime is not None else Runtime())
        self._registry: AtomIndex[Store] | None = None

    def _bind(self, runtime: Runtime) -> None:
        if runtime.home is None or runtime.home() is None:
            runtime.home = weakref.ref(self)
        self._rt = runtime
        self._values = runtime.values
        self._batch = _Batch(runtime)

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
    def get(self, atom: Atom[T]) -> T:
        """The atom's current value in this store (derived atoms compute when stale).

        Raises:
            IsolationError: The atom is isolated to another store.
            PendingError: An async atom has not settled yet (use ``get_async``).
            Exception: Whatever the derived atom's read raised (re-raised until a dependency
                changes).
        """
        if atom._read is None:
            if atom._opts is None:
                return self._values.get(atom._id, atom._init)  # type: ignore[no-any-return]
        else:
            rt = self._rt
            cell = rt.cells.get(atom._id)
            if (
                cell is not None
                and cell.error is None
                and ((cell.mounted is not None and not rt.stale) or cell.checked == rt.clock)
            ):
                return cell.value  # type: ignore[no-any-return]
        rt = self._rt
        rt.lock.acquire()
        try:
            return rt.read(atom)  # type: ignore[no-any-return]
        finally:
            rt.lock.release()

    async def get_async(self, atom: Atom[T]) -> T:
        """Await the settled value of an async derived atom (any atom works).

        The latest evaluation wins: if a dependency changes while awaiting, the running
        evaluation is cancelled and this waits for the new one.
        """
        rt = self._rt
        while True:
            with rt.lock:
                rt.check_owner(atom)
                if atom._read is None:
                    return rt.values.get(atom._id, atom._init)  # type: ignore[no-any-return]
                rt.settle()
                cell = rt.fresh(atom)
                run = rt.runs.get(atom._id)
                tasks = [] if run is None or run.task is None else [run.task]
                if not tasks and isinstance(cell.error, PendingError):
                    # A sync atom that read a pending async one: wait for what is running.
                    tasks = [r.task for r in rt.runs.values() if r.task is not None]
                if not tasks:
                    if cell.error is not None:
                        raise cell.error
                    return cell.value  # type: ignore[no-any-return]
            import asyncio  # here, not at import (~16 ms): only async callers reach this line

            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)

    # ---------------------------------------------------------------- write
    @overload
    def set(self, atom: PrimitiveAtom[T], value: T, /) -> None: ...

    @overload
    def set(self, atom: WritableComputed[Any, *Ts, R], /, *args: *Ts) -> R: ...

    def set(self, atom: Atom[Any], value: Any = _NO, /, *args: Any) -> Any:  # type: ignore[misc]
        """Write a primitive atom, or run a writable derived atom's ``write(get, set, *args)``.

        Returns:
            None for a primitive atom; the write function's result otherwise.

        Raises:
            ReadOnlyAtomError: The atom is derived and has no write function.
            IsolationError: The atom is isolated to another store.
            ExceptionGroup: One or more listeners raised (all listeners still ran).
        """
        rt = self._rt
        if (
            atom._read is None
            and atom._opts is None
            and not rt.plugins
            and not args
            and value is not _NO
        ):
            owner = rt.owner
            if owner is not None and owner == get_ident():
                # Inside this thread's batch, which holds the lock: no acquire/release (measured
                # ~50 ns a write); listeners and recomputes wait for the batch's end.
                values = self._values
                key = atom._id
                old = values.get(key, _NO)
                if old is value:
                    return None
                if old is not _NO:
                    try:
                        if old == value:
                            return None
                    except Exception:
                        pass
                    values[key] = value
                    rt.clock += 1
                    m = rt.mounted.get(key)
                    if m is not None:
                        if m.listeners:
                            rt.before.setdefault(key, old)
                            rt.pending[key] = m
                        if m.dependents:
                            rt.stale.append(m)
                    return None
                return self._set_slow(atom, value, args)  # first write of this atom
            # acquire/release in try/finally: measured ~2x cheaper than `with lock:` here
            lock = rt.lock
            lock.acquire()
            try:
                values = self._values
                key = atom._id
                old = values.get(key, _NO)
                if old is value:
                    return None
                if old is not _NO:
                    try:
                        if old == value:
                            return None
                    except Exception:
                        pass
                    values[key] = value
                    rt.clock += 1
                    m = rt.mounted.get(key)
                    if m is None:
                        return None
                    if rt.depth:  # inside a batch: listeners and recomputes wait for its end
                        if m.listeners:
                            rt.before.setdefault(key, old)
                            rt.pending[key] = m
                        if m.dependents:
                            rt.stale.append(m)
                        return None
                    if not m.dependents and not rt.flushing and not rt.hooks:
                        rt.notify_now(m.listeners, value)
                        return None
                    if m.listeners:
                        rt.pending[key] = m
                    rt.dirty = True
                    if m.dependents:
                        rt.recompute_one(m)  # not in a batch: recompute now
                    rt.flush()
                    return None
            finally:
                lock.release()
        return self._set_slow(atom, value, args)

    def _set_slow(self, atom: Atom[Any], value: Any, args: tuple[Any, ...]) -> Any:
        rt = self._rt
        with rt.lock:
            rt.check_owner(atom)
            if atom._read is not None:
                assert isinstance(atom, Computed)
                write = atom._init  # a derived atom's write function (see Computed)
                if write is None:
                    raise rt.read_only(atom)
                call_args = args if value is _NO else (value, *args)
                rt.depth += 1
                try:
                    return write(self.get, self.set, *call_args)
                finally:
                    rt.depth -= 1
                    rt.flush()  # listeners see what the write did, even if it then raised
            if value is _NO or args:
                raise TypeError(f"set({atom.name!r}, value) takes exactly one value")
            for plugin in rt.plugins:
                if plugin.on_set is not None:
                    value = plugin.on_set(atom, value)
            self._write(atom, value)
            for plugin in rt.plugins:
                if plugin.after_set is not None:
                    rt.hooks.append((plugin.after_set, (atom, value)))
            rt.flush()
            return None

    def _write(self, atom: Atom[Any], value: Any) -> bool:
        rt = self._rt
        values = rt.values
        old = values.get(atom._id, _NO)
        if equal(atom, atom._init if old is _NO else old, value):
            return False
        if old is _NO and atom._name is not None:
            rt.names[atom._id] = atom._name
        values[atom._id] = value
        rt.wrote(atom, atom._init if old is _NO else old)
        return True

    def update(self, atom: PrimitiveAtom[T], fn: Callable[[T], T]) -> T:
        """Atomically replace the value with ``fn(value)``; returns the new value."""
        lock = self._rt.lock
        lock.acquire()
        try:
            new = fn(self.get(atom))
            self.set(atom, new)
            return new
        finally:
            lock.release()

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
        rt = self._rt
        with rt.lock:
            m = rt.mount(atom, self)
            m.listeners = (*m.listeners, listener)
            rt.flush()
        done = False

        def unsubscribe() -> None:
            nonlocal done
            with rt.lock:
                if done:
                    return
                done = True
                listeners = list(m.listeners)
                for i, fn in enumerate(listeners):
                    if fn is listener:
                        del listeners[i]
                        break
                m.listeners = tuple(listeners)
                if not listeners and not m.dependents:
                    rt.unmount([m.atom], self)
                rt.flush()

        return unsubscribe

    def use(self, plugin: StorePlugin) -> Callable[[], None]:
        """Add a plugin now; returns a function that removes it again."""
        rt = self._rt
        hooks = plugin(self)
        if hooks is None:
            return lambda: None
        if not isinstance(hooks, PluginHooks):
            raise TypeError(f"a plugin must return PluginHooks or None, got {type(hooks).__name__}")
        with rt.lock:
            rt.plugins = (*rt.plugins, hooks)

        def remove() -> None:
            with rt.lock:
                rt.plugins = tuple(p for p in rt.plugins if p is not hooks)

        return remove

    # ---------------------------------------------------------------- state
    def snapshot(self) -> Snapshot:
        """The values of every primitive atom written in this store, keyed by atom identity."""
        with self._rt.lock:
            return Snapshot(self._values.copy())

    def restore(self, snapshot: Snapshot, *, notify: bool = True) -> None:
        """Make primitive values equal to ``snapshot``; derived atoms follow.

        Args:
            snapshot: From ``snapshot()`` of this (or a compatible) store.
            notify: Run listeners of what changed (False restores silently; mounted derived
                atoms are still recomputed).
        """
        if not isinstance(snapshot, Snapshot):
            raise TypeError(f"restore() needs a Snapshot, got {type(snapshot).__name__}")
        rt = self._rt
        with rt.lock:
            values = rt.values
            current = values.copy()
            target = snapshot._values
            moved = [
                k
                for k in current.keys() | target.keys()
                if current.get(k, _NO) is not target.get(k, _NO)
            ]
            if not moved:
                return
            values.clear()
            values.update(target)
            rt.clock += 1
            rt.dirty = True
            roots = [rt.mounted[k] for k in moved if k in rt.mounted]
            for m in roots:
                rt.pending[m.atom._id] = m
            rt.propagate(roots)
            if not notify:
                rt.pending.clear()
                rt.dirty = False
            rt.flush()

    def get_state(self, *, include_derived: bool = False) -> dict[str, Any]:
        """Current values by atom name: what ``set_state`` and inspectors read.

        Holds every primitive atom written in this store and every atom registered to it.
        A registered derived atom whose read raises or is still pending (async) has no
        value and is left out, so one failing read never hides the rest of the state.

        Args:
            include_derived: Also report every mounted (subscribed) derived atom's current
                value, as an inspector would show it.
        """
        rt = self._rt
        with rt.lock:
            # copy(): a dropped atom may leave the dict (Atom.__del__) while we iterate
            names = rt.names.copy()
            state = {names.get(k, f"atom-{k}"): v for k, v in rt.values.copy().items()}
            extra: list[Atom[Any]] = []
            if self._registry is not None:
                extra.extend(self._registry.get_atoms_for_store(self))
            if include_derived:
                extra.extend(m.atom for m in list(rt.mounted.values()))
            for a in extra:
                if a.name in state:
                    continue
                try:
                    state[a.name] = self.get(a)
                except Exception:  # failing or pending derived read: it has no value to show
                    import logging  # only on this path: logging costs ~5 ms at import

                    logging.getLogger(__name__).debug(
                        "get_state: %s has no value", a.name, exc_info=True
                    )
            return state

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Write primitive atoms by name, as one batch.

        Raises:
            UnknownAtomError: A name the store (atoms written here) and its registry do not know.
        """
        rt = self._rt
        with self._batch:
            by_name = {n: k for k, n in rt.names.items()}
            for name, value in state.items():
                found = self._registry.get_by_name(name, self) if self._registry else None
                if found is not None:
                    if not isinstance(found, PrimitiveAtom):
                        raise UnknownAtomError(
                            f"atom {name!r} is derived: set_state writes primitives"
                        )
                    self.set(found, value)
                    continue
                key = by_name.get(name)
                if key is None and name.startswith("atom-") and name[5:].isdigit():
                    key = int(name[5:]) if int(name[5:]) in rt.values else None
                if key is None:
                    raise UnknownAtomError(
                        f"no primitive atom named {name!r} in store {self.name!r}"
                    )
                m = rt.mounted.get(key)
                if m is not None:
                    self.set(cast("PrimitiveAtom[Any]", m.atom), value)
                elif rt.values[key] is not value:
                    rt.values[key] = value
                    rt.clock += 1
                    rt.dirty = True
