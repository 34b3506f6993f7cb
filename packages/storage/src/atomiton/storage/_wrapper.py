"""StorageWrapper: the base of every wrapper, forwarding each operation to an inner client."""

from __future__ import annotations

from collections.abc import Iterable

from atomiton.storage._client import Entry, Items, KeyList, StorageClient


class StorageWrapper(StorageClient):
    """Forward every operation to ``inner``; subclasses override what they change.

    Args:
        inner: The client being wrapped (a backend or another wrapper).
    """

    def __init__(self, inner: StorageClient) -> None:
        if not isinstance(inner, StorageClient):
            raise TypeError(f"{type(self).__name__} wraps a StorageClient, not {inner!r}")
        self.inner = inner

    def read(self, key: str) -> bytes | None:
        """Forward ``read``."""
        return self.inner.read(key)

    def read_entry(self, key: str) -> Entry | None:
        """Forward ``read_entry``."""
        return self.inner.read_entry(key)

    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Forward ``write``."""
        self.inner.write(key, data, ttl=ttl)

    def delete(self, key: str) -> bool:
        """Forward ``delete``."""
        return self.inner.delete(key)

    def exists(self, key: str) -> bool:
        """Forward ``exists``."""
        return self.inner.exists(key)

    def list(self, prefix: str = "") -> KeyList:
        """Forward ``list``."""
        return self.inner.list(prefix)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Forward ``read_many``."""
        return self.inner.read_many(keys)

    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Forward ``write_many``."""
        self.inner.write_many(items, ttl=ttl)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Forward ``delete_many``."""
        return self.inner.delete_many(keys)

    def size(self, key: str) -> int | None:
        """Forward ``size``."""
        return self.inner.size(key)

    def total_size(self) -> int:
        """Forward ``total_size``."""
        return self.inner.total_size()

    def clear(self) -> None:
        """Forward ``clear``."""
        self.inner.clear()

    def purge_expired(self) -> int:
        """Forward ``purge_expired``."""
        return self.inner.purge_expired()

    def close(self) -> None:
        """Close the inner client."""
        self.inner.close()

    @property
    def closed(self) -> bool:
        """Whether the inner client is closed."""
        return self.inner.closed

    def __len__(self) -> int:
        return len(self.inner)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.inner!r}>"
