"""Live queries: ``watch_many`` (an async iterator of results) and ``query_atom`` (an atom).

A ``LiveQuery`` keeps the result of one ``find_many`` current as entities change, without
re-running it:

* ``matched``: the ids of every entity matching ``where`` (so ``total`` is ``len(matched)``);
* ``window``: the sort keys of the first ``offset + limit`` matches (all of them without a
  limit), sorted, each key ending with the entity's id. A key orders exactly as ``find_many``
  does (``order_by`` fields, None last, then insertion order).

Every write records the ids it changed in its store handle (``StoreHandle.watched``, a set
that exists only while the store has live queries). The client's one change hook,
``LiveQueries.changed`` (called from ``EntityClient._notify_all``, whatever made the change),
takes those ids under the client's lock and applies each to each live query of the store:

* an entity that neither matched before nor matches now is skipped (one predicate call): the
  result cannot have changed, nobody is told;
* otherwise its key leaves the window and, if it matches now and belongs in the window, goes
  back in at its new place (``bisect``); a full window drops its last key. A window that lost
  a key while more matches exist beyond it is refilled by running the query again (through the
  indexes when they cover ``where``); nothing else ever scans.

An entity is compared by identity with the one the query last saw (a write always stores a new
dict), so applying the same ids twice changes nothing and notifies nobody. A query whose result
changed gets a new version and a new ``Page``; its listeners receive ``(version, page)``
after the lock is released, from the writing thread. The entity dicts of a live result are
copied once per entity version and shared by the later results of the same query.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import heapq
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from atomiton.store._entities.indexes import plan_candidates
from atomiton.store._entities.query import (
    Direction,
    Page,
    Predicate,
    _rank,
    compile_where,
    normalise_order_by,
)
from atomiton.store._errors import QueryError
from atomiton.store._wakeup import Wakeup

if TYPE_CHECKING:
    from atomiton.store._atoms.atom import Computed, Getter
    from atomiton.store._entities.handle import StoreHandle

__all__ = ["LiveHost", "LiveQueries", "LiveQuery", "LiveWatch", "make_query_atom"]

Key = tuple[Any, ...]
Listener = Callable[[int, "Page | None"], None]
"""A live query's listener: ``(version, page)`` on each change; ``page`` None when it ends."""


class LiveHost(Protocol):
    """What the live queries need from their client (``EntityClient`` implements it)."""

    _lock: Any

    def _check_open(self) -> None: ...

    def _handle(self, name: str) -> StoreHandle: ...


class _Desc:
    """A sort rank compared backwards: a descending field inside an ascending key."""

    __slots__ = ("rank",)

    def __init__(self, rank: tuple[int, Any]) -> None:
        self.rank = rank

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.rank < self.rank)

    def __gt__(self, other: _Desc) -> bool:
        return bool(self.rank < other.rank)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.rank == other.rank)

    __hash__ = None  # type: ignore[assignment]


_NONE_LAST = (1,)  # a None (or missing) field sorts after every value, either direction


def _key_function(
    order: list[tuple[str, Direction]],
) -> Callable[[Mapping[str, Any], int, str], Key]:
    """The sort key of ``find_many``'s order: fields (None last), then insertion position."""
    if not order:
        return lambda entity, position, entity_id: (position, entity_id)
    fields = tuple(order)

    def key(entity: Mapping[str, Any], position: int, entity_id: str) -> Key:
        parts: list[Any] = []
        for name, direction in fields:
            value = entity.get(name)
            if value is None:
                parts.append(_NONE_LAST)
            elif direction == "asc":
                parts.append((0, _rank(value)))
            else:
                parts.append((0, _Desc(_rank(value))))
        parts.append(position)
        parts.append(entity_id)
        return tuple(parts)

    return key


