"""``store.watch(atom)``: ``async for value in store.watch(atom)`` over an atom's changes.

The watch subscribes a listener that only records the latest value and wakes the consumer; the
consumer takes whatever is latest when it gets round to it. So a slow consumer skips values
instead of queueing them (memory stays constant), and it never sees a value older than one it
was already given. Listeners run on whichever thread wrote; from a thread other than the
consumer's event loop the wake-up goes through ``loop.call_soon_threadsafe`` (once per burst).

Lifecycle::

    created --first __anext__--> subscribed --close()/aclose()/async with exit--> closed
                                     |  ^          break (the iterator is dropped): __del__
                                     v  |          cancelled or failing __anext__
                                   waiting

The listener holds the watch weakly, so a watch dropped by a ``break`` is collected at once and
its ``__del__`` unsubscribes: the store keeps no listener behind.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from atomiton.store._atoms.atom import Atom
from atomiton.store._errors import PendingError
from atomiton.store._wakeup import Wakeup

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

T = TypeVar("T")
V = TypeVar("V")


class WatchedStore(Protocol):
    """The store calls a watch makes (``Store`` has them; the store module imports this one)."""

    @property
    def name(self) -> str:
        """The store's name, for the repr."""
        ...

    def batch(self) -> AbstractContextManager[None]:
        """Holds the store's lock for a block."""
        ...

    def subscribe(self, atom: Atom[V], listener: Callable[[V], None]) -> Callable[[], None]:
        """Calls ``listener(value)`` after each change; returns the unsubscriber."""
        ...

    def get(self, atom: Atom[V]) -> V:
        """The current value."""
        ...

    async def aget(self, atom: Atom[V]) -> V:
        """The settled value."""
        ...


class _Nothing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<nothing>"


_NOTHING: Any = _Nothing()


class AtomWatch(AsyncIterator[T], Generic[T]):
    """An async iterator over an atom's value in a store: the current value, then each change.

    Get one from ``store.watch(atom)``. Iterate it on one event loop; close it with
    ``close()``/``await aclose()``, ``async with``, or by dropping it (``break`` out of an
    ``async for`` over ``store.watch(...)`` does that).
    """

    __slots__ = (
        "__weakref__",
        "_atom",
        "_is_closed",
        "_last",
        "_latest",
        "_store",
        "_unsubscribe",
        "_wakeup",
    )

    def __init__(self, store: WatchedStore, atom: Atom[T]) -> None:
        if not isinstance(atom, Atom):
            raise TypeError(f"watch() needs an atom, got {type(atom).__name__}")
        self._store = store
        self._atom = atom
        self._unsubscribe: Callable[[], None] | None = None
        self._wakeup = Wakeup()
        self._latest: Any = _NOTHING  # written by the listener (any thread)
        self._last: Any = _NOTHING  # the value last given to the consumer
        self._is_closed = False

    def __repr__(self) -> str:
        state = "closed" if self._is_closed else "open"
        return f"<AtomWatch {self._atom.name} in {self._store.name} ({state})>"

    @property
    def is_closed(self) -> bool:
        """Whether the watch has stopped (its listener is gone)."""
        return self._is_closed

    # ---------------------------------------------------------------- iteration
    def __aiter__(self) -> AtomWatch[T]:
        return self

    async def __anext__(self) -> T:
        if self._is_closed:
            raise StopAsyncIteration
        try:
            if not self._wakeup.bound:
                return await self._first()
            while True:
                latest = self._latest
                if latest is not _NOTHING and latest is not self._last:
                    self._last = latest
                    return latest  # type: ignore[no-any-return]
                await self._wakeup.wait()
                if self._is_closed:
                    raise StopAsyncIteration
        except BaseException as exc:
            # As for an async generator: an exception out of __anext__ (a cancellation
            # included) ends the iteration, so nothing stays subscribed.
            if not isinstance(exc, StopAsyncIteration):
                self.close()
            raise

    async def _first(self) -> T:
        self._wakeup.bind()
        ref = weakref.ref(self)

        def listener(value: Any) -> None:
            watch = ref()
            if watch is not None:
                watch._deliver(value)

        store = self._store
        # The batch holds the store's lock: no write can fall between subscribing and reading
        # the current value, so every later listener call carries a newer value.
        with store.batch():
            self._unsubscribe = store.subscribe(self._atom, listener)
            try:
                value = store.get(self._atom)
            except PendingError:
                value = _NOTHING
            else:
                self._latest = value
        if value is _NOTHING:
            # An async atom (or one reading one) that has not settled: wait for it. A listener
            # call with that very value may come first; identity makes it count once.
            value = await store.aget(self._atom)
        self._last = value
        return value

    # ---------------------------------------------------------------- delivery (any thread)
    def _deliver(self, value: Any) -> None:
        self._latest = value
        self._wakeup.wake()

    # ---------------------------------------------------------------- closing
    def close(self) -> None:
        """Unsubscribe; a pending ``__anext__`` ends the iteration. Idempotent."""
        if self._is_closed:
            return
        self._is_closed = True
        unsubscribe = self._unsubscribe
        self._unsubscribe = None
        if unsubscribe is not None:
            unsubscribe()
        self._wakeup.wake()  # a pending __anext__ sees it closed

    async def aclose(self) -> None:
        """``close()``, for ``contextlib.aclosing`` and code that awaits its closers."""
        self.close()

    async def __aenter__(self) -> AtomWatch[T]:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        unsubscribe = getattr(self, "_unsubscribe", None)
        if unsubscribe is not None:
            # The store may be half torn down at interpreter exit: nothing is left to clean.
            with contextlib.suppress(Exception):
                unsubscribe()


def watch(store: WatchedStore, atom: Atom[T]) -> AtomWatch[T]:
    """The iterator behind ``store.watch(atom)``: the current value, then each change.

    Raises:
        TypeError: ``atom`` is not an atom.
    """
    return AtomWatch(store, atom)
