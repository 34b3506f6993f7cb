"""Per-store history for time travel: one point per observed write, restorable by position.

Positions are absolute and never reused: when the bounded history drops its oldest points, the
remaining points keep their numbers, so a timeline entry's ``position`` stays valid (or becomes a
clear error) for as long as DevTools runs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from atomiton.devtools._errors import TimeTravelError


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """The state of one store after one write.

    Attributes:
        position: absolute index in the store's history (0 = when DevTools attached).
        label: what led here (the atom written, ``"attach"``, ``"import"``).
        timestamp: wall-clock seconds.
        state: JSON-safe values by atom name (what the inspector shows and exports).
        snapshot: the store's own ``snapshot()`` (keyed by atom identity); ``None`` for imported
            points, which are restored by name through ``set_state``.
    """

    position: int
    label: str
    timestamp: float
    state: dict[str, Any] = field(default_factory=dict)
    snapshot: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Return the point as JSON-safe data (the opaque snapshot is left out)."""
        return {
            "position": self.position,
            "label": self.label,
            "timestamp": self.timestamp,
            "state": self.state,
        }


class _Point:
    """A kept point: what the write changed; the full state only for the oldest (the base)."""

    __slots__ = ("changes", "label", "position", "snapshot", "state", "timestamp")

    def __init__(
        self,
        position: int,
        label: str,
        timestamp: float,
        changes: dict[str, Any],
        snapshot: Any,
        state: dict[str, Any] | None,
    ) -> None:
        self.position = position
        self.label = label
        self.timestamp = timestamp
        self.changes = changes
        self.snapshot = snapshot
        self.state = state


class StoreHistory:
    """A bounded, thread-safe list of history points with a current position.

    A write records only what it changed (O(size of the write), not of the store); full states
    are folded forward from the oldest point, which always holds one, when someone reads them
    (export, ``DevTools.history``, restoring an imported point).

    Args:
        max_points: how many points are kept; the oldest go first.
    """

    def __init__(self, max_points: int = 1000) -> None:
        if max_points < 2:
            raise ValueError(f"history_limit must be >= 2, got {max_points!r}")
        self._max = max_points
        self._points: deque[_Point] = deque()
        self._position = -1
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        """The absolute position of the point the store currently shows (-1 when empty)."""
        return self._position

    @property
    def first(self) -> int:
        """The oldest position still kept."""
        with self._lock:
            return self._points[0].position if self._points else 0

    @property
    def last(self) -> int:
        """The newest position kept."""
        with self._lock:
            return self._points[-1].position if self._points else -1

    @property
    def can_undo(self) -> bool:
        """Whether an older point exists."""
        return self._position > self.first

    @property
    def can_redo(self) -> bool:
        """Whether a newer point exists (after an undo or a jump back)."""
        return self._position < self.last

    def outline(self) -> list[tuple[int, str]]:
        """``(position, label)`` of every kept point, oldest first (cheap: no state is built)."""
        with self._lock:
            return [(p.position, p.label) for p in self._points]

    def points(self) -> list[HistoryPoint]:
        """Return the kept points with their full states, oldest first."""
        with self._lock:
            result: list[HistoryPoint] = []
            state: dict[str, Any] = {}
            for p in self._points:
                state = dict(p.state) if p.state is not None else {**state, **p.changes}
                result.append(HistoryPoint(p.position, p.label, p.timestamp, state, p.snapshot))
            return result

    def push(
        self,
        label: str,
        changes: dict[str, Any],
        snapshot: Any,
        state: dict[str, Any] | None = None,
    ) -> int:
        """Record a new write after the current position, dropping any redo branch.

        Args:
            label: what was written.
            changes: the new values by atom name (JSON-safe).
            snapshot: the store's ``snapshot()`` after the write.
            state: the full state, when known (the first point must have it).

        Returns:
            The new point's position.
        """
        with self._lock:
            while self._points and self._points[-1].position > self._position:
                self._points.pop()
            if not self._points and state is None:
                state = dict(changes)
            point = _Point(self._position + 1, label, time.time(), changes, snapshot, state)
            self._points.append(point)
            if len(self._points) > self._max:
                base = self._points.popleft()
                following = self._points[0]
                if following.state is None:  # hand the base state on: O(size of one write)
                    assert base.state is not None
                    base.state.update(following.changes)
                    following.state = base.state
            self._position = point.position
            return point.position

    def point(self, position: int) -> HistoryPoint:
        """Return the point at ``position``, or raise ``TimeTravelError`` naming the valid range."""
        with self._lock:
            if self._points:
                offset = position - self._points[0].position
                if 0 <= offset < len(self._points):
                    kept = list(self._points)
                    base = offset
                    while kept[base].state is None:  # the oldest point always has a state
                        base -= 1
                    state = dict(kept[base].state or {})
                    for later in kept[base + 1 : offset + 1]:
                        state.update(later.changes)
                    p = kept[offset]
                    return HistoryPoint(p.position, p.label, p.timestamp, state, p.snapshot)
            first = self._points[0].position if self._points else 0
            last = self._points[-1].position if self._points else -1
        raise TimeTravelError(f"history position {position} is not kept; valid: {first}..{last}")

    def move_to(self, position: int) -> HistoryPoint:
        """Make ``position`` current and return its point."""
        point = self.point(position)
        self._position = position
        return point

    def load(self, points: list[HistoryPoint], position: int) -> None:
        """Replace the history (import); ``position`` must be one of the points."""
        with self._lock:
            self._points.clear()
            for p in points[-self._max :]:
                state = dict(p.state)
                self._points.append(_Point(p.position, p.label, p.timestamp, state, None, state))
            self._position = position if points else -1
