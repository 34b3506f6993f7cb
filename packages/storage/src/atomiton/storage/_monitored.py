"""MonitoredStorage: report every operation (duration, keys, bytes, error) to a callback.

An event bus is one line away: ``MonitoredStorage(inner, report_to_events(bus))`` emits each
record as a ``storage.operation`` event with the cross-package payload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from time import perf_counter
from typing import Any, TypeVar

# EventSink is atomiton.platform's; the package face re-exports it from here.
from atomiton.platform import EventSink as EventSink
from atomiton.storage._client import Entry, Items, KeyList, StorageClient, pairs
from atomiton.storage._wrapper import StorageWrapper

R = TypeVar("R")
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """One storage operation as MonitoredStorage saw it.

    Attributes:
        operation: The method's name: ``"read"``, ``"write"``, ``"read_many"``, ``"list"``,
            ``"len"``, ... (mapping syntax reports the operation it maps to: ``s[k]`` is a read).
        keys: The keys involved (``list`` reports its prefix; whole-store operations none).
        duration: Seconds the inner client took.
        bytes: Value bytes read or written (0 for operations that move no values).
        error: ``"ExceptionType: message"`` when the operation raised, else ``None``.
    """

    operation: str
    keys: tuple[str, ...]
    duration: float
    bytes: int
    error: str | None

    def to_event(self) -> dict[str, Any]:
        """Return the ``storage.operation`` event payload (exactly the cross-package keys)."""
        return {
            "operation": self.operation,
            "keys": list(self.keys),
            "duration": self.duration,
            "bytes": self.bytes,
            "error": self.error,
        }


_new = object.__new__
_set_operation, _set_keys, _set_duration, _set_bytes, _set_error = (
    OperationRecord.__dict__[name].__set__
    for name in ("operation", "keys", "duration", "bytes", "error")
)


def _record(
    operation: str, keys: tuple[str, ...], duration: float, size: int, error: str | None
) -> OperationRecord:
    """Build a record ~4x faster than the frozen dataclass's own __init__ (measured).

    A frozen dataclass assigns each field through ``object.__setattr__``; filling the slots
    through their descriptors does the same job without the generic lookup. It keeps
    MonitoredStorage within its 2 µs budget per call.
    """
    record = _new(OperationRecord)
    _set_operation(record, operation)
    _set_keys(record, keys)
    _set_duration(record, duration)
    _set_bytes(record, size)
    _set_error(record, error)
    return record


def report_to_events(bus: EventSink) -> Callable[[OperationRecord], None]:
    """Return an ``on_operation`` callback emitting ``storage.operation`` events on ``bus``."""
    emit = bus.emit

    def report(record: OperationRecord) -> None:
        emit("storage.operation", record.to_event(), source="storage")

    return report


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class MonitoredStorage(StorageWrapper):
    """Report an ``OperationRecord`` for every operation, failures included.

    A callback that raises is logged and otherwise ignored: monitoring never breaks storage.

    Args:
        inner: The client to observe.
        on_operation: Called with each record, on the calling thread, after the operation.
    """

    def __init__(
        self, inner: StorageClient, on_operation: Callable[[OperationRecord], object]
    ) -> None:
        super().__init__(inner)
        if not callable(on_operation):
            raise TypeError(f"MonitoredStorage on_operation must be callable, not {on_operation!r}")
        self.on_operation = on_operation

    def _report(
        self, operation: str, keys: tuple[str, ...], start: float, size: int, error: str | None
    ) -> None:
        record = _record(operation, keys, perf_counter() - start, size, error)
        try:
            self.on_operation(record)
        except Exception:
            _log.exception("MonitoredStorage: on_operation failed for %s", operation)

    def _failed(self, operation: str, keys: tuple[Any, ...], start: float, exc: Exception) -> None:
        self._report(operation, keys, start, 0, _describe(exc))

    # One explicit method per operation keeps the overhead to two clock reads and one record.
    def read(self, key: str) -> bytes | None:
        """Read through ``inner`` and report it."""
        start = perf_counter()
        try:
            value = self.inner.read(key)
        except Exception as exc:
            self._failed("read", (key,), start, exc)
            raise
        record = _record(
            "read", (key,), perf_counter() - start, 0 if value is None else len(value), None
        )
        try:
            self.on_operation(record)
        except Exception:
            _log.exception("MonitoredStorage: on_operation failed for read")
        return value

    def read_entry(self, key: str) -> Entry | None:
        """Read an entry through ``inner`` and report it as a ``read``."""
        start = perf_counter()
        try:
            entry = self.inner.read_entry(key)
        except Exception as exc:
            self._failed("read", (key,), start, exc)
            raise
        self._report("read", (key,), start, 0 if entry is None else len(entry[0]), None)
        return entry

    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Write through ``inner`` and report it."""
        start = perf_counter()
        try:
            self.inner.write(key, data, ttl=ttl)
        except Exception as exc:
            self._failed("write", (key,), start, exc)
            raise
        record = _record("write", (key,), perf_counter() - start, len(data), None)
        try:
            self.on_operation(record)
        except Exception:
            _log.exception("MonitoredStorage: on_operation failed for write")

    def delete(self, key: str) -> bool:
        """Delete through ``inner`` and report it."""
        return self._simple("delete", (key,), self.inner.delete, key)

    def exists(self, key: str) -> bool:
        """Check through ``inner`` and report it."""
        return self._simple("exists", (key,), self.inner.exists, key)

    def size(self, key: str) -> int | None:
        """Size through ``inner`` and report it."""
        return self._simple("size", (key,), self.inner.size, key)

    def list(self, prefix: str = "") -> KeyList:
        """List through ``inner`` and report it (``keys`` holds the prefix)."""
        return self._simple("list", (prefix,) if prefix else (), self.inner.list, prefix)

    def total_size(self) -> int:
        """Total size through ``inner`` and report it."""
        return self._simple("total_size", (), self.inner.total_size)

    def clear(self) -> None:
        """Clear through ``inner`` and report it."""
        self._simple("clear", (), self.inner.clear)

    def purge_expired(self) -> int:
        """Purge through ``inner`` and report it."""
        return self._simple("purge_expired", (), self.inner.purge_expired)

    def close(self) -> None:
        """Close ``inner`` and report it."""
        self._simple("close", (), self.inner.close)

    def __len__(self) -> int:
        return self._simple("len", (), self.inner.__len__)

    def _simple(self, operation: str, keys: tuple[Any, ...], fn: Callable[..., R], *args: Any) -> R:
        start = perf_counter()
        try:
            result = fn(*args)
        except Exception as exc:
            self._failed(operation, keys, start, exc)
            raise
        self._report(operation, keys, start, 0, None)
        return result

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Read many through ``inner`` and report it."""
        wanted = tuple(keys)
        start = perf_counter()
        try:
            found = self.inner.read_many(wanted)
        except Exception as exc:
            self._failed("read_many", wanted, start, exc)
            raise
        self._report("read_many", wanted, start, sum(map(len, found.values())), None)
        return found

    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Write many through ``inner`` and report it."""
        batch = list(pairs(items))
        keys = tuple(key for key, _ in batch)
        start = perf_counter()
        try:
            self.inner.write_many(batch, ttl=ttl)
        except Exception as exc:
            self._failed("write_many", keys, start, exc)
            raise
        size = sum(len(value) for _, value in batch)
        self._report("write_many", keys, start, size, None)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete many through ``inner`` and report it."""
        wanted = tuple(keys)
        return self._simple("delete_many", wanted, self.inner.delete_many, wanted)
