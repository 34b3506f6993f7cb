"""CachedStorage: a read-through, write-through LRU in front of another client.

Bounded by items, by bytes and by age; never serves a value past the inner key's own TTL; and
concurrent misses on one key load it from the inner client once (single flight).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from atomiton.storage._client import (
    Entry,
    Items,
    StorageClient,
    check_ttl,
    check_value,
    checked_batch,
)
from atomiton.storage._keys import validate_key, validate_keys
from atomiton.storage._wrapper import StorageWrapper


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """A snapshot of a CachedStorage's counters."""

    hits: int
    misses: int
    items: int
    bytes: int


class _Load:
    """One in-flight miss: followers wait on ``done``; a write meanwhile marks it stale."""

    __slots__ = ("done", "error", "is_stale", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Entry | None = None
        self.error: BaseException | None = None
        self.is_stale = False


class CachedStorage(StorageWrapper):
    """Cache values of ``inner`` in memory, least recently used first out.

    Every write and delete goes to ``inner`` first, then updates or drops the cached copy, so
    this process always reads its own writes. Writes by other processes are seen once the cached
    copy ages out (``ttl``). A write with a TTL is not cached (the next read loads its exact
    expiry), and a cached value never outlives the expiry the inner client reported.

    Args:
        inner: The client to cache.
        item_limit: Most values kept (None: unbounded).
        byte_limit: Most value bytes kept; a larger single value is not cached (None: unbounded).
        ttl: Seconds a cached value may be served before it is read again (None: until evicted).
        clock: The clock ``inner`` uses for TTLs (``time.time`` for every atomiton backend).
    """

    def __init__(
        self,
        inner: StorageClient,
        *,
        item_limit: int | None = None,
        byte_limit: int | None = None,
        ttl: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(inner)
        for name, bound in (("item_limit", item_limit), ("byte_limit", byte_limit)):
            if bound is not None and (not isinstance(bound, int) or bound < 0):
                raise ValueError(f"CachedStorage {name} must be an int >= 0 or None, not {bound!r}")
        self.item_limit = item_limit
        self.byte_limit = byte_limit
        self.ttl = None if ttl is None else check_ttl(ttl)
        self._clock = clock
        # key -> (value, inner expiry or None, deadline after which the copy is not served)
        self._entries: OrderedDict[str, tuple[bytes, float | None, float]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._loading: dict[str, _Load] = {}
        self._lock = threading.Lock()

    # -- cache bookkeeping (call with the lock held) ------------------------------------------
    def _store(self, key: str, value: bytes, expires: float | None, now: float) -> None:
        size = len(value)
        if (self.byte_limit is not None and size > self.byte_limit) or self.item_limit == 0:
            self._drop(key)
            return
        deadline = float("inf") if self.ttl is None else now + self.ttl
        if expires is not None:
            deadline = min(deadline, expires)
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old[0])
        self._entries[key] = (value, expires, deadline)
        self._bytes += size
        while (self.item_limit is not None and len(self._entries) > self.item_limit) or (
            self.byte_limit is not None and self._bytes > self.byte_limit
        ):
            _, (evicted, _, _) = self._entries.popitem(last=False)
            self._bytes -= len(evicted)

    def _drop(self, key: str) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old[0])
        load = self._loading.get(key)
        if load is not None:
            load.is_stale = True

    def _invalidate(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._drop(key)

    def _cached(self, key: str) -> tuple[bytes, float | None, float] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return None
            if entry[2] <= self._clock():
                self._drop(key)
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry

    def cache_info(self) -> CacheInfo:
        """Return the hit and miss counters and the current size of the cache."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._entries), self._bytes)

    def clear_cache(self) -> None:
        """Forget every cached value (the inner client is untouched)."""
        with self._lock:
            for key in list(self._entries):
                self._drop(key)

    # -- reads --------------------------------------------------------------------------------
    def read_entry(self, key: str) -> Entry | None:
        """Return the cached entry, or load it once however many threads miss together."""
        validate_key(key)
        cached = self._cached(key)
        if cached is not None:
            return cached[0], cached[1]
        with self._lock:
            load = self._loading.get(key)
            is_leader = load is None
            if load is None:
                load = self._loading[key] = _Load()
        if not is_leader:
            load.done.wait()
            if load.error is not None:
                raise load.error
            return load.result
        try:
            load.result = self.inner.read_entry(key)
        except BaseException as exc:
            load.error = exc
            raise
        finally:
            with self._lock:
                del self._loading[key]
                if load.error is None and load.result is not None and not load.is_stale:
                    self._store(key, load.result[0], load.result[1], self._clock())
            load.done.set()
        return load.result

    def read(self, key: str) -> bytes | None:
        """Return the value at ``key`` from the cache or, on a miss, from ``inner``."""
        entry = self.read_entry(key)
        return None if entry is None else entry[0]

    def exists(self, key: str) -> bool:
        """Answer from the cache when it holds ``key``, else ask ``inner``."""
        validate_key(key)
        return self._cached(key) is not None or self.inner.exists(key)

    def size(self, key: str) -> int | None:
        """Answer from the cache when it holds ``key``, else ask ``inner``."""
        validate_key(key)
        cached = self._cached(key)
        return len(cached[0]) if cached is not None else self.inner.size(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Serve cached keys and load the rest in one ``inner.read_many``.

        What ``read_many`` loads is not cached: it cannot see the inner keys' expiries, and a
        cached copy must never outlive one. The next ``read`` of such a key caches it.
        """
        wanted = list(dict.fromkeys(validate_keys(list(keys))))
        found: dict[str, bytes] = {}
        missing: list[str] = []
        for key in wanted:
            cached = self._cached(key)
            if cached is None:
                missing.append(key)
            else:
                found[key] = cached[0]
        if missing:
            found.update(self.inner.read_many(missing))
        return {key: found[key] for key in wanted if key in found}

    # -- writes -------------------------------------------------------------------------------
    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Write to ``inner``, then cache the value (a TTL write just drops the cached copy)."""
        validate_key(key)
        value = check_value(data)
        try:
            self.inner.write(key, value, ttl=ttl)
        except BaseException:
            self._invalidate((key,))
            raise
        with self._lock:
            self._drop(key)
            if ttl is None:
                self._store(key, value, None, self._clock())

    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Write the batch to ``inner``, then cache it (or drop it when it has a TTL)."""
        batch = checked_batch(items)
        try:
            self.inner.write_many(batch, ttl=ttl)
        except BaseException:
            self._invalidate(batch)
            raise
        with self._lock:
            now = self._clock()
            for key, value in batch.items():
                self._drop(key)
                if ttl is None:
                    self._store(key, value, None, now)

    def delete(self, key: str) -> bool:
        """Delete from ``inner`` and drop the cached copy."""
        try:
            return self.inner.delete(key)
        finally:
            self._invalidate((key,))

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete from ``inner`` and drop the cached copies."""
        wanted = validate_keys(list(keys))
        try:
            return self.inner.delete_many(wanted)
        finally:
            self._invalidate(wanted)

    def clear(self) -> None:
        """Clear ``inner`` and the cache."""
        try:
            self.inner.clear()
        finally:
            self.clear_cache()

    def close(self) -> None:
        """Close ``inner`` and drop the cache."""
        self.clear_cache()
        self.inner.close()
