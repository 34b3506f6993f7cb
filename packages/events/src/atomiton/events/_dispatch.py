"""What a subscription calls per event: plain handlers, async handlers, once, and the replay gate.

The bus keeps, per event type, a tuple of *calls*. A sync handler is its own call (nothing in the
way on the hot path); the wrappers below add async scheduling, run-once and replay ordering.
A wrapper that needs to be awaited by ``aemit`` offers ``astart(event)``.
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from atomiton.events._errors import NoEventLoopError, SubscriptionError
from atomiton.events._event import Event

if TYPE_CHECKING:
    import asyncio

# asyncio, inspect and logging are imported on first need, not with the package: together they
# are most of a cold ``import atomiton.events`` and a sync-only bus never needs them.
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE

Handler = Callable[[Event], Any]
"""A subscriber: called with the Event; ``async def`` handlers are awaited on a loop."""

ErrorReporter = Callable[[BaseException, Event, object], None]

ErrorHandler = Callable[[Exception, Event], Any]
"""``on_error(error, event)``: receives every exception a handler raised."""


def make_call(handler: Handler, report: ErrorReporter) -> Handler:
    """What a subscription calls: the handler itself, or an AsyncCall for ``async def`` ones.

    Raises:
        SubscriptionError: ``handler`` is not callable.
    """
    if not callable(handler):
        raise SubscriptionError(
            f"handler must be callable, got {type(handler).__name__}: {handler!r}"
        )
    if is_async_handler(handler):
        return AsyncCall(handler, running_loop(), report)
    return handler


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any (no loop can run before asyncio loads)."""
    module = sys.modules.get("asyncio")
    if module is None:
        return None
    loop: asyncio.AbstractEventLoop | None = module._get_running_loop()
    return loop


def is_async_handler(handler: object) -> bool:
    """Whether calling ``handler`` returns a coroutine (``async def``, partial, async __call__)."""
    while isinstance(handler, functools.partial):
        handler = handler.func
    function = getattr(handler, "__func__", handler)  # a bound method's function
    code = getattr(function, "__code__", None)
    if code is None:
        call = getattr(type(handler), "__call__", None)  # noqa: B004 - we want the method itself
        code = getattr(call, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)
    import inspect  # builtins, mocks and other exotic callables: let inspect decide

    return inspect.iscoroutinefunction(handler)


def report_error(
    on_error: ErrorHandler | None, error: BaseException, event: Event, call: object
) -> None:
    """Hand a handler's error to ``on_error``, or log it naming the handler; never raise."""
    import logging

    logger = logging.getLogger("atomiton.events")
    if on_error is not None and isinstance(error, Exception):
        try:
            on_error(error, event)
        except Exception:
            logger.exception("on_error raised while handling an error of %s", event.type)
        else:
            return
    logger.error(
        "event handler %s failed on %r (event #%d)",
        handler_name(call),
        event.type,
        event.id,
        exc_info=(type(error), error, error.__traceback__),
    )


def handler_name(call: object) -> str:
    """A readable name for a handler, seeing through this module's wrappers."""
    while isinstance(call, (AsyncCall, OnceCall, ReplayGate)):
        call = call.inner if isinstance(call, (OnceCall, ReplayGate)) else call.handler
    module = getattr(call, "__module__", None)
    name = getattr(call, "__qualname__", None)
    if name is None:
        return repr(call)
    return f"{module}.{name}" if module else str(name)


class AsyncCall:
    """Runs an ``async def`` handler on its loop.

    The loop is the one running when the handler subscribed (a *loop-bound* handler), else the
    loop running in the emitting thread. From the loop's own thread the handler is started as a
    task; from any other thread it is handed over with ``call_soon_threadsafe``.
    """

    __slots__ = ("handler", "loop", "report", "tasks")

    def __init__(
        self,
        handler: Callable[[Event], Coroutine[Any, Any, Any]],
        loop: asyncio.AbstractEventLoop | None,
        report: ErrorReporter,
    ) -> None:
        self.handler = handler
        self.loop = loop
        self.report = report
        # Strong references: the loop only keeps weak ones, and a task must not vanish mid-run.
        self.tasks: set[asyncio.Task[None]] = set()

    def __call__(self, event: Event) -> None:
        running = running_loop()
        loop = self.loop or running
        if loop is None:
            raise NoEventLoopError(
                f"async handler {handler_name(self.handler)} subscribed outside any event loop "
                f"and {event.type!r} was emitted outside one too; subscribe it from inside the "
                "loop that should run it, or use 'await bus.aemit(...)'"
            )
        if loop is running:
            self._start(event)
        elif loop.is_closed():
            raise self._closed(event)
        else:
            loop.call_soon_threadsafe(self._start, event)

    def _closed(self, event: Event) -> NoEventLoopError:
        return NoEventLoopError(
            f"async handler {handler_name(self.handler)} is bound to an event loop that "
            f"has closed, so {event.type!r} cannot reach it; unsubscribe handlers when "
            "their loop ends"
        )

    def _start(self, event: Event) -> None:
        import asyncio

        task = asyncio.get_running_loop().create_task(self.run(event))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, event: Event) -> None:
        """Await the handler once, reporting (never raising) its error."""
        try:
            await self.handler(event)
        except Exception as error:
            self.report(error, event, self.handler)

    def astart(self, event: Event) -> Awaitable[None]:
        """Return an awaitable for one delivery, crossing to the bound loop if it is another."""
        if self.loop is None or self.loop is running_loop():
            return self.run(event)
        if self.loop.is_closed():  # checked before a coroutine exists that nobody would await
            raise self._closed(event)
        import asyncio

        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.run(event), self.loop))


