"""The interfaces the entity client needs from the outside: a storage and a container.

``StorageLike`` is the few storage operations the client calls: every ``atomiton.storage``
client (the default is ``MemoryStorage``) satisfies it structurally, and so can an object of
your own. The event emitter is ``atomiton.platform.EventSink``, declared once for every package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["ContainerLike", "StorageLike"]


@runtime_checkable
class StorageLike(Protocol):
    """A key-value store of bytes: the subset of ``atomiton.storage.StorageClient`` used here.

    Keys are ``/``-separated strings; ``write_many`` must be atomic (all or nothing) for the
    write-strategy guarantees to hold.
    """

    def read(self, key: str, /) -> bytes | None:
        """Return the value stored under ``key``, or None."""
        ...

    def write(self, key: str, data: bytes, /) -> None:
        """Store ``data`` under ``key`` durably before returning."""
        ...

    def delete(self, key: str, /) -> bool:
        """Remove ``key``; return whether it existed."""
        ...

    def list(self, prefix: str = "", /) -> list[str]:
        """Return the keys starting with ``prefix``, sorted."""
        ...

    def read_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        """Return the stored values of those ``keys`` that exist."""
        ...

    def write_many(self, items: Mapping[str, bytes], /) -> None:
        """Store every item atomically: all or nothing."""
        ...

    def delete_many(self, keys: Iterable[str], /) -> int:
        """Remove ``keys``; return how many existed."""
        ...

    def close(self) -> None:
        """Release the storage's resources."""
        ...


class ContainerLike(Protocol):
    """The part of ``atomiton.platform.Container`` that ``provide`` uses."""

    def singleton(self, key: Any, factory: Callable[..., Any] | None = None, /) -> Any:
        """Register a lazily built, shared service under ``key``."""
        ...

    def has(self, key: Any, /) -> bool:
        """Return whether a service is registered under ``key``."""
        ...

    def resolve(self, key: Any, /) -> Any:
        """Build (once, for a singleton) and return the service registered under ``key``."""
        ...
