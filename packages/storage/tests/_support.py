"""Shared helpers of the storage tests: a controllable clock and every backend/wrapper stack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from atomiton.platform import CircuitBreaker, RetryPolicy
from atomiton.storage import (
    CachedStorage,
    CircuitBreakerStorage,
    FileStorage,
    MemoryStorage,
    MonitoredStorage,
    OperationRecord,
    PostgresStorage,
    RedisStorage,
    RetryingStorage,
    SQLiteStorage,
    StorageClient,
)


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Factory = Callable[[Path, FakeClock], StorageClient]


def _records() -> Callable[[OperationRecord], None]:
    seen: list[OperationRecord] = []
    return seen.append


def _retrying(inner: StorageClient) -> StorageClient:
    return RetryingStorage(inner, RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0))


def _breaker(inner: StorageClient) -> StorageClient:
    return CircuitBreakerStorage(inner, CircuitBreaker(failure_threshold=3, reset_timeout=1.0))


STACKS: dict[str, Factory] = {
    "memory": lambda path, clock: MemoryStorage(clock=clock),
    "sqlite": lambda path, clock: SQLiteStorage(path / "kv.db", clock=clock),
    "sqlite-full": lambda path, clock: SQLiteStorage(
        path / "kv.db", durability="full", clock=clock
    ),
    "file": lambda path, clock: FileStorage(path / "root", fsync=False, clock=clock),
    "file-fsync": lambda path, clock: FileStorage(path / "root", clock=clock),
    "monitored(memory)": lambda path, clock: MonitoredStorage(
        MemoryStorage(clock=clock), _records()
    ),
    "cached(sqlite)": lambda path, clock: CachedStorage(
        SQLiteStorage(path / "kv.db", clock=clock), item_limit=4, clock=clock
    ),
    "cached-bytes-ttl(file)": lambda path, clock: CachedStorage(
        FileStorage(path / "root", fsync=False, clock=clock), byte_limit=64, ttl=5.0, clock=clock
    ),
    "retrying(file)": lambda path, clock: _retrying(
        FileStorage(path / "root", fsync=False, clock=clock)
    ),
    "breaker(sqlite)": lambda path, clock: _breaker(SQLiteStorage(path / "kv.db", clock=clock)),
    "all(sqlite)": lambda path, clock: MonitoredStorage(
        CachedStorage(
            _retrying(_breaker(SQLiteStorage(path / "kv.db", clock=clock))),
            item_limit=8,
            clock=clock,
        ),
        _records(),
    ),
    "all(memory)": lambda path, clock: _breaker(
        _retrying(
            CachedStorage(MonitoredStorage(MemoryStorage(clock=clock), _records()), clock=clock)
        )
    ),
}

# Stacks on a real server: name -> (fixture of the server's URL, fixture of the test's own table
# or prefix, factory(url, namespace, clock)). Their clock is the FakeClock like every stack's.
ServerFactory = Callable[[str, str, FakeClock], StorageClient]
SERVER_STACKS: dict[str, tuple[str, str, ServerFactory]] = {
    "postgres": (
        "postgres_url",
        "pg_table",
        lambda url, table, clock: PostgresStorage(url, table, clock=clock),
    ),
    "redis": (
        "redis_url",
        "redis_prefix",
        lambda url, prefix, clock: RedisStorage(url, prefix, clock=clock),
    ),
    "all(postgres)": (
        "postgres_url",
        "pg_table",
        lambda url, table, clock: MonitoredStorage(
            CachedStorage(
                _retrying(_breaker(PostgresStorage(url, table, clock=clock))),
                item_limit=8,
                clock=clock,
            ),
            _records(),
        ),
    ),
    "all(redis)": (
        "redis_url",
        "redis_prefix",
        lambda url, prefix, clock: MonitoredStorage(
            CachedStorage(
                _retrying(_breaker(RedisStorage(url, prefix, clock=clock))),
                item_limit=8,
                clock=clock,
            ),
            _records(),
        ),
    ),
}