class LiveQuery:
    """The incrementally maintained result of one query on one store (see the module doc)."""

    __slots__ = (
        "__weakref__",
        "_copies",
        "_ids",
        "_in_window",
        "_key",
        "_matched",
        "_seen",
        "_window",
        "cap",
        "closed",
        "include_deleted",
        "limit",
        "listeners",
        "offset",
        "order_by",
        "page",
        "predicate",
        "refills",
        "store",
        "version",
        "where",
    )

    def __init__(
        self,
        store: str,
        where: Mapping[str, Any] | None,
        order_by: Any,
        limit: int | None,
        offset: int,
        include_deleted: bool,
    ) -> None:
        # Validated now, as find_many would: a bad query fails where it is written.
        self.predicate: Predicate | None = compile_where(where)
        order = normalise_order_by(order_by)
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or limit < 0
        ):
            raise QueryError(f"limit must be a non-negative int or None, got {limit!r}")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise QueryError(f"offset must be a non-negative int, got {offset!r}")
        self.store = store
        # A copy: the caller may reuse its dict, and refills plan from it again later.
        self.where = copy.deepcopy(where)
        self.order_by = order
        self.limit = limit
        self.offset = offset
        self.include_deleted = bool(include_deleted)
        self.cap = None if limit is None else offset + limit
        self._key = _key_function(order)
        self._matched: set[str] = set()
        self._window: list[Key] = []
        self._ids: list[str] = []  # the window's ids, in its order
        self._in_window: dict[str, Key] = {}
        self._seen: dict[str, dict[str, Any]] = {}  # window id -> the entity dict last used
        self._copies: dict[str, dict[str, Any]] = {}  # window id -> the copy results share
        self.version = 0
        self.page = Page(data=[], total=0, offset=offset, limit=limit)
        self.listeners: tuple[Listener, ...] = ()
        self.closed = False
        self.refills = 0  # how often a window had to be refilled by a query (tests read it)

    def clone(self) -> LiveQuery:
        """A new, unopened query with the same arguments."""
        return LiveQuery(
            self.store, self.where, self.order_by, self.limit, self.offset, self.include_deleted
        )

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"v{self.version}"
        return f"<LiveQuery {self.store} where={self.where!r} ({state})>"

    def _matches(self, entity: Mapping[str, Any] | None) -> bool:
        if entity is None or (not self.include_deleted and entity.get("deleted")):
            return False
        predicate = self.predicate
        return predicate is None or predicate(entity)

    # -- building ---------------------------------------------------------------------------

    def build(self, handle: StoreHandle) -> None:
        """Run the query from scratch (through the indexes when they cover ``where``)."""
        entities = handle.entities
        candidates: set[str] | None = None
        if self.where and handle.indexes:
            candidates, _used = plan_candidates(self.where, handle.indexes)
        matches = self._matches
        if candidates is None:
            matched = {i for i, e in entities.items() if matches(e)}
        else:
            matched = {i for i in candidates if matches(entities[i])}
        position = handle.order
        key = self._key
        keys = (key(entities[i], position[i], i) for i in matched)
        cap = self.cap
        if cap is not None and cap < len(matched):
            window = heapq.nsmallest(cap, keys)
        else:
            window = sorted(keys)
        ids = [k[-1] for k in window]
        seen, copies = self._seen, self._copies
        self._matched = matched
        self._window = window
        self._ids = ids
        self._in_window = {k[-1]: k for k in window}
        # Copies of unchanged entities are kept: earlier results share them.
        self._copies = {
            i: copies[i] if seen.get(i) is entities[i] else dict(entities[i]) for i in ids
        }
        self._seen = {i: entities[i] for i in ids}

    def apply(self, handle: StoreHandle, ids: list[str]) -> bool:
        """Bring the result up to date with the current state of ``ids``; whether it changed."""
        # The common case first, cheaply: no id matched before or matches now.
        entities = handle.entities
        matched = self._matched
        matches = self._matches
        for entity_id in ids:
            if entity_id in matched or matches(entities.get(entity_id)):
                return self._apply(handle, ids)
        return False

    def _apply(self, handle: StoreHandle, ids: list[str]) -> bool:
        entities = handle.entities
        matched = self._matched
        window = self._window
        window_ids = self._ids  # window[i][-1] == window_ids[i]
        in_window = self._in_window
        seen = self._seen
        copies = self._copies
        matches = self._matches
        cap = self.cap
        changed = False
        refill = False
        for entity_id in ids:
            entity = entities.get(entity_id)
            was = entity_id in matched
            if entity is not None and was and seen.get(entity_id) is entity:
                continue  # this very state is in the window already
            now = matches(entity)
            if not was and not now:
                continue  # neither matched before nor matches now: the result is untouched
            old = in_window.pop(entity_id, None)
            if old is not None:
                at = bisect.bisect_left(window, old)
                del window[at]
                del window_ids[at]
                del seen[entity_id]
                del copies[entity_id]
                changed = True
            if not now:
                matched.discard(entity_id)
                changed = True  # total moved
                if old is not None and len(window) < len(matched):
                    refill = True  # a window slot opened with matches beyond it
                continue
            if was:
                matched.discard(entity_id)
            else:
                changed = True  # total moved
            # The window holds every other match, or a prefix of them in key order.
            holds_all = len(window) == len(matched)
            matched.add(entity_id)
            assert entity is not None
            key = self._key(entity, handle.order[entity_id], entity_id)
            if holds_all or (window and key < window[-1]):
                at = bisect.bisect_right(window, key)
                window.insert(at, key)
                window_ids.insert(at, entity_id)
                in_window[entity_id] = key
                seen[entity_id] = entity
                copies[entity_id] = dict(entity)
                changed = True
                if cap is not None and len(window) > cap:
                    window.pop()
                    last = window_ids.pop()
                    del in_window[last]
                    del seen[last]
                    del copies[last]
            elif old is not None:
                refill = True  # it left the window for a place we cannot see
        if cap is not None and len(window) < min(cap, len(matched)):
            refill = True
        if refill:
            self.refills += 1
            self.build(handle)
            changed = True
        if changed:
            self._publish()
        return changed

    def _publish(self) -> None:
        ids = self._ids
        offset = self.offset
        data = list(map(self._copies.__getitem__, ids[offset:] if offset else ids))
        self.version += 1
        self.page = Page(data=data, total=len(self._matched), offset=offset, limit=self.limit)


