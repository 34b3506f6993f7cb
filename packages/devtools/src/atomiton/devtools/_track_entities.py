"""Attaching an entity client through its one private devtools channel.

``atomiton.store._devtools.channel(client)`` is the only door devtools uses into the client's
runtime: the store names, counts, recent entities, and ``observe(callback) -> remover`` for every
committed change. Users never see it; detaching calls the remover.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from atomiton.devtools._jsonable import jsonable
from atomiton.devtools._recorder import Recorder

_RECENT = 20


def _channel(client: Any) -> Any:
    from atomiton.store import _devtools  # the store package's private devtools channel

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
        data = change if isinstance(change, Mapping) else jsonable(change)
        if not isinstance(data, Mapping):
            data = {"change": data}
        store = str(data.get("store", "?"))
        operation = str(data.get("operation", "change"))
        duration = data.get("duration")
        if isinstance(duration, int | float):
            self._recorder.profiler.record(f"entities.{operation}", float(duration))
        details = {k: jsonable(v) for k, v in data.items() if k not in ("store", "operation")}
        self._recorder.record("entity", self.name, f"{store}.{operation}", details)

    def state(self) -> dict[str, Any]:
        """Entity counts per store name."""
        return {name: int(self._channel.count(name)) for name in self._channel.stores()}

    def view(self) -> list[dict[str, Any]]:
        """One entry per entity store: name, count and the most recent entities."""
        return [
            {
                "name": name,
                "client": self.name,
                "count": int(self._channel.count(name)),
                "recent": jsonable(list(self._channel.recent(name, _RECENT))),
            }
            for name in self._channel.stores()
        ]

    def detach(self) -> None:
        """Remove the observer; idempotent."""
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()
