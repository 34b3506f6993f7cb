"""The private channel devtools use to look inside an entity client (not part of the public API).

``channel(client)`` returns a view over the client's handle table: store names, counts, recent
entities and ``observe(callback) -> remover``. It costs nothing until used: recent entities are
computed on demand from ``updated_at``, and an observer list that is empty is never walked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atomiton.store._entities.client import EntityClient
from atomiton.store._entities.handle import StoreChange, StoreHandle

__all__ = ["DevtoolsChannel", "RecentEntity", "StoreChange", "channel"]


@dataclass(frozen=True, slots=True)
class RecentEntity:
    """One recently written entity: its store and a copy of it."""

    store: str
    entity: dict[str, Any]


class DevtoolsChannel:
    """Read-only access to one client's stores, for atomiton.devtools."""

    __slots__ = ("_client",)

    def __init__(self, client: EntityClient) -> None:
        self._client = client

    @property
    def client_id(self) -> str:
        """The observed client's id."""
        return self._client.id

    def stores(self) -> list[str]:
        """Names of the stores the client has opened, sorted."""
        return self._client._store_names()

    def counts(self, include_deleted: bool = False) -> dict[str, int]:
        """Entities per opened store."""
        with self._client._lock:
            return {
                h.name: h.count(include_deleted)
                for h in sorted(self._client._handles.values(), key=lambda h: h.name)
            }

    def handle(self, store: str) -> StoreHandle | None:
        """The runtime handle of one opened store (entities, indexes, listeners), or None."""
        return self._client._handles.get(self._client._key(store))

    def recent(self, limit: int = 20) -> list[RecentEntity]:
        """The ``limit`` most recently written entities across stores, newest first."""
        with self._client._lock:
            rows = [
                (e.get("updated_at") or 0.0, h.name, e)
                for h in self._client._handles.values()
                for e in h.entities.values()
            ]
        rows.sort(key=lambda row: row[0], reverse=True)
        return [RecentEntity(name, dict(entity)) for _t, name, entity in rows[:limit]]

    def pending_writes(self) -> int:
        """Queued writes not yet flushed."""
        return self._client.pending_writes

    def observe(self, callback: Callable[[StoreChange], None]) -> Callable[[], None]:
        """Call ``callback(StoreChange)`` after every committed write; return a remover."""
        return self._client._observe(callback)


def channel(client: EntityClient) -> DevtoolsChannel:
    """Return the devtools channel of ``client``."""
    if not isinstance(client, EntityClient):
        raise TypeError(f"channel() takes an EntityClient, got {type(client).__name__}")
    return DevtoolsChannel(client)
