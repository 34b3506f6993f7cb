"""EventBus: subscribe by dot pattern, emit, with isolation, history, replay, streams and logs.

How emit stays fast: the handler calls for each concrete event type are resolved once (pattern
matching, priority sort) and cached in a dict. Subscribing or unsubscribing never edits that dict:
it installs a new subscription tuple and then a *new, empty* cache, so an emit that raced with it
at worst fills the discarded dict. Emit itself takes no lock.

Re-entrancy: an emit from inside a handler is delivered depth-first, like a function call: its
handlers run to completion before the outer emit moves on to its next handler.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from atomiton.events._dispatch import (
    ErrorHandler,
    Handler,
    OnceCall,
    ReplayGate,
    astart,
    make_call,
    replay_key,
    report_error,
)
from atomiton.events._domain import EventDomain
from atomiton.events._errors import BusConfigError, SubscriptionError
from atomiton.events._event import Event, _MutableEvent, make_event
from atomiton.events._history import evict_older_than, select
from atomiton.events._patterns import check_event_type, compile_pattern
from atomiton.events._settings import check_bus_settings
from atomiton.events._stream import EventStream, Overflow
from atomiton.events._subscriptions import Subscription, calls_for

if TYPE_CHECKING:
    from atomiton.events._log import EventLog

Unsubscribe = Callable[[], bool]
"""Removes the subscription it came from; returns whether it was still subscribed."""

Replayer = Callable[[str], tuple[list[Event], int | None]]
"""A bridge's replay for ``on(replay=True)``: (events to replay, durable seq they reach)."""

_new = object.__new__

# Many distinct event types would otherwise grow the resolved-handler cache without bound.
_CACHE_LIMIT = 4096


