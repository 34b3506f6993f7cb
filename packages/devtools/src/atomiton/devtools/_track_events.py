"""Attaching an event bus: one ``bus.on("**", ...)`` subscription, removed on detach."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from atomiton.devtools._jsonable import jsonable
from atomiton.devtools._recorder import Recorder


class EventLike(Protocol):
    """The fields of ``atomiton.events.Event`` devtools reads."""

    @property
    def id(self) -> int:
        """Monotonic per bus."""
        ...

    @property
    def type(self) -> str:
        """Dot-separated event type."""
        ...

    @property
    def data(self) -> Any:
        """The payload."""
        ...

    @property
    def source(self) -> str | None:
        """Who emitted it."""
        ...

    @property
    def timestamp(self) -> float:
        """When it was emitted."""
        ...


class BusLike(Protocol):
    """The part of ``atomiton.events.EventBus`` devtools uses."""

    def on(self, pattern: str, handler: Callable[[Any], Any]) -> Callable[[], None]:
        """Subscribe ``handler`` to ``pattern``; returns an unsubscriber."""
        ...

    def emit(self, type: str, data: Any = None, *, source: str | None = None) -> Any:
        """Emit one event."""
        ...


def event_to_dict(event: EventLike) -> dict[str, Any]:
    """Return the JSON-safe view of one event."""
    return {
        "id": getattr(event, "id", None),
        "type": event.type,
        "source": getattr(event, "source", None),
        "data": jsonable(getattr(event, "data", None)),
        "timestamp": getattr(event, "timestamp", 0.0),
        "origin": getattr(event, "origin", None),
    }


class EventBusAttachment:
    """Records every event of one bus on the timeline; storage operations feed the profile."""

    kind = "bus"

    def __init__(self, name: str, bus: BusLike, recorder: Recorder) -> None:
        self.name = name
        self.target = bus
        self._recorder = recorder
        self._remove: Callable[[], None] | None = bus.on("**", self._on_event)

    def _on_event(self, event: EventLike) -> None:
        if event.type.startswith("devtools."):
            return  # DevTools' own entries shared across processes (see _share): not app events
        view = event_to_dict(event)
        self._recorder.add_event(view)
        data = event.data
        if event.type == "storage.operation" and isinstance(data, Mapping):
            duration = data.get("duration")
            self._recorder.profiler.record(
                f"storage.{data.get('operation', '?')}",
                float(duration) if isinstance(duration, int | float) else None,
                error=data.get("error") is not None,
            )
        # An event that came through a bridge names the process that emitted it.
        origin = getattr(event, "origin", None) or ""
        self._recorder.record(
            "event", view["source"] or self.name, event.type, view["data"], origin=str(origin)
        )

    def detach(self) -> None:
        """Remove the subscription; idempotent."""
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()