class LiveQueries:
    """A client's live queries, by store name, and its change hook (see the module doc)."""

    __slots__ = ("_armed", "_client", "_edit", "_queries")

    def __init__(self, client: LiveHost) -> None:
        self._client = client
        self._queries: dict[str, tuple[LiveQuery, ...]] = {}
        self._edit = threading.Lock()  # guards _queries; never held while anything else runs
        # Stores whose handle records changed ids (``handle.watched``), by name: their handles.
        # Changed under the client lock only.
        self._armed: dict[str, StoreHandle] = {}

    def count(self, store: str | None = None) -> int:
        """How many live queries are open (on ``store``, or on every store)."""
        if store is not None:
            return len(self._queries.get(store, ()))
        return sum(len(q) for q in self._queries.values())

    def open(self, query: LiveQuery) -> tuple[int, Page] | None:
        """Run ``query`` and keep it live; return its first ``(version, page)``.

        Returns None if the query was closed meanwhile (its watcher went away).

        Raises:
            ClientDisposedError: the client was disposed.
        """
        client = self._client
        with client._lock:
            client._check_open()
            handle = client._handle(query.store)
            if handle.watched is None:
                handle.watched = set()
            self._armed[query.store] = handle
            query.build(handle)
            query._publish()
            with self._edit:
                if query.closed:
                    return None
                self._queries[query.store] = (*self._queries.get(query.store, ()), query)
            return query.version, query.page

    def snapshot(self, query: LiveQuery) -> Page:
        """Run ``query`` once, without keeping it live."""
        client = self._client
        with client._lock:
            client._check_open()
            handle = client._handle(query.store)
            query.build(handle)
            query._publish()
            return query.page

    def close(self, query: LiveQuery) -> None:
        """Stop keeping ``query`` live (idempotent; takes no client lock)."""
        with self._edit:
            query.closed = True
            queries = self._queries.get(query.store)
            if queries is not None and query in queries:
                rest = tuple(q for q in queries if q is not query)
                if rest:
                    self._queries[query.store] = rest
                else:
                    del self._queries[query.store]

    def close_all(self) -> None:
        """End every live query (the client is being disposed): listeners get ``page=None``."""
        with self._edit:
            queries = [q for qs in self._queries.values() for q in qs]
            self._queries.clear()
            for query in queries:
                query.closed = True
        for query in queries:
            for listener in query.listeners:
                with contextlib.suppress(Exception):  # our own listeners do not raise
                    listener(query.version + 1, None)

    def changed(self, notes: Iterable[Sequence[Any]]) -> list[Exception]:
        """The change hook: update the live queries of the stores named, then tell listeners.

        Called after every committed change, outside the client's lock, whatever its origin
        (a local write, a batch, undo/redo, a change applied from another process), with the
        notes of ``_notify_all`` (tuples whose first item is a store name): it reads the ids
        each store recorded as changed. Returns what listeners raised.
        """
        armed = self._armed
        if not armed:
            return []
        updates: list[tuple[LiveQuery, int, Page]] | None = None
        with self._client._lock:
            for note in notes:  # a store named twice finds nothing left the second time
                name = note[0]
                handle = armed.get(name)
                if handle is None:
                    continue
                queries = self._queries.get(name)
                if not queries:
                    # The last live query of this store has gone: stop recording its changes.
                    handle.watched = None
                    del armed[name]
                    continue
                dirty = handle.watched
                if not dirty:
                    continue
                ids = list(dirty)
                dirty.clear()
                for query in queries:
                    if not query.closed and query.apply(handle, ids):
                        if updates is None:
                            updates = []
                        updates.append((query, query.version, query.page))
        if updates is None:
            return []
        errors: list[Exception] = []
        for query, version, page in updates:
            for listener in query.listeners:
                try:
                    listener(version, page)
                except Exception as error:
                    errors.append(error)
        return errors


