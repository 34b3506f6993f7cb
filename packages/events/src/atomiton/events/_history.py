"""Reading and trimming the history ring (the bus appends to it directly on the emit path)."""

from __future__ import annotations

from collections import deque

from atomiton.events._event import Event
from atomiton.events._patterns import compile_pattern, matches


def evict_older_than(history: deque[Event], cutoff: float) -> None:
    """Drop events from the old end while their timestamp is before ``cutoff``.

    Not atomic: the caller holds the bus's lock so that no other thread pops or appends meanwhile.
    """
    try:
        while history[0].timestamp < cutoff:
            history.popleft()
    except IndexError:  # empty, or another thread emptied it first
        pass


def select(history: deque[Event], pattern: str, cutoff: float | None) -> list[Event]:
    """Events matching ``pattern`` not older than ``cutoff``, sorted by id (newest last).

    Threads emitting at once may append slightly out of id order, hence the sort (cheap: the
    ring is nearly sorted already).
    """
    events = list(history)  # one C-level copy: safe against concurrent appends
    if cutoff is not None:
        events = [event for event in events if event.timestamp >= cutoff]
    if compile_pattern(pattern) != ("**",):
        verdicts: dict[str, bool] = {}  # match each distinct type once, not each event
        kept: list[Event] = []
        for event in events:
            verdict = verdicts.get(event.type)
            if verdict is None:
                verdict = verdicts[event.type] = matches(pattern, event.type)
            if verdict:
                kept.append(event)
        events = kept
    events.sort(key=_event_id)
    return events


def _event_id(event: Event) -> int:
    return event.id
