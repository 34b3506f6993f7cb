"""One control thread per DaskWorkers: timeouts, cancel grace periods and idle checks, in order."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Timers"]

logger = logging.getLogger(__name__)


class Timers:
    """Runs ``fn()`` at (or soon after) a given ``time.monotonic()``, one at a time, in one thread.

    The actions may block (they talk to the Dask scheduler); a late action is run as soon as the
    one before it returns. ``stop()`` runs nothing more and joins the thread.
    """

    def __init__(self, name: str) -> None:
        self._heap: list[tuple[float, int, Callable[[], object]]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_at(self, when: float, fn: Callable[[], object]) -> None:
        """Run ``fn`` at the monotonic time ``when``."""
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (when, next(self._order), fn))
            self._cond.notify_all()

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` as soon as the thread is free."""
        self.call_at(time.monotonic(), fn)

    def stop(self) -> None:
        """Drop what is scheduled and join the thread (unless called from it)."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = None if not self._heap else self._heap[0][0] - time.monotonic()
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
                self._busy = True
            try:
                fn()
            except Exception:
                logger.exception("DaskWorkers control action %r failed", fn)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
