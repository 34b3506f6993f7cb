"""Attaching an atom store: a plugin added with ``store.use(...)`` and removed on detach.

Every top-level write becomes a history point (the store's own ``snapshot()`` plus the values by
name) and an ``"atom"`` timeline entry; undo / redo / jump restore a point with the store's
``restore()``, so subscribers are notified and derived atoms recompute as for any other write.

Derived atoms are shown beside the primitives, read-only: every mounted (subscribed) derived
atom, which ``store.get_state(include_derived=True)`` reports by name, plus the derived atoms
registered to the store (``store.registry.get_atoms_for_store(store)``) and those passed to
``attach(..., atoms=...)`` (which shows them even when nothing subscribes). Their values are read
with ``store.get`` when shown; histories keep primitives only, because only primitives can be
restored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from atomiton.devtools._atom_history import HistoryPoint, StoreHistory
from atomiton.devtools._errors import EditError
from atomiton.devtools._jsonable import jsonable
from atomiton.devtools._recorder import Recorder
from atomiton.store import Atom, PendingError, PluginHooks

logger = logging.getLogger(__name__)


class AtomStoreLike(Protocol):
    """The part of ``atomiton.store`` stores devtools uses."""

    def get(self, atom: Any) -> Any:
        """Read one atom."""
        ...

    def set(self, atom: Any, value: Any, /) -> Any:
        """Write one primitive atom."""
        ...

    def batch(self) -> AbstractContextManager[Any]:
        """Group writes into one notification round."""
        ...

    def use(self, plugin: Callable[[Any], Any]) -> Callable[[], None]:
        """Add a plugin after creation; returns its remover."""
        ...

    def get_state(self, *, include_derived: bool = False) -> dict[str, Any]:
        """Current values by atom name (mounted derived atoms too with ``include_derived``)."""
        ...

    def set_state(self, state: dict[str, Any]) -> None:
        """Set values by atom name."""
        ...

    def snapshot(self) -> Any:
        """An opaque copy of every value, keyed by atom identity."""
        ...

    def restore(self, snapshot: Any) -> None:
        """Put a snapshot back, notifying subscribers."""
        ...


def _atom_name(atom: Any) -> str:
    return str(getattr(atom, "name", None) or getattr(atom, "id", "atom"))


def _is_derived(atom: Any) -> bool:
    return getattr(atom, "kind", "primitive") != "primitive"


def _read_shown(store: AtomStoreLike, atom: Any) -> Any:
    """An atom's value for display; a read that fails is shown, never raised."""
    if getattr(atom, "is_async", False):
        # Reading would start an evaluation on whatever loop the caller runs (the inspector's).
        return "<async: read it with await store.aget(atom)>"
    try:
        return jsonable(store.get(atom))
    except PendingError:
        return "<pending>"
    except Exception as error:  # a derived read that raises: show what it raised
        return f"<{type(error).__name__}: {error}>"


