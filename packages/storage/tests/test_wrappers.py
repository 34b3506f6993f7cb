"""What each wrapper adds: records, caching, single flight, retries and the circuit breaker."""

from __future__ import annotations

import errno
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atomiton.platform import CircuitBreaker, CircuitOpenError, RetryPolicy
from atomiton.storage import (
    CachedStorage,
    CircuitBreakerStorage,
    InvalidKeyError,
    MemoryStorage,
    MonitoredStorage,
    OperationRecord,
    RetryingStorage,
    SQLiteStorage,
    StorageClosedError,
    StorageWrapper,
    is_transient,
    report_to_events,
)

from ._support import FakeClock


class FlakyStorage(StorageWrapper):
    """Fails the next ``failures`` reads and writes with ``error``, counting calls."""

    def __init__(self, error: BaseException, failures: int) -> None:
        super().__init__(MemoryStorage())
        self.error = error
        self.failures = failures
        self.calls = 0

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise self.error

    def read(self, key: str) -> bytes | None:
        self._maybe_fail()
        return self.inner.read(key)

    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        self._maybe_fail()
        self.inner.write(key, data, ttl=ttl)


# -- MonitoredStorage ------------------------------------------------------------------------------
def test_monitored_reports_every_operation() -> None:
    records: list[OperationRecord] = []
    storage = MonitoredStorage(MemoryStorage(), records.append)
    storage.write("a", b"123")
    storage["b"] = b"4"
    storage.read("a")
    storage.read_many(["a", "b"])
    storage.write_many({"c": b"56"})
    storage.exists("a")
    storage.list("a")
    assert "a" in storage
    len(storage)
    storage.delete_many(["c"])
    storage.delete("a")
    storage.total_size()
    storage.clear()
    storage.close()
    assert [(r.operation, r.keys, r.bytes, r.error) for r in records] == [
        ("write", ("a",), 3, None),
        ("write", ("b",), 1, None),
        ("read", ("a",), 3, None),
        ("read_many", ("a", "b"), 4, None),
        ("write_many", ("c",), 2, None),
        ("exists", ("a",), 0, None),
        ("list", ("a",), 0, None),
        ("exists", ("a",), 0, None),
        ("len", (), 0, None),
        ("delete_many", ("c",), 0, None),
        ("delete", ("a",), 0, None),
        ("total_size", (), 0, None),
        ("clear", (), 0, None),
        ("close", (), 0, None),
    ]
    assert all(r.duration >= 0 for r in records)


def test_monitored_reports_failures_and_reraises() -> None:
    records: list[OperationRecord] = []
    storage = MonitoredStorage(MemoryStorage(), records.append)
    with pytest.raises(InvalidKeyError):
        storage.write("../x", b"v")
    assert records[-1].operation == "write"
    assert records[-1].error is not None
    assert records[-1].error.startswith("InvalidKeyError: invalid storage key '../x'")


def test_monitored_callback_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(record: OperationRecord) -> None:
        raise RuntimeError("monitor down")

    storage = MonitoredStorage(MemoryStorage(), broken)
    storage.write("k", b"v")
    assert storage.read("k") == b"v"
    assert "on_operation failed" in caplog.text


def test_events_adapter_emits_the_cross_package_payload() -> None:
    emitted: list[tuple[str, Any, str]] = []

    class Bus:
        def emit(self, type: str, data: Any, /, *, source: str = "") -> None:
            emitted.append((type, data, source))

    storage = MonitoredStorage(MemoryStorage(), report_to_events(Bus()))
    storage.write("todos/1", b"abc")
    event_type, data, source = emitted[0]
    assert event_type == "storage.operation"
    assert source == "storage"
    assert set(data) == {"operation", "keys", "duration", "bytes", "error"}
    assert data["keys"] == ["todos/1"]
    assert data["bytes"] == 3
    assert data["error"] is None


# -- CachedStorage ---------------------------------------------------------------------------------
class CountingStorage(StorageWrapper):
    def __init__(self, inner: Any = None, delay: float = 0.0) -> None:
        super().__init__(inner if inner is not None else MemoryStorage())
        self.reads = 0
        self.delay = delay

    def read_entry(self, key: str) -> Any:
        self.reads += 1
        time.sleep(self.delay)
        return self.inner.read_entry(key)


def test_cache_serves_repeated_reads_without_the_inner_client() -> None:
    inner = CountingStorage()
    inner.inner.write("k", b"v")
    cache = CachedStorage(inner)
    assert [cache.read("k") for _ in range(5)] == [b"v"] * 5
    assert inner.reads == 1
    info = cache.cache_info()
    assert (info.hits, info.misses, info.items, info.bytes) == (4, 1, 1, 1)


def test_cache_is_write_through_and_invalidates_on_delete() -> None:
    inner = CountingStorage()
    cache = CachedStorage(inner)
    cache.write("k", b"1")
    assert inner.inner.read("k") == b"1"
    assert cache.read("k") == b"1"
    assert inner.reads == 0
    cache.delete("k")
    assert cache.read("k") is None
    assert inner.inner.read("k") is None


def test_cache_evicts_least_recently_used_by_items_and_bytes() -> None:
    cache = CachedStorage(MemoryStorage(), item_limit=2, byte_limit=10)
    cache.write("a", b"1")
    cache.write("b", b"2")
    cache.read("a")
    cache.write("c", b"3")  # evicts b, the least recently used
    assert cache.cache_info().items == 2
    assert cache._entries.keys() == {"a", "c"}
    cache.write("big", b"x" * 11)  # larger than byte_limit: stored, not cached
    assert "big" not in cache._entries
    assert cache.read("big") == b"x" * 11


