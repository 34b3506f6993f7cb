"""``client.history``: undo and redo of whole user writes (a ``batch()`` is one write)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atomiton.store._entities._async import twin
from atomiton.store._entities.changes import EntityChange

if TYPE_CHECKING:
    pass

__all__ = ["EntityHistory"]

Entry = tuple[EntityChange, ...]


class EntityHistory:
    """Undo/redo stacks of the client's writes.

    ``undo()`` brings every entity a write touched back to its state before the write (as a new,
    persisted write with a higher version); ``redo()`` re-applies it. A new user write clears the
    redo stack. At most ``limit`` writes are remembered.
    """

    _lock: Any = None  # the client's lock, set by the client (see _async.py)

    def __init__(self, limit: int, replay: Callable[[Entry, str], None]) -> None:
        self._undo: deque[Entry] = deque(maxlen=limit)
        self._redo: deque[Entry] = deque(maxlen=limit)
        self._replay = replay

    @property
    def can_undo(self) -> bool:
        """Whether ``undo()`` would do something."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether ``redo()`` would do something."""
        return bool(self._redo)

    def record(self, changes: Entry) -> None:
        """Remember one user write (called by the client)."""
        if changes:
            self._undo.append(changes)
            self._redo.clear()

    def undo(self) -> bool:
        """Revert the latest write; return False when there is nothing to undo."""
        if not self._undo:
            return False
        entry = self._undo.pop()
        try:
            self._replay(entry, "undo")
        except BaseException:
            self._undo.append(entry)
            raise
        self._redo.append(entry)
        return True

    def redo(self) -> bool:
        """Re-apply the latest undone write; return False when there is nothing to redo."""
        if not self._redo:
            return False
        entry = self._redo.pop()
        try:
            self._replay(entry, "redo")
        except BaseException:
            self._redo.append(entry)
            raise
        self._undo.append(entry)
        return True

    aundo = twin(undo)
    aredo = twin(redo)

    def clear(self) -> None:
        """Forget every remembered write."""
        self._undo.clear()
        self._redo.clear()

    def __len__(self) -> int:
        return len(self._undo)
