"""MemoryStorage: a dict-backed StorageClient for tests, caches and single-process apps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import cast

from atomiton.storage._client import (
    Entry,
    Items,
    KeyList,
    StorageClient,
    check_ttl,
    check_value,
    checked_batch,
    closed_error,
)
from atomiton.storage._keys import (
    MAX_KEY_LENGTH,
    is_valid_shape,
    validate_key,
    validate_key_slowly,
    validate_keys,
)


class MemoryStorage(StorageClient):
    """Keep values in a dict in this process; nothing survives the process.

    Values are copied on the way in (a ``bytearray`` written later mutated does not change the
    stored value) and are immutable ``bytes`` on the way out. A key with a TTL is stored as a
    ``(value, expires_at)`` pair in the same dict, so every write is one dict assignment: atomic
    between threads without a lock on the hot path. Batch operations take a lock.

    Args:
        clock: Seconds since the epoch; TTLs are measured with it (inject one in tests).
    """

    __slots__ = ("_clock", "_data", "_is_closed", "_lock")

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._data: dict[str, bytes | tuple[bytes, float]] = {}
        self._clock = clock
        self._lock = threading.Lock()
        self._is_closed = False

    # -- hot path -----------------------------------------------------------------------------
    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Store ``data`` at ``key`` (see ``StorageClient.write``)."""
        if self._is_closed:
            raise closed_error(self)
        stored = self._data
        # A key already stored passed the key check when it was first written.
        if key.__class__ is not str or (
            key not in stored
            # Printable ASCII without "." or "//" needs only C-level string checks (2x faster
            # than the regex); anything else takes the regex.
            and not (
                key.isascii()
                and key.isprintable()
                and 0 < len(key) <= MAX_KEY_LENGTH
                and key[0] != "/"
                and key[-1] != "/"
                and "//" not in key
                and "." not in key
            )
            and not (len(key) <= MAX_KEY_LENGTH and is_valid_shape(key))
        ):
            key = validate_key_slowly(key)
        if data.__class__ is not bytes:
            data = check_value(data)
        if ttl is None:
            stored[key] = data
        else:
            stored[key] = (data, self._clock() + check_ttl(ttl))

    def read(self, key: str) -> bytes | None:
        """Return the value at ``key`` or ``None`` (see ``StorageClient.read``)."""
        if not self._is_closed and key.__class__ is str:
            value = self._data.get(key)
            if value.__class__ is bytes:
                return value
        entry = self.read_entry(key)
        return None if entry is None else entry[0]

    def read_entry(self, key: str) -> Entry | None:
        """Return ``(value, expires_at)`` or ``None`` (see ``StorageClient.read_entry``)."""
        if self._is_closed:
            raise closed_error(self)
        if key.__class__ is not str:
            validate_key(key)
        value = self._data.get(key)
        if value is None:
            validate_key(key)
            return None
        if value.__class__ is bytes:
            return value, None
        data, expires_at = cast("tuple[bytes, float]", value)
        if expires_at <= self._clock():
            return None
        return data, expires_at

    def __getitem__(self, key: str) -> bytes:
        value = self._data.get(key) if not self._is_closed and key.__class__ is str else None
        if value.__class__ is bytes:
            return value
        found = self.read(key)
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: str, value: bytes) -> None:
        self.write(key, value)

    # -- the rest -------------------------------------------------------------------------------
    def _live(self) -> dict[str, bytes]:
        now = self._clock()
        live: dict[str, bytes] = {}
        for key, value in list(self._data.items()):
            if isinstance(value, bytes):
                live[key] = value
            elif value[1] > now:
                live[key] = value[0]
        return live

    def _check_open(self) -> None:
        if self._is_closed:
            raise closed_error(self)

    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it was live (see ``StorageClient.delete``)."""
        live = self.exists(key)
        return self._data.pop(key, None) is not None and live

    def exists(self, key: str) -> bool:
        """Return whether ``key`` holds a live value."""
        return self.read_entry(key) is not None

    def list(self, prefix: str = "") -> KeyList:
        """Return the live keys starting with ``prefix``, sorted."""
        self._check_open()
        return sorted(key for key in self._live() if key.startswith(prefix))

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Return the present keys among ``keys`` with their values."""
        self._check_open()
        wanted = validate_keys(list(keys))
        found: dict[str, bytes] = {}
        for key in wanted:
            value = self.read(key)
            if value is not None:
                found[key] = value
        return found

    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Store every pair, all or nothing (everything is checked before anything is stored)."""
        self._check_open()
        checked: dict[str, bytes | tuple[bytes, float]] = dict(checked_batch(items))
        if ttl is not None:
            expires_at = self._clock() + check_ttl(ttl)
            checked = {key: (value, expires_at) for key, value in checked.items()}  # type: ignore[misc]
        with self._lock:
            self._data.update(checked)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key in ``keys``; return how many were live."""
        self._check_open()
        wanted = set(validate_keys(list(keys)))
        with self._lock:
            deleted = sum(1 for key in wanted if self.exists(key))
            for key in wanted:
                self._data.pop(key, None)
        return deleted

    def size(self, key: str) -> int | None:
        """Return the value's length in bytes, or ``None`` when absent."""
        value = self.read(key)
        return None if value is None else len(value)

    def total_size(self) -> int:
        """Return the summed length of every live value."""
        self._check_open()
        return sum(len(value) for value in self._live().values())

    def clear(self) -> None:
        """Remove every key."""
        self._check_open()
        with self._lock:
            self._data.clear()

    def purge_expired(self) -> int:
        """Drop the keys whose TTL has passed; return how many."""
        self._check_open()
        now = self._clock()
        with self._lock:
            expired = [
                key
                for key, value in list(self._data.items())
                if value.__class__ is tuple and value[1] <= now
            ]
            for key in expired:
                del self._data[key]
        return len(expired)

    def close(self) -> None:
        """Drop every value; later calls raise ``StorageClosedError``."""
        self._is_closed = True
        self._data = {}

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._is_closed

    def __len__(self) -> int:
        self._check_open()
        return len(self._live())