def test_cache_ttl_rereads_after_expiry_and_respects_inner_ttl() -> None:
    clock = FakeClock()
    inner_mem = MemoryStorage(clock=clock)
    inner = CountingStorage(inner_mem)
    cache = CachedStorage(inner, ttl=5, clock=clock)
    inner_mem.write("k", b"1")
    inner_mem.write("short", b"s", ttl=2)
    assert cache.read("k") == b"1"
    assert cache.read("short") == b"s"
    inner_mem.write("k", b"2")  # another writer: seen once the cached copy ages out
    assert cache.read("k") == b"1"
    clock.advance(3)
    assert cache.read("short") is None  # never served past the inner key's own TTL
    clock.advance(3)
    assert cache.read("k") == b"2"


def test_concurrent_misses_load_once() -> None:
    inner = CountingStorage(delay=0.05)
    inner.inner.write("k", b"v")
    cache = CachedStorage(inner)
    barrier = threading.Barrier(8)
    results: list[bytes | None] = []

    def reader() -> None:
        barrier.wait()
        results.append(cache.read("k"))

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b"v"] * 8
    assert inner.reads == 1


def test_write_during_a_load_is_not_overwritten_by_the_stale_value() -> None:
    inner = CountingStorage(delay=0.05)
    inner.inner.write("k", b"old")
    cache = CachedStorage(inner)
    loader = threading.Thread(target=cache.read, args=("k",))
    loader.start()
    time.sleep(0.01)
    cache.write("k", b"new")
    loader.join()
    assert cache.read("k") == b"new"


# -- RetryingStorage -------------------------------------------------------------------------------
def _policy(attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_delay=0.0, max_delay=0.0)


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        OSError(errno.EAGAIN, "try again"),
        OSError(errno.EIO, "I/O error"),
        TimeoutError("slow disk"),
    ],
)
def test_transient_errors_are_retried(error: BaseException) -> None:
    flaky = FlakyStorage(error, failures=2)
    storage = RetryingStorage(flaky, _policy())
    storage.write("k", b"v")
    assert storage.read("k") == b"v"
    assert flaky.calls == 4


@pytest.mark.parametrize(
    "error",
    [
        KeyError("k"),
        InvalidKeyError("../x", "rule"),
        StorageClosedError("closed"),
        OSError(errno.ENOSPC, "disk full"),
        OSError(errno.EACCES, "denied"),
        sqlite3.DatabaseError("file is not a database"),
    ],
)
def test_permanent_errors_are_never_retried_even_if_the_policy_would(error: BaseException) -> None:
    flaky = FlakyStorage(error, failures=1)
    storage = RetryingStorage(flaky, RetryPolicy(attempts=5, base_delay=0.0, retry_on=Exception))
    with pytest.raises(type(error)):
        storage.read("k")
    assert flaky.calls == 1


def test_missing_key_is_a_key_error_without_retry() -> None:
    flaky = FlakyStorage(OSError(errno.EAGAIN, "x"), failures=0)
    storage = RetryingStorage(flaky, _policy())
    with pytest.raises(KeyError):
        storage["missing"]
    assert flaky.calls == 1


def test_retries_stop_after_the_policy_attempts() -> None:
    flaky = FlakyStorage(sqlite3.OperationalError("database is locked"), failures=10)
    storage = RetryingStorage(flaky, _policy(attempts=3))
    with pytest.raises(sqlite3.OperationalError):
        storage.read("k")
    assert flaky.calls == 3


def test_is_transient_classification() -> None:
    assert is_transient(sqlite3.OperationalError("database is busy"))
    assert not is_transient(sqlite3.OperationalError("no such table: x"))
    assert not is_transient(InvalidKeyError("", "empty"))
    assert not is_transient(KeyError("x"))


# -- CircuitBreakerStorage -------------------------------------------------------------------------
def test_breaker_opens_after_backend_failures_and_refuses_without_calling() -> None:
    clock = FakeClock(0.0)
    flaky = FlakyStorage(OSError(errno.EIO, "dead disk"), failures=3)
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10.0, clock=clock)
    storage = CircuitBreakerStorage(flaky, breaker)
    for _ in range(3):
        with pytest.raises(OSError, match="dead disk"):
            storage.read("k")
    with pytest.raises(CircuitOpenError):
        storage.read("k")
    assert flaky.calls == 3
    clock.advance(10.0)
    assert storage.read("k") is None  # the trial call succeeds and closes the circuit
    assert breaker.state == "closed"


def test_caller_errors_do_not_trip_the_breaker() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10.0)
    storage = CircuitBreakerStorage(MemoryStorage(), breaker)
    calls: list[Callable[[], object]] = [
        lambda: storage.read("../x"),
        lambda: storage["missing"],
        lambda: storage.write("k", "text"),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises((InvalidKeyError, KeyError, TypeError)):
            call()
    assert breaker.state == "closed"


def test_wrappers_refuse_something_that_is_not_a_client() -> None:
    with pytest.raises(TypeError, match="wraps a StorageClient"):
        MonitoredStorage({}, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_operation must be callable, not None"):
        MonitoredStorage(MemoryStorage(), None)  # type: ignore[arg-type]


def test_sqlite_busy_from_another_writer_is_waited_out(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    storage = SQLiteStorage(path, busy_timeout=5.0)
    storage.write("k", b"1")
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.2, blocker.execute, args=("COMMIT",))
    timer.start()
    started = time.monotonic()
    storage.write("k", b"2")
    assert time.monotonic() - started >= 0.15
    timer.join()
    blocker.close()
    assert storage.read("k") == b"2"
    storage.close()
