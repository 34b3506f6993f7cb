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
from atomiton.store import PluginHooks


class AtomStoreLike(Protocol):
    """The part of ``atomiton.store`` stores devtools uses."""

    def get(self, atom: Any) -> Any:
        """Read one atom."""
        ...

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
        self._pending: list[tuple[str, Any]] = []
        self._lock = threading.RLock()
        state = self._state()
        self.history.push("attach", state, store.snapshot(), state=state)
        self._remove: Callable[[], None] | None = store.use(self._plugin)

    # -- the plugin ---------------------------------------------------------------------------
    def _plugin(self, store: Any) -> PluginHooks:
        return PluginHooks(
            on_set=self._on_set, after_set=self._after_set, on_commit=self._on_commit
        )

    def _on_set(self, atom: Any, value: Any) -> Any:
        starts: list[float] = self._local.__dict__.setdefault("starts", [])
        starts.append(time.perf_counter())
        try:
            old = self.target.get(atom)
            changed = not (old is value or old == value)
        except Exception:  # an odd __eq__ must not break the app's write; count it as a change
            changed = True
        if changed and not self._restoring:
            self._pending.append((_atom_name(atom), value))
        return value

    def _after_set(self, atom: Any, value: Any) -> None:
        starts: list[float] = self._local.__dict__.setdefault("starts", [])
        if starts:
            self._recorder.profiler.record("store.set", time.perf_counter() - starts.pop(0))

    def _on_commit(self) -> None:
        pending, self._pending = self._pending, []
        if self._restoring or not pending:
            return  # a restore, or a commit made only of derived recomputes
        written = {name: jsonable(value) for name, value in pending}
        label = ", ".join(written)
        # No devtools lock here: this runs under the store's lock, and jump_to takes ours first.
        position = self.history.push(label, written, self.target.snapshot())
        self._recorder.record("atom", self.name, label, written, position=position)

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
                self.target.set_state(dict(point.state))
        finally:
            self._local.restoring = False

    def undo(self) -> bool:
        """Go one point back; False when there is nothing older."""
        return self.history.can_undo and self.jump_to(self.history.position - 1)

    def redo(self) -> bool:
        """Go one point forward; False when there is nothing newer."""
        return self.history.can_redo and self.jump_to(self.history.position + 1)

    def view(self) -> dict[str, Any]:
        """Return what the inspector shows for this store."""
        outline = self.history.outline()
        return {
            "name": self.name,
            "atoms": self._state(),
            "position": self.history.position,
            "first": outline[0][0] if outline else 0,
            "history": [{"position": position, "label": label} for position, label in outline],
            "can_undo": self.history.can_undo,
            "can_redo": self.history.can_redo,
        }

    def detach(self) -> None:
        """Remove the plugin; idempotent."""
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()
