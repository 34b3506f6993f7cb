"""Waking one consumer coroutine on its event loop from any thread, once per burst.

``store.watch`` and the entity store's ``watch_many`` both hand the latest value to an
``async for`` consumer: producers (store listeners) run on whichever thread wrote and only
record the value and call ``wake()``; the consumer awaits ``wait()`` and then takes the
latest value. On the consumer's own thread the wake is immediate; from another thread it goes
through ``loop.call_soon_threadsafe`` at most once until the consumer's loop has run it, so a
burst of writes costs one wake-up. asyncio is imported only when a consumer binds.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

__all__ = ["Wakeup"]


class Wakeup:
    """The wake-up side of one async consumer (see the module docstring)."""

    __slots__ = ("_loop", "_scheduled", "_thread", "_waiter")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._waiter: asyncio.Future[None] | None = None
        self._scheduled = False

    @property
    def bound(self) -> bool:
        """Whether a consumer's loop is bound (its first ``__anext__`` ran)."""
        return self._loop is not None

    def bind(self) -> None:
        """Bind to the running loop and its thread; call from the consumer's coroutine."""
        import asyncio  # already loaded: we run on an asyncio loop

        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    async def wait(self) -> None:
        """Wait for the next ``wake()`` (one made before this call is not remembered)."""
        assert self._loop is not None, "bind() first"
        waiter = self._loop.create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        """Wake the waiting consumer, if any; from any thread, never raises."""
        if threading.get_ident() == self._thread:
            self._set()
        elif not self._scheduled:
            loop = self._loop
            if loop is None:
                return
            self._scheduled = True
            # A closed loop has no consumer left to wake; the producer must not fail for it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._set)

    def _set(self) -> None:
        # Reset before looking: a value recorded after this line schedules another wake-up.
        self._scheduled = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
