"""An event loop in a thread of its own, for an asyncio-only driver (nats-py) used from threads.

The bridge calls a transport from ordinary threads, which may or may not run a loop of their
own. :class:`LoopThread` runs the driver's loop; callers block on a ``concurrent.futures`` future
with a timeout (:meth:`LoopThread.run`), never on the loop itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["LoopThread"]


class LoopThread:
    """An event loop running forever in a daemon thread of its own, until :meth:`stop`."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
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

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coroutine`` on the loop without waiting; its result comes in the future."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

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
