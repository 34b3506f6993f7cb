"""The StorageClient interface: a MutableMapping[str, bytes] plus batch, size and TTL operations.

Backends implement the abstract methods; the mapping protocol (``s[k]``, ``del s[k]``, ``in``,
``iter`` in sorted order, ``len``) and the context-manager protocol come from here.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from types import TracebackType
from typing import Self, TypeAlias

from atomiton.storage._errors import InvalidTTLError, ReadOnlyStorageError, StorageClosedError
from atomiton.storage._keys import validate_keys

#: What ``read_many`` returns and ``write_many`` accepts.
Items: TypeAlias = Mapping[str, bytes] | Iterable[tuple[str, bytes]]
#: A sorted list of keys (an alias so the ``list`` method does not shadow the builtin in hints).
KeyList: TypeAlias = list[str]
#: A value and its absolute expiry time (``clock()`` seconds), or ``None`` without a TTL.
Entry: TypeAlias = tuple[bytes, float | None]


class StorageClient(MutableMapping[str, bytes]):
    """One key-value interface for every backend and wrapper.

    Keys follow the key rules (see ``validate_key``); values are bytes. ``read`` returns
    ``None`` for a missing key, the mapping protocol raises ``KeyError``. A key written with a
    ``ttl`` behaves as absent everywhere once ``ttl`` seconds have passed.
    """

    __slots__ = ()

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """Return the value stored at ``key``, or ``None`` when absent or expired."""

    @abstractmethod
    def read_entry(self, key: str) -> Entry | None:
        """Return ``(value, expires_at)`` for ``key`` (``expires_at`` is ``None`` without TTL).

        ``expires_at`` is in the backend's clock (``time.time()`` seconds by default). Caches use
        it so that nothing they hold outlives the stored key.
        """

    @abstractmethod
    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Store ``data`` at ``key``, replacing any value; ``ttl`` seconds make it expire.

        Raises:
            InvalidKeyError: The key breaks a key rule.
            TypeError: ``data`` is not bytes-like.
            InvalidTTLError: ``ttl`` is not a positive finite number (a ``ValueError``).
            ReadOnlyStorageError: The storage was opened read-only.
        """

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it was present (an expired key counts as absent)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Return whether ``key`` holds a live value."""

    @abstractmethod
    def list(self, prefix: str = "") -> KeyList:
        """Return the live keys starting with ``prefix``, sorted."""

    @abstractmethod
    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Return the present keys among ``keys`` with their values (missing ones are left out)."""

    @abstractmethod
    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Store every pair atomically: all of them or, on any error, none of them.

        Every key and value is checked before anything is written.
        """

    @abstractmethod
    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key in ``keys`` atomically; return how many were present."""

    @abstractmethod
    def size(self, key: str) -> int | None:
        """Return the value's length in bytes, or ``None`` when absent."""

    @abstractmethod
    def total_size(self) -> int:
        """Return the summed length in bytes of every live value."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every key."""

    @abstractmethod
    def purge_expired(self) -> int:
        """Physically remove the keys whose TTL has passed; return how many.

        Expired keys are already invisible to every operation; this reclaims their space.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the client's resources; later calls raise ``StorageClosedError``.

        Closing twice is allowed and does nothing.
        """

    @property
    @abstractmethod
    def closed(self) -> bool:
        """Whether ``close()`` was called."""

    @abstractmethod
    def __len__(self) -> int:
        """Return the number of live keys."""

    # The mapping protocol, in terms of the operations above.
    def __getitem__(self, key: str) -> bytes:
        value = self.read(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: bytes) -> None:
        self.write(key, value)

    def __delitem__(self, key: str) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __contains__(self, key: object) -> bool:
        return self.exists(key)  # type: ignore[arg-type]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<{type(self).__name__}{state}>"


def check_value(data: object) -> bytes:
    """Return ``data`` as immutable ``bytes`` (copying a bytearray or memoryview).

    Raises:
        TypeError: ``data`` is not bytes-like.
    """
    if data.__class__ is bytes:
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(
        f"storage values must be bytes, not {type(data).__name__} (encode it first, or use "
        "TypedStorage to store objects)"
    )


def check_ttl(ttl: object) -> float:
    """Return ``ttl`` as seconds if it is a positive finite number.

    Raises:
        InvalidTTLError: ``ttl`` is not a positive finite number of seconds (a ``ValueError``;
            an int too large for a float, such as ``10**400``, included).
    """
    if isinstance(ttl, int | float) and not isinstance(ttl, bool):
        try:
            seconds = float(ttl)
        except OverflowError:
            raise InvalidTTLError(ttl) from None
        if seconds > 0 and math.isfinite(seconds):
            return seconds
    raise InvalidTTLError(ttl)


def closed_error(client: object) -> StorageClosedError:
    """Build the error raised when ``client`` is used after ``close()``."""
    return StorageClosedError(f"{type(client).__name__} is closed; open a new one to continue")


def read_only_error(client: object, operation: str) -> ReadOnlyStorageError:
    """Build the error raised when ``operation`` would change a storage opened read-only."""
    return ReadOnlyStorageError(
        f"{client!r} was opened read-only (readonly=True or ?mode=ro): {operation} refused, "
        "nothing changed; open it without readonly to write"
    )


def checked_batch(items: Items) -> dict[str, bytes]:
    """Return ``items`` as a dict after checking every key and value (the last of a key wins).

    Raises:
        InvalidKeyError: A key breaks a rule.
        TypeError: A value is not bytes-like.
    """
    batch = items if items.__class__ is dict else dict(pairs(items))
    validate_keys(list(batch))
    for value in batch.values():
        if value.__class__ is not bytes:
            return {key: _checked_item_value(key, value) for key, value in batch.items()}
    return batch


def _checked_item_value(key: str, value: object) -> bytes:
    try:
        return check_value(value)
    except TypeError as exc:
        raise TypeError(f"the value of key {key!r}: {exc}") from None


def pairs(items: Items) -> Iterable[tuple[str, bytes]]:
    """Iterate ``items`` as (key, value) pairs whether it is a mapping or an iterable of pairs."""
    if isinstance(items, Mapping):
        return items.items()
    return items
