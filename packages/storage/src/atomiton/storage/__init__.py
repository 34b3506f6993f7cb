"""atomiton.storage: one key-value interface, memory / SQLite / file backends, and wrappers.

See the package README for the whole public API, the durability table and examples.
"""

from atomiton.storage._cached import CachedStorage, CacheInfo
from atomiton.storage._client import Entry, Items, StorageClient
from atomiton.storage._errors import (
    CodecError,
    InvalidKeyError,
    InvalidTTLError,
    ReadOnlyStorageError,
    StorageClosedError,
    StorageError,
    StorageURLError,
    UnsafePathError,
)
from atomiton.storage._file import FileStorage
from atomiton.storage._keys import MAX_KEY_LENGTH, is_valid_key, validate_key
from atomiton.storage._memory import MemoryStorage
from atomiton.storage._monitored import (
    EventEmitter,
    MonitoredStorage,
    OperationRecord,
    report_to_events,
)
from atomiton.storage._postgres import PostgresStorage
from atomiton.storage._provider import provide
from atomiton.storage._redis import RedisStorage
from atomiton.storage._resilient import (
    TRANSIENT_ERRNOS,
    CircuitBreakerStorage,
    RetryingStorage,
    is_caller_error,
    is_transient,
)
from atomiton.storage._sqlite import Durability, SQLiteStorage
from atomiton.storage._typed import Codec, JsonCodec, MsgpackCodec, TypedStorage
from atomiton.storage._url import open_storage
from atomiton.storage._version import __version__
from atomiton.storage._wrapper import StorageWrapper

__all__ = [
    "MAX_KEY_LENGTH",
    "TRANSIENT_ERRNOS",
    "CacheInfo",
    "CachedStorage",
    "CircuitBreakerStorage",
    "Codec",
    "CodecError",
    "Durability",
    "Entry",
    "EventEmitter",
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
