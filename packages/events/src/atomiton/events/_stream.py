"""EventStream: ``async for event in bus.stream("job.**")`` over a bounded, thread-safe buffer."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import deque
from typing import TYPE_CHECKING, Literal

from atomiton.events._dispatch import running_loop
from atomiton.events._errors import BusConfigError, StreamOverflowError
from atomiton.events._event import Event

if TYPE_CHECKING:
    import asyncio

    from atomiton.events._bus import EventBus, Unsubscribe

Overflow = Literal["drop_oldest", "drop_newest", "raise"]
_OVERFLOWS = ("drop_oldest", "drop_newest", "raise")


class EventStream:
    """Matching events, buffered from the moment the stream is created, read with ``async for``.

    Emitters never block on a slow reader: the buffer holds at most ``maxsize`` events and the
    ``overflow`` policy decides what happens beyond that (``dropped`` counts the losses). Events
    may be emitted from any thread; the reader is woken on its own loop. Use ``async with`` or
    ``aclose()`` to unsubscribe promptly; a stream that is simply dropped unsubscribes itself at
    the next matching event.
    """

    def __init__(
        self,
        bus: EventBus,
        pattern: str,
        *,
        maxsize: int = 1000,
        overflow: Overflow = "drop_oldest",
    ) -> None:
        if not isinstance(maxsize, int) or maxsize < 1:
            raise BusConfigError(f"stream maxsize must be an int >= 1, got {maxsize!r}")
        if overflow not in _OVERFLOWS:
            raise BusConfigError(f"stream overflow must be one of {_OVERFLOWS}, got {overflow!r}")
        self.pattern = pattern
        self.maxsize = maxsize
        self.overflow: Overflow = overflow
        self.dropped = 0
        self._buffer: deque[Event] = deque()
        self._lock = threading.Lock()
        self._waiter: asyncio.Future[None] | None = None
        self._has_overflowed = False
        self._is_closed = False
        self._unsubscribe: Unsubscribe = _Feed(weakref.ref(self)).subscribe(bus, pattern)

    def _push(self, event: Event) -> None:
        with self._lock:
            if self._is_closed:
                return
            if len(self._buffer) >= self.maxsize:
                self.dropped += 1
                if self.overflow == "drop_oldest":
                    self._buffer.popleft()
                    self._buffer.append(event)
                elif self.overflow == "raise":
                    self._has_overflowed = True
            else:
                self._buffer.append(event)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            _wake(waiter)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        while True:
            with self._lock:
                if self._has_overflowed:
                    self._has_overflowed = False
                    raise StreamOverflowError(
                        f"stream {self.pattern!r} fell more than {self.maxsize} events behind "
                        f"({self.dropped} dropped so far); read faster or raise maxsize"
                    )
                if self._buffer:
                    return self._buffer.popleft()
                if self._is_closed:
                    raise StopAsyncIteration
                import asyncio  # a stream is read inside a loop, so asyncio is loaded already

                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiter = waiter
            await waiter

    def close(self) -> None:
        """Unsubscribe, discard what is buffered and end any ``async for`` over this stream."""
        with self._lock:
            self._is_closed = True
            self._buffer.clear()
            waiter, self._waiter = self._waiter, None
        self._unsubscribe()
        if waiter is not None:
            _wake(waiter)

    async def aclose(self) -> None:
        """Async spelling of ``close()``."""
        self.close()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


class _Feed:
    """The stream's subscription: holds the stream weakly so a dropped stream can be collected."""

    __slots__ = ("stream", "unsubscribe")

    def __init__(self, stream: weakref.ref[EventStream]) -> None:
        self.stream = stream

    def subscribe(self, bus: EventBus, pattern: str) -> Unsubscribe:
        self.unsubscribe = bus.on(pattern, self)
        return self.unsubscribe

    def __call__(self, event: Event) -> None:
        stream = self.stream()
        if stream is None:
            self.unsubscribe()
        else:
            stream._push(event)


def _wake(waiter: asyncio.Future[None]) -> None:
    loop = waiter.get_loop()
    if running_loop() is loop:
        _set_done(waiter)
        return
    # A closed loop raises RuntimeError: its reader is gone, nobody is left to wake.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_set_done, waiter)


def _set_done(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
