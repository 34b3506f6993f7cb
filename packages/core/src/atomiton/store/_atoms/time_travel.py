"""Undo/redo for one store: a bounded timeline of snapshots."""

from __future__ import annotations

import time
from dataclasses import dataclass
from threading import RLock

from atomiton.store._atoms.plugins import PluginHooks
from atomiton.store._atoms.snapshot import Snapshot
from atomiton.store._atoms.store import Store


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One point of a store's timeline."""

    snapshot: Snapshot
    label: str | None
    timestamp: float  # time.time() at capture


class TimeTravel:
    """Capture a store's state and move back and forth between captures.

    Each ``TimeTravel`` (hence each store) has its own, independent timeline. Snapshots key
    values by atom identity, so renaming or reusing a name never confuses them. Restoring
    notifies subscribers and recomputes derived atoms unless ``notify=False``.

    Args:
        store: The store to follow.
        history_limit: How many entries to keep; the oldest are dropped first.
        auto_capture: Capture after every top-level write or batch that changed something
            (the state at creation is captured first, so the first write can be undone).
        notify: Whether undo/redo/jump notify subscribers.
    """

    def __init__(
        self,
        store: Store,
        *,
        history_limit: int = 50,
        auto_capture: bool = False,
        notify: bool = True,
    ) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"TimeTravel needs a Store, got {type(store).__name__}")
        if not isinstance(history_limit, int) or isinstance(history_limit, bool):
            raise TypeError(
                f"history_limit must be an int (how many entries to keep), got {history_limit!r}"
            )
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, got {history_limit}")
        self._store = store
        self._max = history_limit
        self._notify = notify
        self._entries: list[HistoryEntry] = []
        self._index = -1
        self._restoring = False
        self._remove_plugin = None
        if auto_capture:
            self.capture("initial")
            self._remove_plugin = store.use(lambda _s: PluginHooks(on_commit=self._auto))

    def _auto(self) -> None:
        # A commit that moved no primitive value (an async atom settling, a derived atom
        # recomputing) is not a new point in time: an entry equal to the current one would
        # make the next undo look like it did nothing.
        if self._restoring:
            return
        entries = self._entries
        if 0 <= self._index < len(entries) and self._store._runtime.holds(
            entries[self._index].snapshot._values
        ):
            return
        self.capture()

    def close(self) -> None:
        """Stop auto-capturing (the history stays)."""
        if self._remove_plugin is not None:
            self._remove_plugin()
            self._remove_plugin = None

    def _lock(self) -> RLock:
        # The store's own lock (looked up each time: a registry may rebind the store), so that
        # moving in time from one thread and writing (hence auto-capturing) from another never
        # interleave.
        return self._store._runtime.lock

    def capture(self, label: str | None = None) -> HistoryEntry:
        """Record the store's current state; drops any redo entries."""
        with self._lock():
            entry = HistoryEntry(self._store.snapshot(), label, time.time())
            del self._entries[self._index + 1 :]
            self._entries.append(entry)
            if len(self._entries) > self._max:
                del self._entries[: len(self._entries) - self._max]
            self._index = len(self._entries) - 1
            return entry

    def _go(self, index: int) -> None:
        self._index = index
        self._restoring = True
        try:
            self._store.restore(self._entries[index].snapshot, notify=self._notify)
        finally:
            self._restoring = False

    def undo(self) -> bool:
        """Restore the previous entry; False when there is none."""
        with self._lock():
            if not self.can_undo:
                return False
            self._go(self._index - 1)
            return True

    def redo(self) -> bool:
        """Restore the next entry; False when there is none."""
        with self._lock():
            if not self.can_redo:
                return False
            self._go(self._index + 1)
            return True

    def jump_to(self, index: int) -> bool:
        """Restore entry ``index`` of ``history``; False when out of range."""
        with self._lock():
            if not 0 <= index < len(self._entries):
                return False
            self._go(index)
            return True

    @property
    def can_undo(self) -> bool:
        """Whether ``undo()`` would move."""
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        """Whether ``redo()`` would move."""
        return self._index < len(self._entries) - 1

    @property
    def index(self) -> int:
        """The position of the current entry in ``history`` (-1 when empty)."""
        return self._index

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        """Every entry, oldest first."""
        return tuple(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock():
            self._entries.clear()
            self._index = -1
