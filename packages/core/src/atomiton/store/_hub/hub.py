r"""The store hub: load, share, reference-count and dispose many store instances.

``define_store(name, create)`` describes a kind of store; ``StoreHub.load(definition, id)`` creates
one instance per ``(name, id)`` with ``create(id, hub)`` (sync or async), shares one in-flight load
among concurrent callers and caches the result. The hub lives on one asyncio event loop: call it
from that loop's thread.

Lifecycle of one instance::

    (absent) --load--> LOADING --ok--> RUNNING --unused for unused_cache_time--> (absent)
                          |  \\--fails--> ERROR (same exception re-raised) --reset--> (absent)
                          |  (an interrupt in create -> ERROR with StoreHubError; re-raised)
                          \\--disposed--> (absent; waiters get StoreDisposedError)
    hub.dispose(): every instance -> SHUTDOWN, in-flight loads cancelled, stores closed.

Dependent stores: a ``create`` may ``await hub.load(...)`` other stores. The hub keeps a
wait-for graph of loads; a load that would wait on itself (directly or through others) raises
``StoreDependencyCycleError`` showing the cycle instead of deadlocking.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import inspect
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, overload

from atomiton.store._errors import (
    HubDisposedError,
    InvalidStoreIdError,
    StoreDefinitionError,
    StoreDependencyCycleError,
    StoreDisposedError,
    StoreHubError,
)

__all__ = [
    "HubInstance",
    "StoreDefinition",
    "StoreHub",
    "StoreState",
    "Timer",
    "TimerHandle",
    "define_store",
]

logger = logging.getLogger(__name__)
S = TypeVar("S")
_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_Key = tuple[str, str]
# Which hub load the current task is running, so nested loads know who waits on whom.
_LOADING: contextvars.ContextVar[tuple[StoreHub, _Key] | None] = contextvars.ContextVar(
    "atomiton_store_hub_loading", default=None
)


class StoreState(enum.Enum):
    """Where one store instance is in its lifecycle."""

    LOADING = "loading"
    RUNNING = "running"
    ERROR = "error"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True, slots=True, eq=False)
class StoreDefinition(Generic[S]):
    """A kind of store: its name and the function creating an instance for an id.

    Attributes:
        name: unique per hub.
        create: ``create(store_id, hub)`` returning the store, or an awaitable of it.
    """

    name: str
    create: Callable[[str, StoreHub], Any]

    def __repr__(self) -> str:
        return f"<StoreDefinition {self.name!r}>"


@overload
def define_store(
    name: str, create: Callable[[str, StoreHub], Awaitable[S]]
) -> StoreDefinition[S]: ...


@overload
def define_store(name: str, create: Callable[[str, StoreHub], S]) -> StoreDefinition[S]: ...


def define_store(name: str, create: Callable[[str, StoreHub], Any]) -> StoreDefinition[Any]:
    """Define a kind of store for ``StoreHub``.

    Args:
        name: the definition's name (letters, digits, ``_``, ``-``, ``.``); a hub refuses two
            different definitions with one name.
        create: ``create(store_id, hub)``, sync or async, returning the store instance.

    Raises:
        StoreDefinitionError: a bad name or a non-callable ``create``.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise StoreDefinitionError(f"store definition name {name!r} must match ^[A-Za-z0-9_.-]+$")
    if not callable(create):
        raise StoreDefinitionError(f"store definition {name!r}: create must be callable")
    return StoreDefinition(name, create)


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled (``asyncio.TimerHandle`` is one)."""

    def cancel(self) -> None:
        """Cancel the callback if it has not run."""
        ...


class Timer(Protocol):
    """Schedules disposal callbacks; the event loop is the default, a fake clock in tests."""

    def call_later(self, delay: float, callback: Callable[[], object], /) -> TimerHandle:
        """Run ``callback`` after ``delay`` seconds."""
        ...


@dataclass(frozen=True, slots=True)
class HubInstance:
    """What ``StoreHub.instances()`` reports of one store instance (for inspectors).

    Attributes:
        store: the definition's name.
        id: the instance id.
        state: where the instance is in its lifecycle.
        refs: how many ``retain`` calls are not yet released.
        error: the load's exception text (``"Type: message"``) when ``state`` is ERROR.
        disposal_pending: the unused countdown is running (nobody retains it).
    """

    store: str
    id: str
    state: StoreState
    refs: int
    error: str | None = None
    disposal_pending: bool = False


class _Entry:
    __slots__ = (
        "definition",
        "disposal",
        "error",
        "future",
        "key",
        "state",
        "store",
        "task",
        "waiters",
    )

    def __init__(
        self, definition: StoreDefinition[Any], key: _Key, future: asyncio.Future[Any]
    ) -> None:
        self.definition = definition
        self.key = key
        self.state = StoreState.LOADING
        self.future = future
        self.task: asyncio.Task[None] | None = None
        self.store: Any = None
        self.error: BaseException | None = None
        self.disposal: TimerHandle | None = None
        # Callers awaiting the load: the unused countdown starts once they all have the store.
        self.waiters = 0


class StoreHub:
    """Loads and shares store instances, and disposes the unused ones (see the module docstring).

    Args:
        unused_cache_time: seconds a loaded store nobody retains stays cached (``math.inf``:
            forever).
        timer: schedules disposals (default: the running event loop).
    """

    def __init__(self, *, unused_cache_time: float = 60.0, timer: Timer | None = None) -> None:
        if (
            not isinstance(unused_cache_time, int | float)
            or isinstance(unused_cache_time, bool)
            or not unused_cache_time >= 0
        ):
            raise ValueError(
                f"unused_cache_time must be seconds >= 0 (or math.inf), got {unused_cache_time!r}"
            )
        if timer is not None and not callable(getattr(timer, "call_later", None)):
            raise TypeError(f"timer must have call_later(delay, callback), got {timer!r}")
        self.unused_cache_time = unused_cache_time
        self._timer = timer
        self._definitions: dict[str, StoreDefinition[Any]] = {}
        self._entries: dict[_Key, _Entry] = {}
        self._refs: dict[_Key, int] = {}
        self._waits: dict[_Key, set[_Key]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._disposed = False

    def __len__(self) -> int:
        """How many instances the hub tracks (loading, running or failed)."""
        return len(self._entries)

    @property
    def is_disposed(self) -> bool:
        """Whether ``dispose()`` was called."""
        return self._disposed

    # -- checks ---------------------------------------------------------------------------

    def _key(self, definition: StoreDefinition[Any], store_id: str) -> _Key:
        if not isinstance(definition, StoreDefinition):
            raise StoreDefinitionError(
                f"expected a StoreDefinition from define_store(), got {definition!r}"
            )
        if not isinstance(store_id, str) or not _ID.fullmatch(store_id):
            raise InvalidStoreIdError(
                f"store id {store_id!r} for {definition.name!r} must match ^[A-Za-z0-9_-]+$"
            )
        known = self._definitions.get(definition.name)
        if known is None:
            self._definitions[definition.name] = definition
        elif known is not definition:
            raise StoreDefinitionError(
                f"two different store definitions are named {definition.name!r}; "
                "names must be unique"
            )
        return (definition.name, store_id)

    def _check_open(self) -> None:
        if self._disposed:
            raise HubDisposedError("the store hub was disposed")

    # -- loading --------------------------------------------------------------------------

    async def load(self, definition: StoreDefinition[S], store_id: str) -> S:
        """Return the running store, loading it first if needed (concurrent callers share it).

        Raises:
            InvalidStoreIdError: ``store_id`` does not match ``^[A-Za-z0-9_-]+$``.
            StoreDefinitionError: another definition already uses this name in this hub.
            StoreDependencyCycleError: loading it would wait on itself through dependencies.
            StoreDisposedError: the store (or hub) was disposed while the load was in flight.
            HubDisposedError: the hub was disposed.
            StoreHubError: ``create`` itself raised ``CancelledError`` (cached until ``reset``).
            Exception: whatever ``create`` raised, the same instance until ``reset``.
        """
        self._check_open()
        key = self._key(definition, store_id)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._start(definition, key)
        if entry.state is StoreState.RUNNING:
            store: S = entry.store
            return store
        if entry.state is StoreState.ERROR:
            assert entry.error is not None
            raise entry.error
        current = _LOADING.get()
        waiter = current[1] if current is not None and current[0] is self else None
        if waiter is not None:
            cycle = [waiter] if waiter == key else self._path(key, waiter)
            if cycle is not None:
                chain = " -> ".join(f"{n}:{i}" for n, i in [waiter, *cycle])
                raise StoreDependencyCycleError(f"store dependency cycle: {chain}")
            self._waits.setdefault(waiter, set()).add(key)
        entry.waiters += 1
        try:
            result: S = await asyncio.shield(entry.future)
            return result
        finally:
            entry.waiters -= 1
            self._start_countdown_if_unused(entry)
            if waiter is not None:
                edges = self._waits.get(waiter)
                if edges is not None:
                    edges.discard(key)
                    if not edges:
                        del self._waits[waiter]

    def _start_countdown_if_unused(self, entry: _Entry) -> None:
        # Started when the last awaiting caller resumes, not when create() returned: a short
        # unused_cache_time (0) would otherwise close the store before its callers received it.
        if (
            not entry.waiters
            and entry.state is StoreState.RUNNING
            and entry.disposal is None
            and not self._refs.get(entry.key)
            and self._entries.get(entry.key) is entry
        ):
            self._schedule_disposal(entry)

    def _path(self, start: _Key, goal: _Key) -> list[_Key] | None:
        """A path ``start -> ... -> goal`` in the wait-for graph, or None."""
        stack: list[tuple[_Key, list[_Key]]] = [(start, [start])]
        seen: set[_Key] = set()
        while stack:
            node, path = stack.pop()
            if node == goal:
                return path
            if node in seen:
                continue
            seen.add(node)
            stack.extend((nxt, [*path, nxt]) for nxt in self._waits.get(node, ()))
        return None

    def _start(self, definition: StoreDefinition[Any], key: _Key) -> _Entry:
        loop = asyncio.get_running_loop()
        entry = _Entry(definition, key, loop.create_future())
        self._entries[key] = entry
        entry.task = loop.create_task(self._run_load(entry), name=f"load store {key[0]}:{key[1]}")
        return entry

    async def _run_load(self, entry: _Entry) -> None:
        _LOADING.set((self, entry.key))
        future = entry.future
        try:
            result = entry.definition.create(entry.key[1], self)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            if not self._disposed and self._entries.get(entry.key) is entry:
                # Not cancelled by a disposal: ``create`` itself raised CancelledError. Cache it
                # as a failed load (resettable) instead of leaving the instance LOADING forever.
                error = StoreHubError(
                    f"creating store {entry.key[0]}:{entry.key[1]} was cancelled "
                    "(create raised CancelledError)"
                )
                entry.state = StoreState.ERROR
                entry.error = error
                if not future.done():
                    future.set_exception(error)
                    future.exception()
                return
            self._fail_disposed(entry)
            return
        except Exception as error:
            if self._entries.get(entry.key) is entry:
                entry.state = StoreState.ERROR
                entry.error = error
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: waiters re-raise it themselves
            return
        except BaseException as interrupt:
            # KeyboardInterrupt / SystemExit from a sync create: it must still stop the program,
            # but not leave the instance LOADING with waiters that never wake. Record a failed
            # load (resettable, like any failure) and let the interrupt go on.
            failure = StoreHubError(
                f"creating store {entry.key[0]}:{entry.key[1]} was interrupted "
                f"({type(interrupt).__name__}); reset() it to load again"
            )
            failure.__cause__ = interrupt
            if self._entries.get(entry.key) is entry:
                entry.state = StoreState.ERROR
                entry.error = failure
            if not future.done():
                future.set_exception(failure)
                future.exception()
            raise
        if self._disposed or self._entries.get(entry.key) is not entry:
            self._fail_disposed(entry)
            await _close_store(result)
            return
        entry.state = StoreState.RUNNING
        entry.store = result
        future.set_result(result)
        if not self._refs.get(entry.key) and not entry.waiters:
            self._schedule_disposal(entry)

    def _fail_disposed(self, entry: _Entry) -> None:
        if not entry.future.done():
            entry.future.set_exception(
                StoreDisposedError(
                    f"store {entry.key[0]}:{entry.key[1]} was disposed while loading"
                )
            )
            entry.future.exception()

    def get(self, definition: StoreDefinition[S], store_id: str) -> S | None:
        """Return the store if it is running, else None; never blocks, never loads."""
        entry = self._entries.get(self._key(definition, store_id))
        if entry is None or entry.state is not StoreState.RUNNING:
            return None
        store: S = entry.store
        return store

    def state(self, definition: StoreDefinition[Any], store_id: str) -> StoreState | None:
        """Return the instance's state; None if the hub does not track it (never loaded or gone)."""
        key = self._key(definition, store_id)
        if self._disposed:
            return StoreState.SHUTDOWN
        entry = self._entries.get(key)
        return None if entry is None else entry.state

    def preload(self, definition: StoreDefinition[Any], store_id: str) -> None:
        """Start loading in the background if not loaded; best effort, never raises."""
        try:
            self._check_open()
            key = self._key(definition, store_id)
            if key not in self._entries:
                self._start(definition, key)
        except Exception as error:  # best effort by contract; the reason is recorded
            logger.warning(
                "preload of %s:%s skipped: %s",
                getattr(definition, "name", definition),
                store_id,
                error,
            )

    def reset(self, definition: StoreDefinition[Any], store_id: str) -> bool:
        """Forget a failed load so the next ``load`` retries; return whether one was forgotten."""
        key = self._key(definition, store_id)
        entry = self._entries.get(key)
        if entry is None or entry.state is not StoreState.ERROR:
            return False
        del self._entries[key]
        return True

    def instances(self) -> list[HubInstance]:
        """Every tracked instance (loading, running or failed), sorted by store name and id.

        A read-only picture for inspectors (atomiton.devtools' hub panel); it may be called from
        another thread, and then shows the hub as of a moment during the call.
        """
        entries = list(self._entries.items())
        refs = dict(self._refs)
        shown = []
        for (name, store_id), entry in sorted(entries, key=lambda item: item[0]):
            error = entry.error
            shown.append(
                HubInstance(
                    name,
                    store_id,
                    StoreState.SHUTDOWN if self._disposed else entry.state,
                    refs.get((name, store_id), 0),
                    None if error is None else f"{type(error).__name__}: {error}",
                    entry.disposal is not None,
                )
            )
        return shown

    # -- reference counting ---------------------------------------------------------------

    def retain(self, definition: StoreDefinition[Any], store_id: str) -> Callable[[], None]:
        """Keep the instance alive until the returned ``release()`` is called (once counts).

        A retain cancels a pending disposal. After the last release, a running (or loading)
        store is disposed ``unused_cache_time`` seconds later unless retained again.
        """
        self._check_open()
        key = self._key(definition, store_id)
        self._refs[key] = self._refs.get(key, 0) + 1
        entry = self._entries.get(key)
        if entry is not None and entry.disposal is not None:
            entry.disposal.cancel()
            entry.disposal = None
        released = False

        def release() -> None:
            nonlocal released
            if released or self._disposed:
                return
            released = True
            remaining = self._refs[key] - 1
            if remaining:
                self._refs[key] = remaining
                return
            del self._refs[key]
            current = self._entries.get(key)
            if current is not None and current.state in (StoreState.RUNNING, StoreState.LOADING):
                self._schedule_disposal(current)

        return release

    def _schedule_disposal(self, entry: _Entry) -> None:
        if math.isinf(self.unused_cache_time):
            return
        if entry.disposal is not None:
            entry.disposal.cancel()
        timer: Timer = self._timer if self._timer is not None else asyncio.get_running_loop()
        entry.disposal = timer.call_later(self.unused_cache_time, lambda: self._expire(entry))

    def _expire(self, entry: _Entry) -> None:
        entry.disposal = None
        if self._entries.get(entry.key) is not entry or self._refs.get(entry.key):
            return
        del self._entries[entry.key]
        self._dispose_entry(entry)

    def _dispose_entry(self, entry: _Entry) -> None:
        if entry.disposal is not None:
            entry.disposal.cancel()
            entry.disposal = None
        previous = entry.state
        entry.state = StoreState.SHUTDOWN
        if previous is StoreState.LOADING and entry.task is not None:
            entry.task.cancel()
        elif previous is StoreState.RUNNING:
            store, entry.store = entry.store, None
            pending = _begin_close(store)
            if pending is not None:
                task = asyncio.get_running_loop().create_task(_finish_close(pending))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Cancel in-flight loads, close every store, serve nothing more; idempotent."""
        if not self._disposed:
            self._disposed = True
            entries = list(self._entries.values())
            self._entries.clear()
            self._refs.clear()
            self._waits.clear()
            loading = [e.task for e in entries if e.state is StoreState.LOADING and e.task]
            for entry in reversed(entries):
                self._dispose_entry(entry)
            if loading:
                await asyncio.gather(*loading, return_exceptions=True)
            self._definitions.clear()
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)

    dispose = aclose  # the earlier name, kept as an alias

    async def __aenter__(self) -> StoreHub:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _begin_close(store: Any) -> Awaitable[Any] | None:
    """Call the store's ``aclose`` / ``close`` / ``dispose`` (first found); return what to await."""
    for name in ("aclose", "close", "dispose"):
        method = getattr(store, name, None)
        if callable(method):
            try:
                result = method()
            except Exception:
                logger.exception("closing store %r with %s() failed", store, name)
                return None
            return result if inspect.isawaitable(result) else None
    return None


async def _finish_close(pending: Awaitable[Any]) -> None:
    try:
        await pending
    except Exception:
        logger.exception("closing a store failed")


async def _close_store(store: Any) -> None:
    pending = _begin_close(store)
    if pending is not None:
        await _finish_close(pending)
