"""``EntityChange``: one entity's change within a write, as strategies and subscribers see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["EntityChange"]


@dataclass(frozen=True, slots=True)
class EntityChange:
    """One entity's change within a write.

    Attributes:
        store: the store's name.
        id: the entity id.
        operation: the user operation (``add``, ``update``, ``upsert``, ``delete``, ``undo``...).
        before: the entity before the write (None: it did not exist).
        after: the entity after the write (None: it was removed for good).
        key: the entity's storage key.
        data: ``after`` encoded as JSON bytes (None when removed).
    """

    store: str
    id: str
    operation: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    key: str
    data: bytes | None
