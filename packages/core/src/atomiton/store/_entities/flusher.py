"""The background flusher: a daemon thread moving the outbox to the entity keys."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from atomiton.store._entities.persistence import Persistence

__all__ = ["BackgroundFlusher"]

logger = logging.getLogger(__name__)


class BackgroundFlusher:
    """A daemon thread that flushes the outbox every ``interval`` seconds once started."""

    def __init__(self, persistence: Persistence, interval: float | None, *, name: str) -> None:
        self._persistence = persistence
        self._interval = interval
        self._name = name
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        # Called after each background flush, holding no lock (the sync publishes there).
        self.after_flush: Callable[[], None] | None = None

    def start(self) -> None:
        """Start the thread (idempotent; a no-op without an interval or after ``stop``)."""
        if self._thread is not None or self._interval is None or self._stopped.is_set():
            return
        self._thread = threading.Thread(
            target=self._run, name=f"atomiton-store-flusher-{self._name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it (idempotent)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        interval = self._interval
        assert interval is not None
        while not self._stopped.wait(interval):
            try:
                self._persistence.flush()
                if self.after_flush is not None:
                    self.after_flush()
            except Exception:
                logger.exception(
                    "entity client %s: background flush failed; will retry", self._name
                )
