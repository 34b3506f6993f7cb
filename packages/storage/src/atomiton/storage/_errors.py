"""The atomiton error hierarchy of this package: every error it raises derives from StorageError.

::

    StorageError
    ├── InvalidKeyError        (also ValueError)  a key breaks a key rule (names key and rule)
    ├── StorageClosedError                        the client was used after close()
    ├── StorageURLError        (also ValueError)  open_storage() got a URL it cannot open
    ├── CodecError             (also ValueError)  TypedStorage could not encode or decode a value
    ├── InvalidTTLError        (also ValueError)  a ttl is not a positive finite number of seconds
    ├── ReadOnlyStorageError                      a write was asked of a storage opened read-only
    └── UnsafePathError                           FileStorage met a symlink or foreign entry it
                                                  refuses to follow (it never leaves its root)

A missing key raises the built-in ``KeyError`` from the mapping protocol (``s[key]``,
``del s[key]``); ``read`` and ``delete`` report it by value instead (``None`` / ``False``).
A value that is not bytes raises the built-in ``TypeError``.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by atomiton.storage."""


class InvalidKeyError(StorageError, ValueError):
    """A key breaks one of the key rules; the message names the key and the rule.

    Attributes:
        key: The rejected key (any object: a non-str key is rejected too).
        rule: The rule it breaks, in words.
    """

    def __init__(self, key: object, rule: str) -> None:
        self.key = key
        self.rule = rule
        super().__init__(f"invalid storage key {key!r}: {rule}")


class StorageClosedError(StorageError):
    """The storage client was used after ``close()``."""


class StorageURLError(StorageError, ValueError):
    """``open_storage`` was given a URL it cannot open (unknown scheme or bad form)."""


class CodecError(StorageError, ValueError):
    """A ``TypedStorage`` codec could not encode or decode a value."""


class InvalidTTLError(StorageError, ValueError):
    """A ``ttl`` is not a positive finite number of seconds; the message names it.

    Attributes:
        ttl: The rejected value.
    """

    def __init__(self, ttl: object) -> None:
        self.ttl = ttl
        super().__init__(f"ttl must be a positive finite number of seconds, not {ttl!r}")


class ReadOnlyStorageError(StorageError):
    """A write (``write``, ``delete``, ``clear``, ...) was asked of a storage opened read-only.

    The message names the storage and the refused operation; nothing was changed.
    """


class UnsafePathError(StorageError):
    """``FileStorage`` refused to follow a symlink or non-directory planted inside its root."""
