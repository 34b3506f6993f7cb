"""The default storage of the entity client (in memory) and how entities become bytes.

``InMemoryStorage`` satisfies ``StorageLike`` with a dict and a lock: it is what a client uses
when no storage is given, so entities live as long as the process. For durability pass
``atomiton.storage.SQLiteStorage`` (or anything satisfying ``StorageLike``).

Entities are encoded as compact JSON (stdlib ``json``: the package must work without optional
extras, and msgspec would only pay off on very large batches). A value JSON cannot represent is
a clear error at write time, before anything changes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from atomiton.store._errors import EntityStoreError

__all__ = ["InMemoryStorage", "decode_entity", "encode_entity"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_entity(entity: Mapping[str, Any], *, store: str) -> bytes:
    """Return the JSON bytes of ``entity``; raise ``EntityStoreError`` naming what cannot encode."""
    try:
        return _ENCODER.encode(entity).encode()
    except (TypeError, ValueError) as error:
        raise EntityStoreError(
            f"store {store!r}: entity {entity.get('id')!r} cannot be stored as JSON: {error}"
        ) from error


def decode_entity(data: bytes) -> dict[str, Any]:
    """Return the entity dict encoded in ``data``."""
    value = json.loads(data)
    if not isinstance(value, dict):
        raise EntityStoreError(f"stored entity is not a JSON object: {data[:80]!r}")
    return value


class InMemoryStorage:
    """A thread-safe dict of bytes satisfying ``StorageLike``; the client's default storage.

    It keeps nothing across processes. ``write_many`` is atomic (validated before applying).
    """

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise EntityStoreError("InMemoryStorage is closed")

    @staticmethod
    def _bytes(key: str, data: object) -> bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"value of {key!r} must be bytes, got {type(data).__name__}")
        return bytes(data)

    def read(self, key: str, /) -> bytes | None:
        """Return the value under ``key`` or None."""
        self._check()
        return self._data.get(key)

    def write(self, key: str, data: bytes, /) -> None:
        """Store ``data`` under ``key``."""
        self._check()
        value = self._bytes(key, data)
        with self._lock:
            self._data[key] = value

    def delete(self, key: str, /) -> bool:
        """Remove ``key``; return whether it existed."""
        self._check()
        with self._lock:
            return self._data.pop(key, None) is not None

    def list(self, prefix: str = "", /) -> list[str]:
        """Return the keys starting with ``prefix``, sorted."""
        self._check()
        with self._lock:
            return sorted(k for k in self._data if k.startswith(prefix))

    def read_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        """Return the values of the ``keys`` that exist."""
        self._check()
        data = self._data
        return {k: data[k] for k in keys if k in data}

    def write_many(self, items: Mapping[str, bytes], /) -> None:
        """Store every item, all or nothing."""
        self._check()
        checked = {k: self._bytes(k, v) for k, v in items.items()}
        with self._lock:
            self._data.update(checked)

    def delete_many(self, keys: Iterable[str], /) -> int:
        """Remove ``keys``; return how many existed."""
        self._check()
        with self._lock:
            return sum(self._data.pop(k, None) is not None for k in list(keys))

    def close(self) -> None:
        """Close the storage; later calls raise."""
        self._closed = True

    def __len__(self) -> int:
        return len(self._data)