# -- watch_many -------------------------------------------------------------------------------


class LiveWatch(AsyncIterator[Page]):
    """``async for page in store.watch_many(...)``: the result now, then each new result.

    The first ``__anext__`` runs the query in a worker thread (it may read storage) and keeps
    it live; each later one waits for a change. A slow consumer gets the latest result, never
    a queue of old ones. ``close()``/``aclose()``/``async with`` end it; so does dropping it
    (a ``break`` out of ``async for`` over ``watch_many(...)``), a cancelled or failing
    ``__anext__``, and disposing the client.
    """

    __slots__ = (
        "__weakref__",
        "_ended",
        "_given",
        "_guard",
        "_is_closed",
        "_latest",
        "_live",
        "_query",
        "_wakeup",
    )

    def __init__(self, live: LiveQueries, query: LiveQuery) -> None:
        self._live = live
        self._query = query
        self._guard = threading.Lock()
        self._latest: tuple[int, Page | None] | None = None
        self._given = -1
        self._wakeup = Wakeup()
        self._is_closed = False
        self._ended = False

    def __repr__(self) -> str:
        state = "closed" if self._is_closed else "open"
        return f"<LiveWatch {self._query.store} where={self._query.where!r} ({state})>"

    @property
    def is_closed(self) -> bool:
        """Whether the watch has ended (its live query is gone)."""
        return self._is_closed

    def __aiter__(self) -> LiveWatch:
        return self

    async def __anext__(self) -> Page:
        if self._is_closed:
            raise StopAsyncIteration
        try:
            if not self._wakeup.bound:
                return await self._first()
            while True:
                latest = self._latest
                if latest is not None and latest[0] > self._given:
                    self._given = latest[0]
                    if latest[1] is None:  # the client was disposed
                        raise StopAsyncIteration
                    return latest[1]
                await self._wakeup.wait()
                if self._is_closed:
                    raise StopAsyncIteration
        except BaseException:
            # As for an async generator: an exception out of __anext__ (a cancellation
            # included) ends the iteration, so no live query stays behind.
            self.close()
            raise

    async def _first(self) -> Page:
        import asyncio  # already loaded: we run on an asyncio loop

        self._wakeup.bind()
        ref = weakref.ref(self)

        def listener(version: int, page: Page | None) -> None:
            watch = ref()
            if watch is not None:
                watch._deliver(version, page)

        self._query.listeners = (listener,)
        if self._live._client._lock._is_owned():
            # Inside this thread's batch: a worker thread would wait for its lock for ever.
            opened = self._live.open(self._query)
        else:
            opened = await asyncio.to_thread(self._live.open, self._query)
        if opened is None:
            raise StopAsyncIteration
        self._deliver(*opened)
        latest = self._latest
        assert latest is not None
        assert latest[1] is not None
        self._given = latest[0]
        return latest[1]

    def _deliver(self, version: int, page: Page | None) -> None:
        with self._guard:  # deliveries from several threads: keep the newest
            latest = self._latest
            if latest is not None and version <= latest[0]:
                return
            self._latest = (version, page)
        self._wakeup.wake()

    def close(self) -> None:
        """Stop the live query; a pending ``__anext__`` ends the iteration. Idempotent."""
        if self._is_closed:
            return
        self._is_closed = True
        self._live.close(self._query)
        self._wakeup.wake()  # a pending __anext__ sees it closed

    async def aclose(self) -> None:
        """``close()``, for ``contextlib.aclosing`` and code that awaits its closers."""
        self.close()

    async def __aenter__(self) -> LiveWatch:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_is_closed", True):
            with contextlib.suppress(Exception):  # interpreter shutdown
                self._live.close(self._query)