class AtomStoreAttachment:
    """Records the writes of one atom store and restores it on request."""

    kind = "store"

    def __init__(
        self,
        name: str,
        store: AtomStoreLike,
        recorder: Recorder,
        history_limit: int,
        atoms: Iterable[Atom[Any]] = (),
    ) -> None:
        self.name = name
        self.target = store
        self.history = StoreHistory(history_limit)
        self._recorder = recorder
        self._local = threading.local()
        self._pending: list[tuple[str, Any, Any]] = []
        # Primitive atoms seen written, by name (weakly): for edits, and for the initial value of
        # an atom a jump took back to before its first write (the store no longer lists it).
        self._written: dict[str, weakref.ref[Atom[Any]]] = {}
        self._action: tuple[str, tuple[Any, ...]] | None = None
        self._lock = threading.RLock()
        # Held weakly: as in the store itself, showing an atom must not keep it alive.
        self._shown: list[weakref.ref[Atom[Any]]] = [weakref.ref(a) for a in atoms]
        state = self._state()
        self.history.push("attach", state, store.snapshot(), state=state)
        self._remove: Callable[[], None] | None = store.use(self._plugin)

    # -- the plugin ---------------------------------------------------------------------------
    def _plugin(self, store: Any) -> PluginHooks:
        return PluginHooks(
            on_set=self._on_set,
            after_set=self._after_set,
            on_commit=self._on_commit,
            on_action=self._on_action,
        )

    def _on_action(self, atom: Any, args: tuple[Any, ...]) -> None:
        # A writable atom's write function returned; its writes commit next. Inner calls report
        # first, so the last one seen before the commit is the call the app made.
        if self._pending and not self._restoring:
            self._action = (_atom_name(atom), args)

    def _on_set(self, atom: Any, value: Any) -> Any:
        starts: list[float] = self._local.__dict__.setdefault("starts", [])
        starts.append(time.perf_counter())
        old: Any = None
        try:
            old = self.target.get(atom)
            changed = not (old is value or old == value)
        except Exception:  # an odd __eq__ must not break the app's write; count it as a change
            changed = True
        if changed and not self._restoring:
            name = _atom_name(atom)
            if name not in self._written:
                with contextlib.suppress(TypeError):  # atoms are weak-referenceable; be safe
                    self._written[name] = weakref.ref(atom)
            self._pending.append((name, old, value))
        return value

    def _after_set(self, atom: Any, value: Any) -> None:
        starts: list[float] = self._local.__dict__.setdefault("starts", [])
        if starts:
            self._recorder.profiler.record("store.set", time.perf_counter() - starts.pop(0))

    def _on_commit(self) -> None:
        pending, self._pending = self._pending, []
        action, self._action = self._action, None
        if self._recorder.paused and pending:
            self._recorder.touch()  # not recorded; the values shown changed all the same
        if self._restoring or not pending or self._recorder.paused:
            return  # a restore, a commit made only of derived recomputes, or recording paused
        written: dict[str, Any] = {}
        before: dict[str, Any] = {}
        for name, old, value in pending:
            before.setdefault(name, jsonable(old))  # the value before the first write
            written[name] = jsonable(value)
        label = ", ".join(written)
        data: dict[str, Any] = written
        if action is not None:  # the write function's call, with the atoms it wrote
            name, args = action
            shown = jsonable(list(args))
            label = f"{name}({', '.join(json.dumps(a, default=str) for a in shown)})"[:200]
            data = {"action": name, "args": shown, "changes": written}
        # No devtools lock here: this runs under the store's lock, and jump_to takes ours first.
        position = self.history.push(label, written, self.target.snapshot())
        self._recorder.record("atom", self.name, label, data, position=position, before=before)

    # -- reading and time travel ----------------------------------------------------------------
    def _named_atoms(self) -> list[Any]:
        """Atoms devtools can name beyond the written primitives: registered, then passed in."""
        registry = getattr(self.target, "registry", None)
        found: list[Any] = []
        if registry is not None and callable(getattr(registry, "get_atoms_for_store", None)):
            found.extend(registry.get_atoms_for_store(self.target))
        found.extend(a for a in (ref() for ref in self._shown) if a is not None)
        return found

    def _values(self, derived_too: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
        """(primitive values, derived values) by atom name, JSON-safe."""
        atoms = self._named_atoms()
        derived_names = {_atom_name(a) for a in atoms if _is_derived(a)}
        try:
            raw = self.target.get_state()
        except Exception:
            # get_state() reads every registered atom and raises with the first derived read
            # that fails (an async one outside a loop, a read that raises); fall back to the
            # atoms devtools can name (the loop below reads the primitives among them).
            raw = {}
        state = jsonable({k: v for k, v in raw.items() if k not in derived_names})
        primitives = state if isinstance(state, dict) else {}
        derived: dict[str, Any] = {}
        if derived_too:
            # Mounted (subscribed) derived atoms, which the store reports by name even when
            # nobody registered them or passed them to attach().
            try:
                everything = self.target.get_state(include_derived=True)
            except Exception:
                everything = {}
            for name, value in everything.items():
                if name not in raw and name not in derived_names:
                    derived[name] = jsonable(value)
        for a in atoms:
            name = _atom_name(a)
            if _is_derived(a):
                if derived_too and name not in derived:
                    derived[name] = _read_shown(self.target, a)
            elif name not in primitives:  # passed in but never written: its initial value
                primitives[name] = _read_shown(self.target, a)
        for name, ref in list(self._written.items()):
            a = ref()
            if a is not None and name not in primitives and name not in derived:
                # Written later than the point a jump restored: the store holds no value for it
                # there, so it reads as its initial value (as store.get(atom) would answer).
                primitives[name] = _read_shown(self.target, a)
        return primitives, derived

    def _state(self) -> dict[str, Any]:
        """Primitive values by name: what a history point holds and ``set_state`` can restore."""
        return self._values(derived_too=False)[0]

    def state(self) -> dict[str, Any]:
        """Current values by atom name, derived atoms included (JSON-safe)."""
        primitives, derived = self._values()
        return {**primitives, **derived}

    def jump_to(self, position: int) -> bool:
        """Restore the point at ``position``; return whether the position changed."""
        with self._lock:
            if position == self.history.position:
                self.history.point(position)  # still validates the position
                return False
            point = self.history.move_to(position)
            self.restore_point(point)
        self._recorder.touch()
        return True

    @property
    def _restoring(self) -> bool:
        # Per thread: the restore's own commit is skipped, another thread's write is not.
        return bool(getattr(self._local, "restoring", False))

    def restore_point(self, point: HistoryPoint) -> None:
        """Put the store back to ``point`` without recording the restore as a write."""
        self._local.restoring = True
        try:
            if point.snapshot is not None:
                self.target.restore(point.snapshot)
            else:
                self._restore_by_name(point.state)
        finally:
            self._local.restoring = False

    def _restore_by_name(self, state: dict[str, Any]) -> None:
        """Write an imported point's values by atom name, as one batch.

        ``set_state`` knows only the primitives written in the store and the registered ones;
        atoms passed to ``attach(atoms=...)`` are written directly. A name that is neither (an
        atom never written in this store) cannot be found, so it is skipped with a warning
        rather than failing the whole import or jump.
        """
        named = self._named_atoms()
        known = {_atom_name(a): a for a in named if not _is_derived(a)}
        derived = {_atom_name(a) for a in named if _is_derived(a)}
        try:
            by_store = set(self.target.get_state()) - derived
        except Exception:
            by_store = set()
        direct = {n: v for n, v in state.items() if n in known}
        rest = {n: v for n, v in state.items() if n not in known and n in by_store}
        missing = sorted(set(state) - direct.keys() - rest.keys())
        if missing:
            logger.warning(
                "store %r: no atom named %s in it to restore (write it once, register it, or "
                "pass it to attach(atoms=...)); left as it is",
                self.name,
                ", ".join(map(repr, missing)),
            )
        with self.target.batch():
            for name, value in direct.items():
                self.target.set(known[name], value)
            if rest:
                self.target.set_state(rest)

    def writable(self, name: str) -> Any:
        """The primitive atom named ``name`` that devtools can write, or None."""
        ref = self._written.get(name)
        found = ref() if ref is not None else None
        if found is not None:
            return found
        for a in self._named_atoms():
            if _atom_name(a) == name and not _is_derived(a):
                return a
        return None

    def set_value(self, name: str, value: Any) -> None:
        """Write ``value`` into the primitive atom ``name`` with ``store.set``, as the app would.

        Plugins (this one included, so the write becomes a history point and a timeline entry)
        see it like any other write.

        Raises:
            EditError: no primitive atom of that name is known here, or the store refused it.
        """
        target = self.writable(name)
        if target is None:
            derived = name in self._values()[1]
            raise EditError(
                f"store {self.name!r}: atom {name!r} is derived (read-only)"
                if derived
                else f"store {self.name!r}: no primitive atom named {name!r} is known to devtools "
                "(write it once after attaching, register it, or pass it to attach(atoms=...))"
            )
        try:
            self.target.set(target, value)
        except Exception as error:
            raise EditError(
                f"store {self.name!r}: writing {name!r} failed: {type(error).__name__}: {error}"
            ) from error

    def undo(self) -> bool:
        """Go one point back; False when there is nothing older."""
        return self.history.can_undo and self.jump_to(self.history.position - 1)

    def redo(self) -> bool:
        """Go one point forward; False when there is nothing newer."""
        return self.history.can_redo and self.jump_to(self.history.position + 1)

    def view(self) -> dict[str, Any]:
        """Return what the inspector shows for this store."""
        outline = self.history.outline()
        primitives, derived = self._values()
        return {
            "name": self.name,
            "atoms": {**primitives, **derived},
            "derived": list(derived),
            "position": self.history.position,
            "first": outline[0][0] if outline else 0,
            "history": [{"position": position, "label": label} for position, label in outline],
            "can_undo": self.history.can_undo,
            "can_redo": self.history.can_redo,
            "editable": sorted(self._editable() & primitives.keys()),
        }

    def _editable(self) -> set[str]:
        names = {name for name, ref in list(self._written.items()) if ref() is not None}
        names.update(_atom_name(a) for a in self._named_atoms() if not _is_derived(a))
        return names

    def detach(self) -> None:
        """Remove the plugin; idempotent."""
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()
