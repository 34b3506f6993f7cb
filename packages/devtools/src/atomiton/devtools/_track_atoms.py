"""Attaching an atom store: a plugin added with ``store.use(...)`` and removed on detach.

Every top-level write becomes a history point (the store's own ``snapshot()`` plus the values by
name) and an ``"atom"`` timeline entry; undo / redo / jump restore a point with the store's
``restore()``, so subscribers are notified and derived atoms recompute as for any other write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from atomiton.devtools._atom_history import HistoryPoint, StoreHistory
from atomiton.devtools._jsonable import jsonable
from atomiton.devtools._recorder import Recorder


class AtomStoreLike(Protocol):
    """The part of ``atomiton.store`` stores devtools uses."""

    def use(self, plugin: Callable[[Any], Any]) -> Callable[[], None]:
        """Add a plugin after creation; returns its remover."""
        ...

    def get_state(self) -> dict[str, Any]:
        """Current values by atom name."""
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


class AtomStoreAttachment:
    """Records the writes of one atom store and restores it on request."""

    kind = "store"

    def __init__(
        self, name: str, store: AtomStoreLike, recorder: Recorder, max_history: int
    ) -> None:
        self.name = name
        self.target = store
        self.history = StoreHistory(max_history)
        self._recorder = recorder
        self._local = threading.local()
        self._restoring = False
        self._lock = threading.RLock()
        self.history.push("attach", self._state(), store.snapshot())
        self._remove: Callable[[], None] | None = store.use(self._plugin)

    # -- the plugin ---------------------------------------------------------------------------
    def _plugin(self, store: Any) -> _Hooks:
        return _Hooks(self)

    def _started(self) -> None:
        stack: list[float] = self._local.__dict__.setdefault("stack", [])
        stack.append(time.perf_counter())

    def _finished(self, atom: Any, value: Any) -> None:
        stack: list[float] = self._local.__dict__.setdefault("stack", [])
        started = stack.pop() if stack else None
        if started is not None:
            self._recorder.profiler.record("store.set", time.perf_counter() - started)
        if self._restoring or stack:
            return  # nested writes of an action are part of the outer write's point
        label = _atom_name(atom)
        with self._lock:
            point = self.history.push(label, self._state(), self.target.snapshot())
        self._recorder.record(
            "atom", self.name, label, {"value": jsonable(value)}, position=point.position
        )

    # -- reading and time travel ----------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        state = jsonable(self.target.get_state())
        return state if isinstance(state, dict) else {}

    def state(self) -> dict[str, Any]:
        """Current values by atom name (JSON-safe)."""
        return self._state()

    def jump_to(self, position: int) -> bool:
        """Restore the point at ``position``; return whether the position changed."""
        with self._lock:
            if position == self.history.position:
                self.history.point(position)  # still validates the position
                return False
            point = self.history.move_to(position)
            self._restore(point)
        self._recorder.touch()
        return True

    def _restore(self, point: HistoryPoint) -> None:
        self._restoring = True
        try:
            if point.snapshot is not None:
                self.target.restore(point.snapshot)
            else:
                self.target.set_state(dict(point.state))
        finally:
            self._restoring = False

    def undo(self) -> bool:
        """Go one point back; False when there is nothing older."""
        return self.history.can_undo and self.jump_to(self.history.position - 1)

    def redo(self) -> bool:
        """Go one point forward; False when there is nothing newer."""
        return self.history.can_redo and self.jump_to(self.history.position + 1)

    def view(self) -> dict[str, Any]:
        """Return what the inspector shows for this store."""
        points = self.history.points()
        return {
            "name": self.name,
            "atoms": self._state(),
            "position": self.history.position,
            "first": points[0].position if points else 0,
            "history": [{"position": p.position, "label": p.label} for p in points],
            "can_undo": self.history.can_undo,
            "can_redo": self.history.can_redo,
        }

    def detach(self) -> None:
        """Remove the plugin; idempotent."""
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()


class _Hooks:
    """The plugin object handed to the store: ``on_set`` before a write, ``after_set`` after."""

    __slots__ = ("_owner",)

    def __init__(self, owner: AtomStoreAttachment) -> None:
        self._owner = owner

    def on_set(self, atom: Any, value: Any) -> Any:
        self._owner._started()
        return value

    def after_set(self, atom: Any, value: Any) -> None:
        self._owner._finished(atom, value)
