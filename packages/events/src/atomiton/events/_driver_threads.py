"""Threads for an asyncio-only driver (nats-py) used from plain threads: its loop, its deliveries.

The bridge calls a transport from ordinary threads and its ``deliver`` callback may run slow user
handlers. So a transport over an asyncio driver owns two threads:

- :class:`LoopThread` runs the driver's event loop; callers block on a ``concurrent.futures``
  future with a timeout (:meth:`LoopThread.run`), never on the loop itself.
- :class:`DeliveryThread` calls ``deliver`` outside the loop, fed through a bounded queue: when
  the queue is full, :meth:`DeliveryThread.put` waits (on the loop, without blocking it), so the
  driver stops reading and a slow subscriber slows the *consumer* down instead of filling memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Item = TypeVar("Item")

__all__ = ["DeliveryThread", "LoopThread"]


class LoopThread:
    """An event loop running forever in a daemon thread of its own, until :meth:`stop`."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            # Tasks the driver left behind (heartbeat checks...) end here, not as "destroyed".
            tasks = asyncio.all_tasks(self.loop)
            for task in tasks:
                task.cancel()
            if tasks:
                self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        finally:
            self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coroutine`` on the loop and wait for its result from the calling thread.

        Raises:
            TimeoutError: It took longer than ``timeout`` seconds (it is then cancelled).
            Exception: Whatever the coroutine raised.
        """
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def in_loop(self) -> bool:
        """Whether the calling thread is this loop's thread."""
        return threading.current_thread() is self._thread

    def stop(self, timeout: float) -> None:
        """Stop the loop (pending tasks are dropped) and wait up to ``timeout`` for the thread."""
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # closed meanwhile: nothing left to stop
            return
        if not self.in_loop():
            self._thread.join(timeout)


class DeliveryThread(Generic[Item]):
    """Calls ``deliver(item)`` for each item, in order, on a thread of its own.

    Args:
        deliver: The callback; it never raises (the bridge's contract).
        loop: The loop whose coroutines call :meth:`put`.
        maxsize: How many items may wait; :meth:`put` waits while that many do.
        name: The thread's name.
    """

    def __init__(
        self,
        deliver: Callable[[Item], None],
        loop: asyncio.AbstractEventLoop,
        *,
        maxsize: int,
        name: str,
    ) -> None:
        self._deliver = deliver
        self._loop = loop
        self._maxsize = maxsize
        self._items: deque[Item] = deque()
        self._condition = threading.Condition(threading.Lock())
        self._is_closed = False
        self._is_producer_waiting = False
        self._space = asyncio.Event()  # only touched on the loop
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def put(self, item: Item) -> bool:
        """Queue ``item``, waiting (on the loop) while the queue is full.

        Returns:
            False if the thread was closed (the item is dropped), else True.
        """
        while True:
            with self._condition:
                if self._is_closed:
                    return False
                if len(self._items) < self._maxsize:
                    self._items.append(item)
                    self._condition.notify()
                    return True
                self._is_producer_waiting = True
                self._space.clear()
            await self._space.wait()

    def _wake_producer(self) -> None:
        self._space.set()

    def _run(self) -> None:
        items = self._items
        condition = self._condition
        while True:
            with condition:
                while not items and not self._is_closed:
                    condition.wait()
                if self._is_closed:
                    return
                item = items.popleft()
                wake = self._is_producer_waiting
                self._is_producer_waiting = False
            if wake:
                self._call_soon(self._wake_producer)
            self._deliver(item)

    def _call_soon(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self._loop.call_soon_threadsafe(callback)

    def close(self, timeout: float) -> None:
        """Deliver nothing more; wait up to ``timeout`` s for a ``deliver`` call in progress.

        Called from inside ``deliver`` (a handler closing its bridge), it does not wait.
        """
        with self._condition:
            self._is_closed = True
            self._items.clear()
            self._condition.notify_all()
        self._call_soon(self._wake_producer)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