# -- query_atom -------------------------------------------------------------------------------


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<not live in this store>"


_UNSET: Any = _Unset()


class _Sink:
    """Delivers a live query's results to one store's slot atom, newest last, from any thread."""

    __slots__ = ("closed", "guard", "latest", "running", "slot", "store")

    def __init__(self, store: Any, slot: Any) -> None:
        # Weak: a store dropped without unsubscribing must not be kept alive by the atom.
        self.store: weakref.ref[Any] = weakref.ref(store)
        self.slot = slot
        self.guard = threading.Lock()
        self.latest: tuple[int, Page] | None = None
        self.running = False
        self.closed = False

    def _offer(self, version: int, page: Page) -> bool:
        """Record a result; whether this caller must write it (no other caller is writing)."""
        with self.guard:
            if self.closed or (self.latest is not None and version <= self.latest[0]):
                return False
            self.latest = (version, page)
            if self.running:
                return False  # the writing caller picks it up
            self.running = True
            return True

    def _next(self, written: Page) -> Page | None:
        """After writing ``written``: the newer result to write, or None (done)."""
        with self.guard:
            if self.closed or self.latest is None or self.latest[1] is written:
                self.running = False
                return None
            return self.latest[1]

    def deliver(self, version: int, page: Page) -> None:
        if not self._offer(version, page):
            return
        # No lock is held while the store runs (its listeners may write entities again).
        next_page: Page | None = page
        while next_page is not None:
            store = self.store()
            if store is None:
                self.closed = True
                self.running = False
                return
            store.set(self.slot, next_page)
            next_page = self._next(next_page)
        store = self.store()
        if self.closed and store is not None:
            store.set(self.slot, _UNSET)  # unmounted while we wrote: leave it unset


class _QueryAtomState:
    """The part of a query atom shared by every store: one live query while mounted anywhere."""

    __slots__ = ("__weakref__", "live", "lock", "make", "query", "sinks")

    def __init__(self, live: LiveQueries, make: Callable[[], LiveQuery]) -> None:
        self.live = live
        self.make = make
        self.lock = threading.RLock()
        self.query: LiveQuery | None = None
        self.sinks: dict[int, _Sink] = {}  # id(store) -> sink, while the atom is mounted there

    def snapshot(self) -> Page:
        return self.live.snapshot(self.make())

    def mount(self, store: Any, slot: Any) -> None:
        with self.lock:
            sink = self.sinks[id(store)] = _Sink(store, slot)
            query = self.query
            if query is None or query.closed:
                query = self.make()
                ref = weakref.ref(self)

                def listener(version: int, page: Page | None) -> None:
                    state = ref()
                    if state is not None and page is not None:
                        for key, sink in list(state.sinks.items()):
                            sink.deliver(version, page)
                            if sink.store() is None:  # dropped without unsubscribing
                                state.unmount_key(key)

                query.listeners = (listener,)
                opened = self.live.open(query)
                self.query = query
                assert opened is not None
            version, page = query.version, query.page
        sink.deliver(version, page)

    def unmount(self, store: Any) -> None:
        sink = self.unmount_key(id(store))
        if sink is not None:
            with sink.guard:
                sink.closed = True
            store.set(sink.slot, _UNSET)

    def unmount_key(self, key: int) -> _Sink | None:
        with self.lock:
            sink = self.sinks.pop(key, None)
            if not self.sinks and self.query is not None:
                self.live.close(self.query)
                self.query = None
        return sink


def make_query_atom(live: LiveQueries, query: LiveQuery, name: str | None) -> Computed[Page]:
    """Build the atom of ``EntityStore.query_atom`` from ``query`` (never opened itself).

    See ``EntityStore.query_atom`` for the semantics.
    """
    from atomiton.store._atoms.factories import atom, computed

    state = _QueryAtomState(live, query.clone)
    # Per store: the result last delivered there, or _UNSET while the atom is not mounted.
    slot: Any = atom(_UNSET, name=None if name is None else f"{name}.result")

    def read(get: Getter) -> Page:
        page: Any = get(slot)
        if page is _UNSET:
            return state.snapshot()  # not live in this store: the result now
        return page  # type: ignore[no-any-return]

    def on_mount(store: Any) -> None:
        state.mount(store, slot)

    def on_unmount(store: Any) -> None:
        state.unmount(store)

    return computed(read, name=name, on_mount=on_mount, on_unmount=on_unmount)
