"""What the atomiton.storage wrappers cost on top of the client they wrap.

Groups (ratio = peer / atomiton; here the "peer" is the same client unwrapped, so a ratio of 0.9
means the wrapper adds 10 %):
- "storage: monitored read (sqlite)" / "(memory)": MonitoredStorage with a no-op callback;
  target: at most 2 µs over the unwrapped read (the target_s is the unwrapped time measured
  on this machine when written, plus 2 µs).
- "storage: cached read (sqlite)": CachedStorage hit beside an uncached SQLite read.
- "storage: retrying + breaker read (sqlite)": RetryingStorage(CircuitBreakerStorage(...)) on
  the success path beside the bare read.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from atomiton.platform import CircuitBreaker, RetryPolicy
from atomiton.storage import (
    CachedStorage,
    CircuitBreakerStorage,
    MemoryStorage,
    MonitoredStorage,
    OperationRecord,
    RetryingStorage,
    SQLiteStorage,
    StorageClient,
)

VALUE = b"v" * 100
KEYS = [f"todos/{i}" for i in range(1000)]


def _filled(storage: StorageClient) -> StorageClient:
    storage.write_many(dict.fromkeys(KEYS, VALUE))
    return storage


def _ignore(record: OperationRecord) -> None:
    return None


def _read_all(benchmark: Any, storage: StorageClient) -> None:
    keys = itertools.cycle(KEYS)
    with storage:
        assert benchmark(lambda: storage.read(next(keys))) == VALUE


@pytest.mark.benchmark(group="storage: monitored read (sqlite)")
def test_monitored_sqlite_read_atomiton(benchmark: Any, tmp_path: Path) -> None:
    storage = MonitoredStorage(_filled(SQLiteStorage(tmp_path / "kv.db")), _ignore)
    benchmark.extra_info["impl"] = "atomiton"
    benchmark.extra_info["target_s"] = 9e-6 + 2e-6
    _read_all(benchmark, storage)


@pytest.mark.benchmark(group="storage: monitored read (sqlite)")
def test_monitored_sqlite_read_unwrapped(benchmark: Any, tmp_path: Path) -> None:
    benchmark.extra_info["impl"] = "unwrapped SQLiteStorage"
    _read_all(benchmark, _filled(SQLiteStorage(tmp_path / "kv.db")))


@pytest.mark.benchmark(group="storage: monitored read (memory)")
def test_monitored_memory_read_atomiton(benchmark: Any) -> None:
    storage = MonitoredStorage(_filled(MemoryStorage()), _ignore)
    benchmark.extra_info["impl"] = "atomiton"
    benchmark.extra_info["target_s"] = 0.3e-6 + 2e-6
    _read_all(benchmark, storage)


@pytest.mark.benchmark(group="storage: monitored read (memory)")
def test_monitored_memory_read_unwrapped(benchmark: Any) -> None:
    benchmark.extra_info["impl"] = "unwrapped MemoryStorage"
    _read_all(benchmark, _filled(MemoryStorage()))


@pytest.mark.benchmark(group="storage: cached read (sqlite)")
def test_cached_sqlite_read_atomiton(benchmark: Any, tmp_path: Path) -> None:
    storage = CachedStorage(_filled(SQLiteStorage(tmp_path / "kv.db")), item_limit=2000)
    benchmark.extra_info["impl"] = "atomiton"
    _read_all(benchmark, storage)


@pytest.mark.benchmark(group="storage: cached read (sqlite)")
def test_cached_sqlite_read_unwrapped(benchmark: Any, tmp_path: Path) -> None:
    benchmark.extra_info["impl"] = "uncached SQLiteStorage"
    _read_all(benchmark, _filled(SQLiteStorage(tmp_path / "kv.db")))


@pytest.mark.benchmark(group="storage: retrying + breaker read (sqlite)")
def test_resilient_sqlite_read_atomiton(benchmark: Any, tmp_path: Path) -> None:
    storage = RetryingStorage(
        CircuitBreakerStorage(_filled(SQLiteStorage(tmp_path / "kv.db")), CircuitBreaker()),
        RetryPolicy(attempts=3, base_delay=0.01),
    )
    benchmark.extra_info["impl"] = "atomiton"
    _read_all(benchmark, storage)


@pytest.mark.benchmark(group="storage: retrying + breaker read (sqlite)")
def test_resilient_sqlite_read_unwrapped(benchmark: Any, tmp_path: Path) -> None:
    benchmark.extra_info["impl"] = "unwrapped SQLiteStorage"
    _read_all(benchmark, _filled(SQLiteStorage(tmp_path / "kv.db")))
