"""atomiton.storage: one key-value interface, memory / SQLite / file backends, and wrappers.

See the package README for the whole public API, the durability table and examples.

Importing the package loads only this module: each public name comes from its private module on
first access (PEP 562 ``__getattr__``), so ``import atomiton.storage`` stays under its 10 ms budget
(issue 19).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.storage._cached import CachedStorage as CachedStorage
    from atomiton.storage._cached import CacheInfo as CacheInfo
    from atomiton.storage._client import Entry as Entry
    from atomiton.storage._client import Items as Items
    from atomiton.storage._client import StorageClient as StorageClient
    from atomiton.storage._errors import CodecError as CodecError
    from atomiton.storage._errors import InvalidKeyError as InvalidKeyError
    from atomiton.storage._errors import InvalidTTLError as InvalidTTLError
    from atomiton.storage._errors import ReadOnlyStorageError as ReadOnlyStorageError
    from atomiton.storage._errors import StorageClosedError as StorageClosedError
    from atomiton.storage._errors import StorageError as StorageError
    from atomiton.storage._errors import StorageURLError as StorageURLError
    from atomiton.storage._errors import UnsafePathError as UnsafePathError
    from atomiton.storage._file import FileStorage as FileStorage
    from atomiton.storage._keys import MAX_KEY_LENGTH as MAX_KEY_LENGTH
    from atomiton.storage._keys import is_valid_key as is_valid_key
    from atomiton.storage._keys import validate_key as validate_key
    from atomiton.storage._memory import MemoryStorage as MemoryStorage
    from atomiton.storage._monitored import EventSink as EventSink
    from atomiton.storage._monitored import MonitoredStorage as MonitoredStorage
    from atomiton.storage._monitored import OperationRecord as OperationRecord
    from atomiton.storage._monitored import report_to_events as report_to_events
    from atomiton.storage._postgres import PostgresStorage as PostgresStorage
    from atomiton.storage._provider import provide as provide
    from atomiton.storage._redis import RedisStorage as RedisStorage
    from atomiton.storage._resilient import TRANSIENT_ERRNOS as TRANSIENT_ERRNOS
    from atomiton.storage._resilient import CircuitBreakerStorage as CircuitBreakerStorage
    from atomiton.storage._resilient import RetryingStorage as RetryingStorage
    from atomiton.storage._resilient import is_caller_error as is_caller_error
    from atomiton.storage._resilient import is_transient as is_transient
    from atomiton.storage._sqlite import Durability as Durability
    from atomiton.storage._sqlite import SQLiteStorage as SQLiteStorage
    from atomiton.storage._typed import Codec as Codec
    from atomiton.storage._typed import JsonCodec as JsonCodec
    from atomiton.storage._typed import MsgpackCodec as MsgpackCodec
    from atomiton.storage._typed import TypedStorage as TypedStorage
    from atomiton.storage._url import open_storage as open_storage
    from atomiton.storage._version import __version__ as __version__
    from atomiton.storage._wrapper import StorageWrapper as StorageWrapper

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

# Public name -> private module that defines it.
_HOME = {
    "CacheInfo": "_cached",
    "CachedStorage": "_cached",
    "CircuitBreakerStorage": "_resilient",
    "Codec": "_typed",
    "CodecError": "_errors",
    "Durability": "_sqlite",
    "Entry": "_client",
    "EventSink": "_monitored",
    "FileStorage": "_file",
    "InvalidKeyError": "_errors",
    "InvalidTTLError": "_errors",
    "Items": "_client",
    "JsonCodec": "_typed",
    "MAX_KEY_LENGTH": "_keys",
    "MemoryStorage": "_memory",
    "MonitoredStorage": "_monitored",
    "MsgpackCodec": "_typed",
    "OperationRecord": "_monitored",
    "PostgresStorage": "_postgres",
    "ReadOnlyStorageError": "_errors",
    "RedisStorage": "_redis",
    "RetryingStorage": "_resilient",
    "SQLiteStorage": "_sqlite",
    "StorageClient": "_client",
    "StorageClosedError": "_errors",
    "StorageError": "_errors",
    "StorageURLError": "_errors",
    "StorageWrapper": "_wrapper",
    "TRANSIENT_ERRNOS": "_resilient",
    "TypedStorage": "_typed",
    "UnsafePathError": "_errors",
    "__version__": "_version",
    "is_caller_error": "_resilient",
    "is_transient": "_resilient",
    "is_valid_key": "_keys",
    "open_storage": "_url",
    "provide": "_provider",
    "report_to_events": "_monitored",
    "validate_key": "_keys",
}


# Hidden from type checkers so a misspelt name is still a type error for users.
if not TYPE_CHECKING:
    from atomiton.platform import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
