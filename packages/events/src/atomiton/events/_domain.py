"""EventDomain: a view of a bus that owns a namespace (``bus.domain("execution")``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from atomiton.events._errors import PatternError
from atomiton.events._event import Event
from atomiton.events._patterns import check_event_type

if TYPE_CHECKING:
    from atomiton.events._bus import EventBus, Unsubscribe
    from atomiton.events._dispatch import Handler
    from atomiton.events._stream import EventStream


class EventDomain:
    """The same bus, with every type and pattern prefixed by the domain's name and a dot.

    ``bus.domain("execution").emit("job.started", data)`` emits ``"execution.job.started"``;
    ``.on("job.*", h)`` subscribes to ``"execution.job.*"``. Events are the bus's own Events, so
    handlers see the full type. Domains nest: ``bus.domain("a").domain("b")`` prefixes ``"a.b."``.
    """

    __slots__ = ("bus", "name")

    def __init__(self, bus: EventBus, name: str) -> None:
        if not isinstance(name, str) or "*" in name:
            raise PatternError(f"domain name must be a str without wildcards, got {name!r}")
        check_event_type(name)
        self.bus = bus
        self.name = name

    def _full(self, pattern: str) -> str:
        if not isinstance(pattern, str):
            raise PatternError(f"pattern must be a str, got {type(pattern).__name__}")
        return f"{self.name}.{pattern}"

    def emit(self, event_type: str, data: Any = None, *, source: str | None = None) -> Event:
        """Emit ``name.event_type`` on the bus (see ``EventBus.emit``)."""
        return self.bus.emit(self._full(event_type), data, source=source)

    async def aemit(self, event_type: str, data: Any = None, *, source: str | None = None) -> Event:
        """Emit ``name.event_type`` and await its async handlers (see ``EventBus.aemit``)."""
        return await self.bus.aemit(self._full(event_type), data, source=source)

    def on(
        self, pattern: str, handler: Handler, *, priority: int = 0, replay: bool = False
    ) -> Unsubscribe:
        """Subscribe to ``name.pattern`` (see ``EventBus.on``)."""
        return self.bus.on(self._full(pattern), handler, priority=priority, replay=replay)

    def once(self, pattern: str, handler: Handler, *, priority: int = 0) -> Unsubscribe:
        """Subscribe to the first ``name.pattern`` event (see ``EventBus.once``)."""
        return self.bus.once(self._full(pattern), handler, priority=priority)

    def off(self, pattern: str, handler: Handler) -> bool:
        """Remove ``handler`` from ``name.pattern`` (see ``EventBus.off``)."""
        return self.bus.off(self._full(pattern), handler)

    def listener_count(self, event_type: str) -> int:
        """How many subscriptions an event of ``name.event_type`` would reach."""
        return self.bus.listener_count(self._full(event_type))

    def history(self, pattern: str = "**") -> list[Event]:
        """The bus's recorded events matching ``name.pattern``, newest last."""
        return self.bus.history(self._full(pattern))

    def stream(
        self,
        pattern: str = "**",
        *,
        maxsize: int = 1000,
        overflow: Literal["drop_oldest", "drop_newest", "raise"] = "drop_oldest",
    ) -> EventStream:
        """Stream ``name.pattern`` events (see ``EventBus.stream``)."""
        return self.bus.stream(self._full(pattern), maxsize=maxsize, overflow=overflow)

    def domain(self, name: str) -> EventDomain:
        """A nested view: ``bus.domain("a").domain("b")`` owns ``"a.b.*"``."""
        return EventDomain(self.bus, self._full(name))

    def __repr__(self) -> str:
        return f"<EventDomain {self.name!r} of {self.bus!r}>"
