"""The transport protocol: what a bridge needs from NATS, Redis, SQLite or any other durable log.

A *transport* moves :class:`WireEvent` records through one named durable, append-only *stream*
that several processes share. The bridge (``_bridge.py``) owns everything that is the same for
every transport, so a transport stays small:

===========================================  =============================================
the bridge does                              the transport does
===========================================  =============================================
encode/decode data (JSON, msgpack)           carry ``data`` bytes and the other fields intact
bounded outbox, overflow policy, reporting   ``publish`` a batch and return once acknowledged
retry of a failed ``publish`` with backoff   raise :class:`TransportError` when it fails
dedupe by ``id``, drop own-origin events     deliver every stored event at least once, in order
exact pattern matching (``matches()``)       optional server-side pre-filter (a superset)
replay gate for ``bus.on(replay=True)``      ``history`` and ``start(replay_from=...)``
                                             reconnect the consumer, resume after last seq
===========================================  =============================================

Life cycle, all from one bridge::

    transport = create(url, stream="atomiton", on_error=report)   # entry point, may connect
    transport.start(deliver, patterns=["order.*"], replay_from=None)
    ... transport.publish([e1, e2]) (bridge's sender thread) ... transport.history([...]) ...
    transport.close()

Transports are found by URL scheme in the entry-point group ``atomiton.events.transports``: the
entry point named ``sqlite`` (``nats``, ``redis``) points at a :data:`TransportFactory`.

Threads: ``publish`` is only ever called from the bridge's single sender thread (so batches
arrive in emit order), or the optional ``begin_publish`` (:class:`StartsPublish`) from an
emitting thread while that sender thread is idle; ``history`` may be called from any
thread, concurrently with ``publish`` and with delivery; ``close`` from any thread, once.
A transport whose driver is asyncio-only (nats-py, redis.asyncio) runs its own event-loop
thread and blocks the caller on a ``concurrent.futures`` future: callers are plain threads
that may or may not run a loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from atomiton.events._errors import BusConfigError, TransportError

__all__ = [
    "DEFAULT_ENCODING",
    "ENTRY_POINT_GROUP",
    "Deliver",
    "Finish",
    "ReplayFrom",
    "StartsPublish",
    "Transport",
    "TransportError",
    "TransportFactory",
    "WireEvent",
]

ENTRY_POINT_GROUP = "atomiton.events.transports"
"""Entry-point group mapping a URL scheme (``sqlite``, ``nats``, ``redis``) to its factory."""

DEFAULT_ENCODING = "json"


@dataclass(frozen=True, slots=True)
class WireEvent:
    """One event as it travels between processes: what a transport stores and delivers.

    A transport must store and return every field unchanged, except ``seq``, which it sets.

    Attributes:
        id: Unique per event across all processes, forever (``f"{origin}:{n}"`` where ``n`` is
            the emitting bus's event id). Opaque to transports; the same ``id`` published twice
            (a retried batch) is one event, and receivers keep only its first copy. A
            transport with server-side dedupe may use it (NATS: the ``Nats-Msg-Id`` header).
        type: The event type, any text the local bus accepts as a concrete type: dot-separated
            non-empty segments, no ``*``, but otherwise *any* character, including spaces,
            ``>``, ``%``, non-ASCII. Encode it where the server reserves characters
            (``_subjects.py``); always hand back the original text.
        data: The encoded payload (see ``encoding``); opaque bytes to the transport.
        source: Who emitted it (``Event.source``), or None; store None distinctly from ``""``.
        timestamp: Wall-clock emit time on the emitter, seconds since the epoch.
        origin: Stable id of the emitting bridge (host, pid and a random part), e.g.
            ``"web-1/4242/9f3ac1"``. Bridges drop events whose origin is their own.
        encoding: How ``data`` is encoded: ``"json"`` (UTF-8 JSON, the default) or ``"msgpack"``.
        seq: Position in the durable stream, set by the transport on everything it returns or
            delivers (None on what the bridge publishes). Strictly increasing in stream order,
            the same number for every reader, > 0. Redis stream ids ``"<ms>-<n>"`` map to
            ``ms << 20 | n`` (n < 2**20) and back.
    """

    id: str
    type: str
    data: bytes
    source: str | None
    timestamp: float
    origin: str
    encoding: str = DEFAULT_ENCODING
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class ReplayFrom:
    """Where a subscription starts in the durable stream; exactly one field is set.

    Attributes:
        seq: Start at this stream position (inclusive): events with ``seq >= seq``.
        time: Start at the first event, in stream order, whose ``timestamp >= time``; every
            later event follows in stream order (emitter clocks differ, so a later one may carry
            an earlier timestamp). A transport may seek by its server's receive time instead
            (NATS ``opt_start_time``, Redis ids) as long as it then drops earlier events.
        last: Start at the ``last``-th newest event *matching the subscription's patterns*
            (``last=0``: nothing replayed, live only). Transports can find that seq with
            ``history(patterns, limit=last)``.

    Raises:
        BusConfigError: Not exactly one field set, or a value that is negative or not a number.
    """

    seq: int | None = None
    time: float | None = None
    last: int | None = None

    def __post_init__(self) -> None:
        chosen = [name for name in ("seq", "time", "last") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise BusConfigError(
                f"ReplayFrom takes exactly one of seq=, time=, last=; got {chosen or 'none'}"
            )
        value: float = getattr(self, chosen[0])
        kinds: tuple[type, ...] = (int, float) if chosen[0] == "time" else (int,)
        if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
            raise BusConfigError(
                f"ReplayFrom.{chosen[0]} must be a number >= 0"
                + ("" if chosen[0] == "time" else " (an int)")
                + f", got {value!r}"
            )


Deliver = Callable[[WireEvent], None]
"""The bridge's receive callback, given to :meth:`Transport.start`.

Called with one stored event (``seq`` set) at a time, never concurrently, in stream order,
from a thread the transport owns. It runs the local handlers synchronously, so it may take a
while: that is the backpressure of a slow subscriber (the transport simply reads the durable
stream more slowly; it must not buffer without bound meanwhile). An asyncio transport must not
call it on an event-loop thread that ``publish`` or ``history`` wait on (use a dedicated delivery
thread fed by a bounded queue, or, as NATS does, a consumer with a loop and connection of its own
that nothing else waits on; hide that loop from the handlers, see ``_nats_consumer``).
It never raises.
"""


class Transport(Protocol):
    """A connection to one durable stream, shared by every bridge on the same ``stream`` name.

    Guarantees a transport must give (the shared suite ``tests/test_bridge_*.py`` checks them):

    - **Durable, ordered**: ``publish`` returns only when the server (SQLite: the committed
      transaction) holds every event of the batch; all readers see stored events in one order,
      the ``seq`` order. Events of one batch are stored in batch order.
    - **At least once, in order, no gap**: from the start position, ``deliver`` receives every
      stored event matching the patterns in ``seq`` order. After a connection loss it
      reconnects by itself (reporting through ``on_error``) and resumes *after the last seq it
      delivered*, so events stored meanwhile are delivered and none is skipped. Redelivering a
      seq already delivered is allowed (the bridge dedupes by id) but should be rare.
    - **Never blocks forever**: every network call has a timeout; a call that cannot complete
      raises :class:`TransportError` (``publish``/``history``) or is retried in the
      background (delivery) with backoff capped at about a second.
    """

    def publish(self, events: Sequence[WireEvent]) -> None:
        """Append ``events`` to the stream, in order, and return once all are acknowledged.

        Called only from the bridge's sender thread, with a non-empty batch (up to a few
        hundred events). ``seq`` of the arguments is None. May block for the network round trip.

        Raises:
            TransportError: Not connected, a timeout, or the server refused; part of the batch
                may have been stored. The bridge retries the whole batch later (hence ids).
        """
        ...

    def start(
        self,
        deliver: Deliver,
        *,
        patterns: Sequence[str],
        replay_from: ReplayFrom | None,
    ) -> None:
        """Begin delivering stored events to ``deliver``; called at most once.

        A bridge that subscribes to nothing never calls ``start``: ``publish`` and ``history``
        must work whether or not ``start`` was called (and may be called before it returns).

        Args:
            deliver: The bridge's callback (see :data:`Deliver`).
            patterns: Subscription patterns (``matches()`` syntax: ``*`` one segment, ``**``
                any number, even none). A transport may pre-filter on the server with a
                superset (``_subjects.subject_filters``), or not filter at all; it must never
                drop an event that matches. Never empty (the bridge does not start then).
            replay_from: None: deliver only events stored after ``start`` returns. Otherwise
                deliver from that position (see :class:`ReplayFrom`) and continue live.

        When ``start`` returns, the subscription is in place: an event stored later (by any
        process) will be delivered, with no gap between the replayed part and the live part.

        Raises:
            TransportError: Cannot connect or subscribe now (the bridge's ``connect_bus``
                raises it to the caller; no background retry for a failed start).
        """
        ...

    def history(
        self,
        patterns: Sequence[str],
        *,
        since_seq: int | None = None,
        since_time: float | None = None,
        limit: int | None = None,
    ) -> list[WireEvent]:
        """Stored events matching any of ``patterns``, oldest first, ``seq`` set.

        Args:
            patterns: As in ``start``; here the result must match *exactly* (use
                ``matches()`` after any server-side pre-filter).
            since_seq: Only events with ``seq >= since_seq``.
            since_time: Only events from the first one whose ``timestamp >= since_time`` on,
                as in :class:`ReplayFrom` (at most one of ``since_seq``/``since_time``).
            limit: Keep only the newest ``limit`` matching events (still returned oldest first).

        May return two copies of an id (a retried batch); the bridge keeps the first.

        Raises:
            TransportError: The stream cannot be read now.
        """
        ...

    def close(self) -> None:
        """Stop delivering, release connections and threads; idempotent; never raises.

        After ``close`` returns, ``deliver`` is not called again and the transport's threads
        have ended (or are daemons that end without calling anything). Publishing after close
        raises TransportError.
        """
        ...


Finish = Callable[[], None]
"""Returned by :meth:`StartsPublish.begin_publish`: waits for the acknowledgement of what it
started (blocking, bounded by the transport's timeout), raising :class:`TransportError` like
:meth:`Transport.publish` when it failed. Called once, from the bridge's sender thread."""


class StartsPublish(Protocol):
    """An optional transport method: start a publish without waiting (the outbox's fast path).

    When the outbox is idle (nothing queued, nothing in flight, no failing publish), ``put``
    calls ``begin_publish`` on the *emitting* thread, so a single event reaches the driver
    without first waking the sender thread; the sender thread then calls the returned
    :data:`Finish` to wait for the ack. Nothing else of the transport's publishing runs
    meanwhile (the outbox holds its lock and is idle), and the next ``publish`` or
    ``begin_publish`` comes only after ``Finish`` returned or raised.
    """

    def begin_publish(self, events: Sequence[WireEvent], done: Callable[[], None]) -> Finish | None:
        """Hand ``events`` to the driver now, never waiting for the network.

        Must return quickly on the emitting thread: schedule the work on the driver's own
        loop, or write into a connected socket's send buffer; never connect or read.

        Args:
            events: As in ``publish``.
            done: Call it once, from any thread (also from within ``begin_publish``), when
                ``Finish`` may be called: the ack arrived or the publish failed (or at once,
                if ``Finish`` itself waits for the reply). The sender thread sleeps until then,
                so it does not compete with the driver while the event is on its way.

        Returns:
            The :data:`Finish` that waits for the acknowledgement, or None when it cannot
            start now (not connected, closed): the sender thread then calls ``publish``.
        """
        ...


class TransportFactory(Protocol):
    """What an ``atomiton.events.transports`` entry point loads: builds a Transport for a URL.

    ``create(url, stream=..., on_error=...)``:

    Args:
        url: The full URL as the user gave it (``"nats://127.0.0.1:4222"``,
            ``"redis://127.0.0.1:6379/0?stream=atomiton"``, ``"sqlite:///var/app/events.db"``).
            Ignore a ``stream`` query parameter: the bridge resolves it into ``stream``.
        stream: The durable stream's name: letters, digits, ``_`` and ``-`` only (the bridge
            checks). Processes on the same stream hear each other; different streams are
            fully separate (NATS: a JetStream stream; Redis: a stream key; SQLite: a column).
        on_error: Report a background problem (lost connection, a failed reconnect attempt,
            a record that cannot be read) as an exception, once per occurrence, never raising
            it; a TransportError whose message names the server (without credentials) and what
            happens next (``"... retrying in 0.5 s"``). Called from any thread.

    Returns:
        A transport, not yet started. It may connect eagerly (and raise TransportError) or lazily.

    Raises:
        BusConfigError: The URL is malformed or has an unknown option; say which.
        TransportError: Connecting eagerly failed.
    """

    def __call__(
        self, url: str, *, stream: str, on_error: Callable[[Exception], None]
    ) -> Transport: ...