class OnceCall:
    """Delivers at most one event, even when several threads emit at once, then unsubscribes."""

    __slots__ = ("_claims", "inner", "unsubscribe")

    def __init__(self, inner: Callable[[Event], Any]) -> None:
        self.inner = inner
        self.unsubscribe: Callable[[], bool] = _nothing
        # next() on itertools.count is atomic: exactly one caller ever sees 0.
        self._claims = itertools.count()

    def _claim(self) -> bool:
        if next(self._claims):
            return False
        self.unsubscribe()
        return True

    def __call__(self, event: Event) -> None:
        if self._claim():
            self.inner(event)

    def astart(self, event: Event) -> Awaitable[Any] | None:
        """Claim the single delivery and hand it to the inner call's async path."""
        if not self._claim():
            return None
        return _start(self.inner, event)


def replay_key(event: Event) -> object:
    """What identifies an event across history, a bridge's durable stream and live delivery.

    A local event is known by its bus id; one from another process by (origin, seq), since it
    gets a fresh bus id each time it is read from the durable stream.
    """
    origin = event.origin
    return event.id if origin is None else (origin, event.seq)


class ReplayGate:
    """Orders a ``replay=True`` subscription: history first, then live, no gap, no duplicate.

    The gate is registered *before* history is read, so every event emitted afterwards reaches
    it. Until the replay is over, live events are parked; then the parked ones are delivered in
    arrival order and the gate lets events straight through. Events that were replayed are
    recognised by :func:`replay_key` and never delivered a second time. On a bridged bus the
    replay comes from the durable stream up to ``through_seq``: an event from another process
    at or before that position was replayed already (or is older than the replay), so it is
    dropped even after the gate opened (the bridge may still be delivering it).
    """

    __slots__ = ("_lock", "_parked", "inner", "is_open", "replayed", "through_seq")

    def __init__(self, inner: Callable[[Event], Any]) -> None:
        self.inner = inner
        self.is_open = False
        self.replayed: frozenset[object] = frozenset()
        self.through_seq: int | None = None
        self._parked: list[Event] = []
        self._lock = threading.Lock()

    def _admit(self, event: Event) -> bool:
        if event.origin is None:
            if event.id in self.replayed:
                return False
        elif self._was_replayed(event):
            return False
        if self.is_open:
            return True
        with self._lock:  # re-checked under the lock: open() may have just finished
            is_open: bool = self.is_open
            if not is_open:
                self._parked.append(event)
        return is_open

    def _was_replayed(self, event: Event) -> bool:
        through = self.through_seq
        seq = event.seq
        if through is not None and seq is not None and seq <= through:
            return True
        return replay_key(event) in self.replayed

    def __call__(self, event: Event) -> None:
        if self._admit(event):
            self.inner(event)

    def astart(self, event: Event) -> Awaitable[Any] | None:
        """Admit or park the event, then hand it to the inner call's async path."""
        if not self._admit(event):
            return None
        return _start(self.inner, event)

    def open(self, deliver: Callable[[Callable[[Event], Any], Event], None]) -> None:
        """Deliver the parked events (skipping replayed ones), then let live events through."""
        while True:
            with self._lock:
                parked, self._parked = self._parked, []
                if not parked:
                    self.is_open = True
                    return
            for event in parked:
                if event.origin is None:
                    if event.id in self.replayed:
                        continue
                elif self._was_replayed(event):
                    continue
                deliver(self.inner, event)


def _start(call: Callable[[Event], Any], event: Event) -> Awaitable[Any] | None:
    starter = getattr(call, "astart", None)
    if starter is not None:
        result: Awaitable[Any] | None = starter(event)
        return result
    call(event)
    return None


def astart(call: Callable[[Event], Any], event: Event) -> Awaitable[Any] | None:
    """Deliver ``event`` to ``call``: run a sync handler now, or return an async one's awaitable."""
    return _start(call, event)


def _nothing() -> bool:
    return False
