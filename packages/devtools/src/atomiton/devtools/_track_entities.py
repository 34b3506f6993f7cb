"""Attaching an entity client through its one private devtools channel.

``atomiton.store._entities.devtools.channel(client)`` is the only door devtools uses into the
client's runtime: the store names, counts, recent entities, and ``observe(callback) -> remover``
for every committed change. Users never see it; detaching calls the remover.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atomiton.devtools._jsonable import jsonable
from atomiton.devtools._recorder import Recorder

_RECENT = 20


def _channel(client: Any) -> Any:
    from atomiton.store._entities import devtools as _devtools  # private devtools channel

    return _devtools.channel(client)


class EntityClientAttachment:
    """Records entity mutations on the timeline and reads counts and recent entities."""

    kind = "client"

    def __init__(self, name: str, client: Any, recorder: Recorder) -> None:
        self.name = name
        self.target = client
        self._recorder = recorder
        self._channel = _channel(client)
        self._remove: Callable[[], None] | None = self._channel.observe(self._on_change)

    def _on_change(self, change: Any) -> None:
        # change is a StoreChange(store, operation, ids, remote, strategy, changes)
        store = str(getattr(change, "store", "?"))
        operation = str(getattr(change, "operation", "change"))
        ids = [str(i) for i in getattr(change, "ids", ())]
        self._recorder.profiler.record(f"entities.{operation}", None)
        chosen = getattr(change, "strategy", None)
        data: dict[str, Any] = {
            "ids": ids,
            "strategy": str(chosen) if chosen else self._strategy(store),
        }
        if getattr(change, "remote", False):
            data["remote"] = True
        # The diff: each written entity before and after (a write of this process; a remote
        # change names its ids only). None on a side: the entity did not exist.
        written = getattr(change, "changes", ())
        before: dict[str, Any] | None = None
        if written:
            before = {str(c.id): jsonable(c.before) for c in written}
            data["changes"] = {str(c.id): jsonable(c.after) for c in written}
        self._recorder.record("entity", self.name, f"{store}.{operation}", data, before=before)

    def _strategy(self, store: str) -> str:
        # For a change that names no strategy (a remote one): the store's configured one.
        try:
            handle = self._channel.handle(store)
        except Exception:
            handle = None
        return str(getattr(handle, "write_strategy", None) or "direct")

    def state(self) -> dict[str, Any]:
        """Entity counts per store name (soft-deleted entities excluded)."""
        return {name: int(count) for name, count in self._channel.counts().items()}

    def view(self) -> list[dict[str, Any]]:
        """One entry per entity store: name, count and its most recent entities (newest first)."""
        recent = self._channel.recent(_RECENT * 5)
        return [
            {
                "name": name,
                "client": self.name,
                "count": int(count),
                "can_undo": self.can_undo,
                "can_redo": self.can_redo,
                "recent": [jsonable(r.entity) for r in recent if r.store == name][:_RECENT],
            }
            for name, count in self._channel.counts().items()
        ]

    def undo(self) -> bool:
        """Undo the client's last whole user write (``client.history.undo()``)."""
        return bool(self.target.history.undo())

    def redo(self) -> bool:
        """Redo the client's next undone write (``client.history.redo()``)."""
        return bool(self.target.history.redo())

    @property
    def can_undo(self) -> bool:
        """Whether the client has a write to undo."""
        return bool(self.target.history.can_undo)

    @property
    def can_redo(self) -> bool:
        """Whether the client has an undone write to redo."""
        return bool(self.target.history.can_redo)

    def detach(self) -> None:
        """Remove the observer; idempotent."""
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()