class EventBus:
    """A thread-safe publish/subscribe bus keyed by dot-separated event types.

    Args:
        history: How many recent events to keep for ``history()`` and ``replay=True``
            (0 keeps none; None means no count limit, which needs ``history_age``).
        on_error: Called as ``on_error(error, event)`` for every exception a handler raises.
            Default: logged on the ``atomiton.events`` logger with the handler's name.
        history_age: Also drop events older than this many seconds (None: no age limit).
        log: An EventLog that receives every event; data that JSON cannot encode is then
            rejected by ``emit`` with EventEncodingError.
        clock: Wall-clock source for timestamps (injectable for tests).

    Raises:
        BusConfigError: A history that is not an int >= 0 (or None), an age that is not a
            positive number, no bound at all (``history_limit=None`` without an age), or an
            ``on_error``, ``log`` or ``clock`` of the wrong kind; the message names it.
    """

    __slots__ = (
        "__weakref__",
        "_cache",
        "_clock",
        "_history",
        "_history_age",
        "_history_size",
        "_ids",
        "_lock",
        "_log",
        "_on_error",
        "_outbound",
        "_plain_history",
        "_recording",
        "_replayer",
        "_seq",
        "_subscriptions",
    )

    def __init__(
        self,
        *,
        history_limit: int | None = 1000,
        on_error: ErrorHandler | None = None,
        history_age: float | None = None,
        log: EventLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_bus_settings(history_limit, on_error, history_age, log, clock)
        self._history_size = history_limit
        self._history_age = history_age
        self._history: deque[Event] | None = None  # created on first record: idle buses stay tiny
        self._plain_history: deque[Event] | None = None  # the same deque, when nothing else to do
        self._log = log
        self._recording = history_limit != 0 or log is not None
        self._on_error = on_error
        self._clock = clock
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._subscriptions: tuple[Subscription, ...] = ()
        self._cache: dict[str, tuple[Handler, ...]] = {}
        self._replayer: Replayer | None = None
        self._outbound: Callable[[], int] | None = None

    # -- emitting ---------------------------------------------------------------------------

    def emit(self, event_type: str, data: Any = None, *, source: str | None = None) -> Event:
        """Deliver an event to every matching handler, in priority then registration order.

        A handler that raises does not stop the others and its error never leaves ``emit``:
        it goes to ``on_error``. Async handlers are scheduled on their loop, not awaited.

        Args:
            event_type: A concrete dot-separated type such as ``"job.done"`` (no wildcards).
            data: Any payload; on a logged bus it must be JSON-encodable.
            source: Who emits it, e.g. ``"execution"``.

        Returns:
            The Event as delivered and recorded.

        Raises:
            PatternError: ``event_type`` is empty, has an empty segment or a wildcard.
            EventEncodingError: The bus has a log and ``data`` cannot be encoded as JSON.
        """
        cache = self._cache
        calls = cache.get(event_type)
        if calls is None:
            calls = self._resolve(event_type, cache)
        # This is _prepare() inlined (with make_event() inlined too): on a 1 µs budget the two
        # calls alone cost a fifth. aemit uses _prepare; keep the two in step.
        event: Any = _new(_MutableEvent)
        event.id = next(self._ids)
        event.type = event_type
        event.data = data
        event.source = source
        event.timestamp = self._clock()
        event.origin = None
        event.seq = None
        event.__class__ = Event
        if self._recording:
            plain_history = self._plain_history
            if plain_history is not None:
                plain_history.append(event)
            else:
                self._record(event)
            # A subscriber that registered meanwhile (e.g. replay=True) must not miss this event.
            if self._cache is not cache:
                calls = self._resolve(event_type, self._cache)
        for call in calls:
            try:
                call(event)
            except Exception as error:
                self._report(error, event, call)
        built: Event = event  # built as Any above (a _MutableEvent turned Event)
        return built

    async def aemit(self, event_type: str, data: Any = None, *, source: str | None = None) -> Event:
        """Like ``emit``, but wait until every async handler has finished with the event.

        Sync handlers run first-to-last as in ``emit``; async handlers run concurrently (each on
        its own loop: a handler bound to another loop is run there and awaited from here).
        Errors are isolated and reported exactly as in ``emit``.
        """
        event, calls = self._prepare(event_type, data, source)
        started: list[Handler] = []
        pending: list[Awaitable[Any]] = []
        for call in calls:
            try:
                awaitable = astart(call, event)
            except Exception as error:
                self._report(error, event, call)
            else:
                if awaitable is not None:
                    started.append(call)
                    pending.append(awaitable)
        if pending:
            import asyncio  # loaded on first need; a sync-only bus never imports it

            results = await asyncio.gather(*pending, return_exceptions=True)
            for call, result in zip(started, results, strict=True):
                if isinstance(result, Exception):
                    self._report(result, event, call)
        return event

    def _prepare(
        self, event_type: str, data: Any, source: str | None
    ) -> tuple[Event, tuple[Handler, ...]]:
        """Build and record the event, and find its calls: what ``emit`` does inline for speed."""
        cache = self._cache
        calls = cache.get(event_type)
        if calls is None:
            calls = self._resolve(event_type, cache)
        event = make_event(next(self._ids), event_type, data, source, self._clock())
        if self._recording:
            self._record(event)
            if self._cache is not cache:  # see emit: a subscriber registered meanwhile
                calls = self._resolve(event_type, self._cache)
        return event, calls

    def _receive(
        self,
        event_type: str,
        data: Any,
        source: str | None,
        timestamp: float,
        origin: str,
        seq: int,
    ) -> Event:
        """Record and deliver an event that another process emitted (called by a bridge).

        Like ``emit``, with the emitter's timestamp, origin and stream position kept; the bus
        gives it a fresh local id.

        Raises:
            PatternError: ``event_type`` is not a valid concrete type.
        """
        cache = self._cache
        calls = cache.get(event_type)
        if calls is None:
            calls = self._resolve(event_type, cache)
        event = make_event(next(self._ids), event_type, data, source, timestamp, origin, seq)
        if self._recording:
            self._record(event)
            if self._cache is not cache:  # see emit: a subscriber registered meanwhile
                calls = self._resolve(event_type, self._cache)
        for call in calls:
            try:
                call(event)
            except Exception as error:
                self._report(error, event, call)
        return event

    def _attach_replayer(
        self, replayer: Replayer, outbound: Callable[[], int] | None = None
    ) -> None:
        """Let a bridge answer ``on(replay=True)`` from its durable stream (one per bus).

        ``outbound`` counts the local events the bridge has not had acknowledged yet (what
        ``outbound_pending`` reports).

        Raises:
            BusConfigError: Another bridge is attached already.
        """
        with self._lock:
            if self._replayer is not None:
                raise BusConfigError(
                    "this bus is already bridged; close that bridge first (one bridge per bus)"
                )
            self._replayer = replayer
            self._outbound = outbound

    def _history_bounds(self) -> tuple[int | None, float | None]:
        """(count, age) this bus keeps in history: how far a bridged replay reaches back."""
        return self._history_size, self._history_age

    def _detach_replayer(self, replayer: Replayer) -> None:
        with self._lock:
            if self._replayer == replayer:
                self._replayer = None
                self._outbound = None

    def _resolve(
        self, event_type: str, cache: dict[str, tuple[Handler, ...]]
    ) -> tuple[Handler, ...]:
        calls = calls_for(self._subscriptions, check_event_type(event_type))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[event_type] = calls
        return calls

    def _record(self, event: Event) -> None:
        # Encode first so that a refused event is neither delivered nor kept.
        record = None if self._log is None else self._log.encode(event)
        self._remember(event)
        if record is not None and self._log is not None:
            self._log.write_record(record)

    def _remember(self, event: Event) -> None:
        if self._history_size == 0:
            return
        history = self._history
        if history is None:
            with self._lock:
                if self._history is None:
                    self._history = deque(maxlen=self._history_size)
                    if self._log is None and self._history_age is None:
                        # From now on emit appends directly: no log to write, no age to evict.
                        self._plain_history = self._history
                history = self._history
        if self._history_age is None:
            history.append(event)
            return
        # Check-then-pop must be atomic: two threads that both saw an old head would otherwise
        # pop it and then a fresh event (and a full deque drops its head on append too).
        with self._lock:
            history.append(event)
            evict_older_than(history, event.timestamp - self._history_age)

    def _report(self, error: BaseException, event: Event, call: object) -> None:
        report_error(self._on_error, error, event, call)

    def _deliver(self, call: Handler, event: Event) -> None:
        try:
            call(event)
        except Exception as error:
            self._report(error, event, call)

    # -- subscribing ------------------------------------------------------------------------

    def on(
        self, pattern: str, handler: Handler, *, priority: int = 0, replay: bool = False
    ) -> Unsubscribe:
        """Subscribe ``handler`` to every event whose type matches ``pattern``.

        Args:
            pattern: An exact type, or dot segments with ``*`` (one segment) and ``**`` (any
                number of segments, even none): ``"job.*"``, ``"job.**"``, ``"**"``.
            handler: ``handler(event)``; may be ``async def`` (see the README on loops).
            priority: Higher runs earlier; equal priorities run in registration order.
            replay: First deliver the matching events in history (oldest first), then live
                events, with no gap and no duplicate even while other threads emit.

        Returns:
            A callable that removes exactly this subscription.

        Raises:
            PatternError: The pattern is malformed.
            SubscriptionError: ``handler`` is not callable.
        """
        call = make_call(handler, self._report)
        if not replay:
            return self._subscribe(pattern, handler, call, priority)
        gate = ReplayGate(call)
        unsubscribe = self._subscribe(pattern, handler, gate, priority)
        # Registered first, history read second: any event emitted from now on reaches the gate.
        replayer = self._replayer
        if replayer is None:
            replayed = self.history(pattern)
            gate.replayed = frozenset(event.id for event in replayed)
        else:  # bridged: the durable stream, merged with this process's unsent events
            replayed, gate.through_seq = replayer(pattern)
            gate.replayed = frozenset(replay_key(event) for event in replayed)
        for event in replayed:
            self._deliver(call, event)
        gate.open(self._deliver)
        return unsubscribe

    def once(self, pattern: str, handler: Handler, *, priority: int = 0) -> Unsubscribe:
        """Subscribe ``handler`` for the first matching event only (exactly once across threads).

        Returns:
            A callable that removes the subscription if it has not fired yet.
        """
        once = OnceCall(make_call(handler, self._report))
        # The remover is handed over before the subscription is live, so an emit on another
        # thread can never fire it without being able to remove it.
        subscription, once.unsubscribe = self._prepare_subscription(
            pattern, handler, once, priority
        )
        self._add(subscription)
        return once.unsubscribe

    def off(self, pattern: str, handler: Handler) -> bool:
        """Remove every subscription of ``handler`` (compared with ``==``) to ``pattern``.

        Returns:
            Whether anything was removed.
        """
        compile_pattern(pattern)
        with self._lock:
            kept = tuple(
                sub
                for sub in self._subscriptions
                if not (sub.pattern == pattern and sub.handler == handler)
            )
            if len(kept) == len(self._subscriptions):
                return False
            self._install(kept)
        return True

    def _subscribe(
        self, pattern: str, handler: Handler, call: Handler, priority: int
    ) -> Unsubscribe:
        subscription, unsubscribe = self._prepare_subscription(pattern, handler, call, priority)
        self._add(subscription)
        return unsubscribe

    def _prepare_subscription(
        self, pattern: str, handler: Handler, call: Handler, priority: int
    ) -> tuple[Subscription, Unsubscribe]:
        if not isinstance(priority, int):
            raise SubscriptionError(f"priority must be an int, got {type(priority).__name__}")
        subscription = Subscription(pattern, handler, call, priority, next(self._seq))

        def unsubscribe() -> bool:
            with self._lock:
                if subscription not in self._subscriptions:
                    return False
                self._install(tuple(s for s in self._subscriptions if s is not subscription))
            return True

        return subscription, unsubscribe

    def _add(self, subscription: Subscription) -> None:
        with self._lock:
            self._install((*self._subscriptions, subscription))

    def _install(self, subscriptions: tuple[Subscription, ...]) -> None:
        # Order matters for lock-free emit: subscriptions first, then a fresh cache.
        self._subscriptions = subscriptions
        self._cache = {}

    # -- inspecting -------------------------------------------------------------------------

    @property
    def outbound_pending(self) -> int:
        """Events emitted here that are on their way to other processes, not yet acknowledged.

        Queued in the bridge's outbox or published and awaiting the transport's
        acknowledgement; always 0 on a bus without a bridge. Senders that can batch (the
        entity client's sync) publish at once when it is 0 and wait to join the next event
        while it is not (see Nagle's algorithm).
        """
        outbound = self._outbound
        return 0 if outbound is None else outbound()

    def listener_count(self, event_type: str | None = None) -> int:
        """How many subscriptions an event of ``event_type`` would reach (all if None)."""
        if event_type is None:
            return len(self._subscriptions)
        cache = self._cache
        calls = cache.get(event_type)
        if calls is None:
            calls = self._resolve(event_type, cache)
        return len(calls)

    def history(self, pattern: str = "**") -> list[Event]:
        """The recorded events whose type matches ``pattern``, oldest first, newest last."""
        compile_pattern(pattern)
        history = self._history
        if history is None:
            return []
        cutoff = None if self._history_age is None else self._clock() - self._history_age
        return select(history, pattern, cutoff)

    def clear_history(self) -> None:
        """Forget every recorded event (subscriptions stay)."""
        history = self._history
        if history is not None:
            history.clear()

    # -- views ------------------------------------------------------------------------------

    def stream(
        self, pattern: str = "**", *, maxsize: int = 1000, overflow: Overflow = "drop_oldest"
    ) -> EventStream:
        """An async iterator over matching events from now on, through a bounded buffer.

        Args:
            pattern: Which events to receive.
            maxsize: How many undelivered events the buffer holds.
            overflow: When the buffer is full: ``"drop_oldest"`` (default) discards the oldest
                buffered event, ``"drop_newest"`` discards the arriving one, ``"raise"`` makes
                the iterator raise StreamOverflowError. ``stream.dropped`` counts drops.
        """
        return EventStream(self, pattern, maxsize=maxsize, overflow=overflow)

    def domain(self, name: str) -> EventDomain:
        """A view that prefixes every type and pattern with ``name + "."``."""
        return EventDomain(self, name)

    def close(self) -> None:
        """Remove every subscription and close the log, if any (the bus stays usable)."""
        with self._lock:
            self._install(())
        if self._log is not None:
            self._log.close()

    def __repr__(self) -> str:
        subscriptions, limit = len(self._subscriptions), self._history_size
        return f"<EventBus subscriptions={subscriptions} history_limit={limit}>"
