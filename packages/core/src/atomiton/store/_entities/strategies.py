"""Write strategies: how (and when) an entity write reaches storage.

A strategy is a callable given a ``WriteContext``. Built in:

- ``direct``: ``context.persist()`` — the changes are in storage before the write returns.
- ``queue``: ``context.enqueue()`` — one record is appended to a durable outbox in storage before
  the write returns; ``client.flush()`` or the background flusher later moves it to the entity
  keys. A crash before the flush loses nothing that returned: the next client replays the outbox.

The client applies a write to memory only after its strategy returned without raising, except
inside ``client.batch()``, where memory changes at once and a failing group is rolled back. A
strategy may fail *after* part of its write reached storage (``persist()`` then an error, or a
``delete_many`` failing after its ``write_many``): the ``WriteContext`` notes every entity key and
outbox record that may have changed, and ``WriteContext._undo()`` puts exactly those back (the
entity's value before the write, re-written or deleted; the outbox record removed), so memory and
storage agree again after any failed write.

Storage layout and the outbox: see ``persistence.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from atomiton.store._entities.changes import EntityChange
from atomiton.store._entities.persistence import Persistence

__all__ = ["WriteContext", "WriteStrategy", "direct", "queue"]


class WriteContext:
    """What a write strategy receives: the changes of one write (or one batch group).

    Attributes:
        strategy: the strategy's name.
        changes: the entity changes, in order.
    """

    __slots__ = ("_outbox", "_persistence", "_touched", "changes", "strategy")

    def __init__(
        self, strategy: str, changes: tuple[EntityChange, ...], persistence: Persistence
    ) -> None:
        self.strategy = strategy
        self.changes = changes
        self._persistence = persistence
        self._touched: set[str] = set()  # entity keys that may have reached storage
        self._outbox: list[str] = []  # outbox records appended

    def persist(self) -> None:
        """Write the changes to storage now (what ``direct`` does)."""
        self._persistence.persist(self.changes, self._touched)

    def enqueue(self) -> None:
        """Append the changes to the durable outbox (what ``queue`` does)."""
        self._outbox.append(self._persistence.enqueue(self.changes))

    def _undo(self) -> None:
        """After the strategy failed: put back in storage whatever of this write reached it.

        Called by the client, never by a strategy. Does nothing when nothing reached storage.

        Raises:
            Exception: What the storage raised while undoing (storage may then hold part of
                the write).
        """
        if self._touched or self._outbox:
            self._persistence.undo(self.changes, self._touched, self._outbox)
            self._touched.clear()
            self._outbox.clear()


WriteStrategy = Callable[[WriteContext], None]


def direct(context: WriteContext) -> None:
    """The ``direct`` strategy: persisted before the write returns."""
    context.persist()


def queue(context: WriteContext) -> None:
    """The ``queue`` strategy: appended to the durable outbox; flushed later."""
    context.enqueue()
