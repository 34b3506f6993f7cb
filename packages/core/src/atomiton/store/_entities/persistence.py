"""Moving entity changes to storage: directly, or through the durable outbox.

Storage layout (``prefix`` defaults to ``atomiton/store``)::

    <prefix>/entities/<store>/<id>   one JSON entity
    <prefix>/outbox/<sortable id>    one JSON record: [[entity key, entity or null], ...]

A direct write first drains the outbox, so storage always equals the writes applied in order.
``coalesce`` turns a batch's changes into one change per entity.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from atomiton.store._entities.changes import EntityChange
from atomiton.store._entities.codec import decode_entity, encode_entity
from atomiton.store._entities.ids import new_id
from atomiton.store._entities.protocols import StorageLike

__all__ = ["Persistence", "coalesce"]


class Persistence:
    """Moves entity changes to storage: directly, or through the durable outbox."""

    def __init__(self, storage: StorageLike, prefix: str) -> None:
        self.storage = storage
        self.prefix = prefix.rstrip("/")
        self.entities_prefix = f"{self.prefix}/entities/"
        self.outbox_prefix = f"{self.prefix}/outbox/"
        self.lock = threading.RLock()
        # Outbox records not yet flushed, oldest first: (outbox key, {entity key: bytes | None}).
        self.pending: list[tuple[str, dict[str, bytes | None]]] = []
        # Told the entity keys each flush wrote, under the lock (the sync queues an event).
        self.on_flush: Callable[[list[str]], None] | None = None

    def entity_key(self, store: str, entity_id: str) -> str:
        """Return the storage key of one entity."""
        return f"{self.entities_prefix}{store}/{entity_id}"

    def persist(self, changes: Sequence[EntityChange], touched: set[str] | None = None) -> None:
        """Write ``changes`` to their entity keys (after draining the outbox).

        ``touched`` receives every entity key this call may have changed, even when it raises
        (``write_many`` is all or nothing; a failing ``delete_many`` may have removed some keys).
        """
        with self.lock:
            if self.pending:
                self.flush()  # the outbox holds writes memory already has: no undo needed
            self._write({c.key: c.data for c in changes}, touched)

    def _write(self, final: dict[str, bytes | None], touched: set[str] | None = None) -> None:
        writes = {k: v for k, v in final.items() if v is not None}
        removals = [k for k, v in final.items() if v is None]
        if writes:
            self.storage.write_many(writes)
            if touched is not None:
                touched.update(writes)
        if removals:
            if touched is not None:
                touched.update(removals)
            self.storage.delete_many(removals)

    def enqueue(self, changes: Sequence[EntityChange]) -> str:
        """Append ``changes`` to the outbox as one durable record; return the record's key."""
        record = [[c.key, None if c.after is None else c.after] for c in changes]
        key = f"{self.outbox_prefix}{new_id()}"
        data = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        with self.lock:
            self.storage.write(key, data)
            self.pending.append((key, {c.key: c.data for c in changes}))
        return key

    def undo(
        self, changes: Sequence[EntityChange], touched: set[str], outbox: Sequence[str]
    ) -> None:
        """Put storage back to the changes' ``before`` state where a failed write reached it.

        ``touched`` are entity keys the write may have changed; ``outbox`` the records it
        appended. A record still pending is dropped and deleted; one the flusher already moved
        to the entity keys has its keys restored like ``touched``. Raises what storage raises.
        """
        with self.lock:
            restore = set(touched)
            if outbox:
                mine = set(outbox)
                kept = [record for record in self.pending if record[0] not in mine]
                flushed = mine - {record[0] for record in self.pending}
                if flushed:
                    restore.update(c.key for c in changes)
                self.pending[:] = kept
                self.storage.delete_many(sorted(mine))
            if restore:
                self._write(
                    {
                        c.key: None if c.before is None else encode_entity(c.before, store=c.store)
                        for c in changes
                        if c.key in restore
                    }
                )

    def flush(self) -> int:
        """Move every pending outbox record to the entity keys; return how many were moved.

        Idempotent if interrupted: the entity writes happen before the outbox records are
        removed, and replaying a record writes the same values again.
        """
        with self.lock:
            if not self.pending:
                return 0
            records = list(self.pending)
            merged: dict[str, bytes | None] = {}
            for _key, items in records:
                merged.update(items)
            self._write(merged)
            self.storage.delete_many([key for key, _items in records])
            del self.pending[: len(records)]
            if self.on_flush is not None:
                self.on_flush(list(merged))
            return len(records)

    def load_outbox(self) -> None:
        """Adopt the outbox records a previous client left in storage (crashed, never flushed)."""
        keys = self.storage.list(self.outbox_prefix)
        if not keys:
            return
        stored = self.storage.read_many(keys)
        adopted: list[tuple[str, dict[str, bytes | None]]] = []
        for key in keys:
            raw = stored.get(key)
            if raw is None:
                continue
            items: dict[str, bytes | None] = {}
            for entity_key, entity in json.loads(raw):
                items[entity_key] = (
                    None
                    if entity is None
                    else json.dumps(entity, separators=(",", ":"), ensure_ascii=False).encode()
                )
            adopted.append((key, items))
        with self.lock:
            known = {key for key, _items in self.pending}
            self.pending[:0] = [r for r in adopted if r[0] not in known]

    def load_store(self, store: str) -> dict[str, dict[str, Any]]:
        """Return the persisted entities of ``store`` with pending outbox records applied."""
        prefix = f"{self.entities_prefix}{store}/"
        # Under the lock: a flush between reading the entity keys and reading the outbox would
        # otherwise hide records that moved from one to the other.
        with self.lock:
            keys = self.storage.list(prefix)
            stored = self.storage.read_many(keys) if keys else {}
            overlay = [items for _key, items in self.pending]
        entities: dict[str, dict[str, Any]] = {}
        for key in keys:
            raw = stored.get(key)
            if raw is not None:
                entities[key[len(prefix) :]] = decode_entity(raw)
        for items in overlay:
            for key, raw in items.items():
                if not key.startswith(prefix):
                    continue
                entity_id = key[len(prefix) :]
                if raw is None:
                    entities.pop(entity_id, None)
                else:
                    entities[entity_id] = decode_entity(raw)
        return entities

    def pending_keys(self) -> set[str]:
        """The entity keys that have an unflushed outbox record."""
        with self.lock:
            return {key for _record, items in self.pending for key in items}

    def read_current(self, keys: list[str]) -> dict[str, bytes | None]:
        """What ``keys`` hold now, from one snapshot: storage, pending outbox records laid over.

        Absent keys are missing from the result or map to None (a pending delete).
        """
        wanted = set(keys)
        with self.lock:
            current: dict[str, bytes | None] = dict(self.storage.read_many(keys))
            for _record, items in self.pending:
                current.update((key, raw) for key, raw in items.items() if key in wanted)
        return current

    def stored_store_names(self) -> list[str]:
        """Return the names of the stores with entities in storage or in the outbox."""
        names = {
            k[len(self.entities_prefix) :].split("/", 1)[0]
            for k in self.storage.list(self.entities_prefix)
        }
        with self.lock:
            for _key, items in self.pending:
                names.update(k[len(self.entities_prefix) :].split("/", 1)[0] for k in items)
        return sorted(names)


def coalesce(order: Sequence[tuple[str, EntityChange]]) -> dict[str, list[EntityChange]]:
    """Group a batch's changes by strategy, one change per entity.

    Each entity gets one change from its state before the batch to its final state, assigned to
    the strategy of its last write, in the order of those last writes. An entity added and then
    removed inside the batch needs no persistence and is left out.
    """
    first: dict[tuple[str, str], EntityChange] = {}
    last: dict[tuple[str, str], tuple[str, EntityChange]] = {}
    for strategy, change in order:
        key = (change.store, change.id)
        first.setdefault(key, change)
        last.pop(key, None)  # re-insert: dict order becomes the order of last writes
        last[key] = (strategy, change)
    groups: dict[str, list[EntityChange]] = {}
    for key, (strategy, change) in last.items():
        before = first[key].before
        if before is None and change.after is None:
            continue
        if first[key] is not change:
            change = replace(change, before=before)
        groups.setdefault(strategy, []).append(change)
    return groups
