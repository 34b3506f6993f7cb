"""The public face of atomiton.storage is pinned: adding or removing a name is a decision."""

from __future__ import annotations

import atomiton.storage

EXPECTED = [
    "MAX_KEY_LENGTH",
    "TRANSIENT_ERRNOS",
    "CacheInfo",
    "CachedStorage",
    "CircuitBreakerStorage",
    "Codec",
    "CodecError",
    "Durability",
    "Entry",
    "EventSink",
    "FileStorage",
    "InvalidKeyError",
    "InvalidTTLError",
    "Items",
    "JsonCodec",
    "MemoryStorage",
    "MonitoredStorage",
    "MsgpackCodec",
    "OperationRecord",
    "PostgresStorage",
    "ReadOnlyStorageError",
    "RedisStorage",
    "RetryingStorage",
    "SQLiteStorage",
    "StorageClient",
    "StorageClosedError",
    "StorageError",
    "StorageURLError",
    "StorageWrapper",
    "TypedStorage",
    "UnsafePathError",
    "__version__",
    "is_caller_error",
    "is_transient",
    "is_valid_key",
    "open_storage",
    "provide",
    "report_to_events",
    "validate_key",
]


def test_all_is_pinned() -> None:
    assert atomiton.storage.__all__ == EXPECTED


def test_every_exported_name_exists() -> None:
    for name in EXPECTED:
        assert hasattr(atomiton.storage, name), name


def test_errors_share_one_base() -> None:
    for name in [
        "InvalidKeyError",
        "StorageClosedError",
        "StorageURLError",
        "CodecError",
        "UnsafePathError",
        "InvalidTTLError",
        "ReadOnlyStorageError",
    ]:
        assert issubclass(getattr(atomiton.storage, name), atomiton.storage.StorageError)
    assert issubclass(atomiton.storage.InvalidKeyError, ValueError)
    assert issubclass(atomiton.storage.InvalidTTLError, ValueError)


def test_every_backend_and_wrapper_is_a_mutable_mapping() -> None:
    from collections.abc import MutableMapping

    for name in [
        "MemoryStorage",
        "SQLiteStorage",
        "FileStorage",
        "MonitoredStorage",
        "CachedStorage",
        "RetryingStorage",
        "CircuitBreakerStorage",
    ]:
        cls = getattr(atomiton.storage, name)
        assert issubclass(cls, atomiton.storage.StorageClient)
        assert issubclass(cls, MutableMapping)
