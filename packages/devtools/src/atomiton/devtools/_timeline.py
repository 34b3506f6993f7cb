"""The timeline: one bounded, ordered record of everything DevTools observed.

Every atom write, entity mutation, event and job transition becomes one ``TimelineEntry``. The
timeline is a ring (``collections.deque(maxlen=...)``): memory stays bounded however long the app
runs, and the oldest entries fall off first. Sequence numbers keep counting, so an entry's ``seq``
identifies it even after older entries were dropped.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EntryKind = Literal["atom", "entity", "event", "job", "hub"]
KINDS: tuple[EntryKind, ...] = ("atom", "entity", "event", "job", "hub")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One observed change.

    Attributes:
        seq: position in the whole recording, counting from 0; never reused.
        kind: ``"atom"``, ``"entity"``, ``"event"``, ``"job"`` or ``"hub"`` (a hub instance's
            lifecycle).
        source: the attached thing it came from (store name, entity store, event source, workers).
        label: a short human description (atom name, ``"Todo.add"``, event type, job name).
        data: JSON-safe details (new value, ids, event data, job status and progress).
        timestamp: wall-clock seconds (``time.time()``) when DevTools saw it.
        position: for atom writes, the index in that store's history that ``jump_to`` restores.
        origin: the process it happened in; ``""`` for this process (entries imported or
            received from another process keep that process's name).
        before: for atom writes, the values the written atoms had just before (the diff's
            left side); ``None`` for other kinds.
    """

    seq: int
    kind: EntryKind
    source: str
    label: str
    data: Mapping[str, Any] = field(default_factory=dict)
    timestamp: float = 0.0
    position: int | None = None
    origin: str = ""
    before: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as JSON-safe data."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "source": self.source,
            "label": self.label,
            "data": dict(self.data),
            "timestamp": self.timestamp,
            "position": self.position,
            "origin": self.origin,
            "before": None if self.before is None else dict(self.before),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimelineEntry:
        """Rebuild an entry from ``to_dict`` output."""
        kind = data["kind"]
        if kind not in KINDS:
            raise ValueError(f"timeline entry kind {kind!r} is not one of {KINDS}")
        position = data.get("position")
        return cls(
            seq=int(data["seq"]),
            kind=kind,
            source=str(data["source"]),
            label=str(data["label"]),
            data=dict(data.get("data") or {}),
            timestamp=float(data.get("timestamp", 0.0)),
            position=None if position is None else int(position),
            origin=str(data.get("origin") or ""),
            before=None if data.get("before") is None else dict(data["before"]),
        )


class Timeline:
    """A thread-safe ring of ``TimelineEntry`` with change listeners.

    Args:
        entry_limit: how many entries are kept; the oldest are dropped first. Must be >= 1.
    """

    def __init__(self, *, entry_limit: int = 10_000) -> None:
        if not isinstance(entry_limit, int) or entry_limit < 1:
            raise ValueError(f"entry_limit must be a positive int, got {entry_limit!r}")
        self._entries: deque[TimelineEntry] = deque(maxlen=entry_limit)
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[TimelineEntry], None]] = []

    @property
    def entry_limit(self) -> int:
        """How many entries the ring keeps."""
        return self._entries.maxlen or 0

    def record(
        self,
        kind: EntryKind,
        source: str,
        label: str,
        data: Mapping[str, Any] | None = None,
        *,
        position: int | None = None,
        origin: str = "",
        timestamp: float | None = None,
        before: Mapping[str, Any] | None = None,
    ) -> TimelineEntry:
        """Append one entry (numbered in arrival order) and tell the listeners."""
        when = time.time() if timestamp is None else timestamp
        with self._lock:
            entry = TimelineEntry(
                next(self._seq), kind, source, label, data or {}, when, position, origin, before
            )
            self._entries.append(entry)
            listeners = tuple(self._listeners)
        for listener in listeners:
            listener(entry)
        return entry

    def load(self, entries: list[TimelineEntry]) -> None:
        """Replace the content with ``entries`` (used by import); numbering continues after them."""
        with self._lock:
            self._entries.clear()
            self._entries.extend(entries)
            start = entries[-1].seq + 1 if entries else 0
            self._seq = itertools.count(start)

    def add_listener(self, listener: Callable[[TimelineEntry], None]) -> Callable[[], None]:
        """Call ``listener(entry)`` after every new entry; returns a remover."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def entries(
        self, kind: EntryKind | None = None, *, limit: int | None = None
    ) -> list[TimelineEntry]:
        """Return the kept entries, oldest first; optionally of one kind, at most ``limit``."""
        with self._lock:
            items = list(self._entries)
        if kind is not None:
            items = [entry for entry in items if entry.kind == kind]
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        return items

    def page(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        before: int | None = None,
        kind: str | None = None,
        source: str | None = None,
        origin: str | None = None,
        text: str | None = None,
    ) -> tuple[list[TimelineEntry], int]:
        """One page of the kept entries matching the filters, counted from the newest.

        Args:
            offset: how many matching entries (newest first) to skip.
            limit: the page size.
            before: only entries with ``seq < before`` (keeps a page still while new entries
                arrive).
            kind: only this kind.
            source: only this source.
            origin: only this origin (``""``: this process).
            text: only entries whose label, source or data contain it (case-insensitive).

        Returns:
            ``(entries oldest first, how many entries match in all)``.
        """
        with self._lock:
            items = list(self._entries)
        needle = text.lower() if text else None
        chosen = [
            entry
            for entry in reversed(items)
            if (before is None or entry.seq < before)
            and (kind is None or entry.kind == kind)
            and (source is None or entry.source == source)
            and (origin is None or entry.origin == origin)
            and (needle is None or needle in _searchable(entry))
        ]
        window = chosen[max(offset, 0) : max(offset, 0) + max(limit, 0)]
        return window[::-1], len(chosen)

    def facets(self) -> dict[str, list[str]]:
        """The distinct sources and origins of the kept entries (for the inspector's filters)."""
        with self._lock:
            items = list(self._entries)
        return {
            "sources": sorted({entry.source for entry in items}),
            "origins": sorted({entry.origin for entry in items}),
        }

    def clear(self) -> None:
        """Drop every entry (numbering continues)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[TimelineEntry]:
        return iter(self.entries())

    def __getitem__(self, index: int) -> TimelineEntry:
        with self._lock:
            return self._entries[index]

    def __repr__(self) -> str:
        return f"Timeline({len(self)} of {self.entry_limit} entries)"


def _searchable(entry: TimelineEntry) -> str:
    try:
        data = json.dumps(entry.data, default=str)
    except (TypeError, ValueError):
        data = str(entry.data)
    return f"{entry.label}\n{entry.source}\n{data}".lower()
