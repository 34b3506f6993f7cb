"""A subscription (pattern, handler, what to call, priority) and resolving them for one type."""

from __future__ import annotations

from atomiton.events._dispatch import Handler
from atomiton.events._patterns import compile_pattern, matches


class Subscription:
    """One ``on``/``once`` registration; the bus keeps an immutable tuple of them."""

    __slots__ = ("call", "handler", "pattern", "priority", "segments", "seq")

    def __init__(
        self, pattern: str, handler: Handler, call: Handler, priority: int, seq: int
    ) -> None:
        self.pattern = pattern
        self.segments = compile_pattern(pattern)
        self.handler = handler
        self.call = call
        self.priority = priority
        self.seq = seq


def calls_for(subscriptions: tuple[Subscription, ...], event_type: str) -> tuple[Handler, ...]:
    """What an event of ``event_type`` calls: matching subscriptions, by priority then age."""
    matched = sorted(
        (sub for sub in subscriptions if matches(sub.pattern, event_type)),
        key=lambda sub: (-sub.priority, sub.seq),
    )
    return tuple(sub.call for sub in matched)
