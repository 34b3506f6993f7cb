"""Events read back from a durable stream: decoding, replay merging, and history bounds.

Shared by ``Bridge.history`` and the replay a bridged bus does for ``on(replay=True)``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from atomiton.events._codec import decode
from atomiton.events._dispatch import replay_key
from atomiton.events._errors import BusConfigError, TransportError
from atomiton.events._event import Event, make_event
from atomiton.events._transport import WireEvent


def to_events(
    wires: list[WireEvent],
    own_origin: str,
    known: dict[object, int],
    report: Callable[[Exception], None],
) -> list[Event]:
    """Decode stored records into Events, keeping the first copy of each id only.

    Records of ``own_origin`` (this process) become ``origin=None`` with their original bus id;
    others keep their origin and take their bus id from ``known`` (keyed by ``(origin, seq)``),
    else 0. A record that cannot be decoded is reported and skipped.
    """
    events: list[Event] = []
    ids: set[str] = set()
    for wire in wires:
        if wire.id in ids:
            continue
        ids.add(wire.id)
        try:
            data = decode(wire.encoding, wire.data)
            if wire.origin == own_origin:
                event = make_event(
                    int(wire.id.rpartition(":")[2]),
                    wire.type,
                    data,
                    wire.source,
                    wire.timestamp,
                    None,
                    wire.seq,
                )
            else:
                bus_id = known.get((wire.origin, wire.seq), 0)
                event = make_event(
                    bus_id, wire.type, data, wire.source, wire.timestamp, wire.origin, wire.seq
                )
        except Exception as error:  # each codec raises its own kinds
            report(
                TransportError(
                    f"stored event {wire.type!r} (seq {wire.seq}) cannot be decoded "
                    f"({type(error).__name__}: {error}); skipped"
                )
            )
            continue
        events.append(event)
    return events


def merge_replay(
    durable: list[Event], local: list[Event], pending: list[Event]
) -> tuple[list[Event], int | None]:
    """One replay from the durable stream, the bus's own history and the unsent events.

    Each event once (by ``replay_key``); events with a stream position first, in stream order,
    then this process's events that have none, in emit order.

    Returns:
        The events to replay, and the highest stream position among them (None if none).
    """
    keys = {replay_key(event) for event in durable}
    extra: list[Event] = []
    for event in (*local, *pending):
        key = replay_key(event)
        if key not in keys:
            keys.add(key)
            extra.append(event)
    positioned = durable + [event for event in extra if event.seq is not None]
    positioned.sort(key=_seq_of)
    unsent = sorted((event for event in extra if event.seq is None), key=_id_of)
    through = positioned[-1].seq if positioned else None
    return positioned + unsent, through


def split_since(since: object) -> tuple[int | None, float | None]:
    """``Bridge.history``'s ``since`` as (since_seq, since_time).

    Raises:
        BusConfigError: Not an int >= 0, a float, an aware datetime or None.
    """
    if since is None:
        return None, None
    if isinstance(since, bool):
        raise BusConfigError(f"since must be an int seq, a float time or a datetime, got {since!r}")
    if isinstance(since, int):
        if since < 0:
            raise BusConfigError(f"since (a stream position) must be >= 0, got {since}")
        return since, None
    if isinstance(since, float):
        return None, since
    if isinstance(since, datetime):
        if since.tzinfo is None:
            raise BusConfigError("since must be a timezone-aware datetime (naive is ambiguous)")
        return None, since.timestamp()
    raise BusConfigError(
        f"since must be an int seq, a float time or a datetime, got {type(since).__name__}"
    )


def _seq_of(event: Event) -> int:
    return event.seq or 0


def _id_of(event: Event) -> int:
    return event.id
