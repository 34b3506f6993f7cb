"""A store's runtime state inside the client: entities, indexes, schema, listeners.

There is one ``StoreHandle`` per store name in the client's handle table (keyed
``"<client_id>:<store_name>"``). The public ``EntityStore`` facades hold no state; every call
looks its handle up. Planning a write (``plan_*``) computes the changes from the current state
without touching it; ``apply`` then commits them to memory and to the indexes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from atomiton.store._entities.changes import EntityChange
from atomiton.store._entities.codec import decode_entity, encode_entity
from atomiton.store._entities.ids import new_id, validate_entity_id
from atomiton.store._entities.indexes import FieldIndex, plan_candidates
from atomiton.store._entities.query import (
    Page,
    QueryPlan,
    compile_where,
    normalise_order_by,
    sort_entities,
)
from atomiton.store._entities.schema import META_FIELDS, SchemaValidator
from atomiton.store._errors import (
    DuplicateEntityError,
    EntityNotFoundError,
    EntityStoreError,
    QueryError,
)

__all__ = ["StoreChange", "StoreHandle", "Updater"]

_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})

Updater = Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class StoreChange:
    """What ``subscribe`` listeners (and devtools observers) receive after a committed write.

    Attributes:
        store: the store's name.
        operation: ``add``, ``update``, ``upsert``, ``delete``, ``undo`` or ``redo``; for a
            change another process made (``create_client(sync=...)``): ``remote``, or
            ``reconcile`` when found by a reconciliation against storage.
        ids: the ids the write touched, in order.
        remote: True when another process made the change (applied from storage, not written).
        strategy: the write strategy this write used (``direct``, ``queue`` or a registered
            one; per call when ``write_strategy=`` chose it); None for a remote change.
        changes: for a write made by this client, each written entity's ``EntityChange``
            (``before`` and ``after``; in a batch, from before the batch to its end), in the
            order of ``ids``; empty for a remote change. Read-only: the dicts are the client's.
    """

    store: str
    operation: str
    ids: tuple[str, ...]
    remote: bool = False
    strategy: str | None = None
    changes: tuple[EntityChange, ...] = ()


class StoreHandle:
    """The state of one entity store (see the module docstring)."""

    def __init__(self, name: str, key_of: Callable[[str, str], str]) -> None:
        self.name = name
        self._key_of = key_of
        self.entities: dict[str, dict[str, Any]] = {}
        self.order: dict[str, int] = {}
        self._counter = 0
        self.indexes: dict[str, FieldIndex] = {}
        self.validator: SchemaValidator | None = None
        self.write_strategy: str | None = None
        self.listeners: list[Callable[[StoreChange], None]] = []
        # The ids changed since the live queries last looked (a set only while it has any).
        self.watched: set[str] | None = None

    # -- configuration --------------------------------------------------------------------

    def set_indexes(self, fields: Iterable[str]) -> None:
        """Index exactly ``fields``, building new indexes from the current entities."""
        wanted = list(dict.fromkeys(fields))
        for name in wanted:
            if not isinstance(name, str) or not name:
                raise EntityStoreError(
                    f"store {self.name!r}: index names are field names, got {name!r}"
                )
        indexes: dict[str, FieldIndex] = {}
        for name in wanted:
            index = self.indexes.get(name)
            if index is None:
                index = FieldIndex(name)
                for entity_id, entity in self.entities.items():
                    index.add(entity_id, entity.get(name))
            indexes[name] = index
        self.indexes = indexes

    # -- reading --------------------------------------------------------------------------

    def load(self, entities: Mapping[str, dict[str, Any]]) -> None:
        """Hydrate from storage (before any write)."""
        for entity_id in sorted(entities):
            self._put(entity_id, entities[entity_id])

    def get(self, entity_id: str, include_deleted: bool) -> dict[str, Any] | None:
        entity = self.entities.get(entity_id)
        if entity is None or (entity.get("deleted") and not include_deleted):
            return None
        return dict(entity)

    def count(self, include_deleted: bool = False) -> int:
        if include_deleted:
            return len(self.entities)
        return sum(1 for e in self.entities.values() if not e.get("deleted"))

    def find(
        self,
        where: Mapping[str, Any] | None,
        order_by: Any,
        limit: int | None,
        offset: int,
        include_deleted: bool,
        explain: bool,
    ) -> Page:
        predicate = compile_where(where)
        order = normalise_order_by(order_by)
        # bool is an int subclass: limit=True would silently mean 1.
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or limit < 0
        ):
            raise QueryError(f"limit must be a non-negative int or None, got {limit!r}")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise QueryError(f"offset must be a non-negative int, got {offset!r}")
        candidates: set[str] | None = None
        used: list[str] = []
        if where and self.indexes:
            candidates, used = plan_candidates(where, self.indexes)
        if candidates is None:
            source: Iterable[dict[str, Any]] = self.entities.values()
            tested = len(self.entities)
        else:
            position = self.order
            entities = self.entities
            source = [entities[i] for i in sorted(candidates, key=position.__getitem__)]
            tested = len(candidates)
        if include_deleted:
            matched = [e for e in source if predicate is None or predicate(e)]
        elif predicate is None:
            matched = [e for e in source if not e.get("deleted")]
        else:
            matched = [e for e in source if not e.get("deleted") and predicate(e)]
        if order:
            matched = sort_entities(matched, order)
        end = None if limit is None else offset + limit
        plan = None
        if explain:
            plan = QueryPlan(
                strategy="scan" if candidates is None else "index",
                indexes=tuple(used),
                candidates=tested,
                matched=len(matched),
                detail=(
                    f"full scan of {tested} entities"
                    if candidates is None
                    else f"index on {', '.join(used)} narrowed to {tested} candidates"
                ),
            )
        return Page(
            data=[dict(e) for e in matched[offset:end]],
            total=len(matched),
            offset=offset,
            limit=limit,
            plan=plan,
        )

    # -- planning writes ------------------------------------------------------------------

    def _finish(
        self, entity: dict[str, Any], operation: str, before: dict[str, Any] | None
    ) -> EntityChange:
        if self.validator is not None:
            entity = self.validator(entity)
        data = encode_entity(entity, store=self.name)
        # Memory holds exactly what a new client would hydrate (and never the caller's objects):
        # a flat entity of JSON scalars is that already; anything nested is decoded back.
        scalars = _JSON_SCALARS
        if all(type(k) is str and type(v) in scalars for k, v in entity.items()):
            after = dict(entity)
        else:
            after = decode_entity(data)
        key = self._key_of(self.name, after["id"])
        return EntityChange(self.name, after["id"], operation, before, after, key, data)

    @staticmethod
    def _user_fields(item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in META_FIELDS}

    def _new_entity(self, item: Mapping[str, Any], entity_id: str, now: float) -> dict[str, Any]:
        entity = self._user_fields(item)
        entity.update(
            id=entity_id, created_at=now, updated_at=now, version=1, deleted=False, deleted_at=None
        )
        return entity

    def _revise(
        self, current: dict[str, Any], fields: Mapping[str, Any], now: float, replace: bool = False
    ) -> dict[str, Any]:
        # merge: fields update the current entity; replace: fields become its user fields.
        base = {k: v for k, v in current.items() if k in META_FIELDS} if replace else current
        entity = {**base, **self._user_fields(fields)}
        entity.update(
            id=current["id"],
            created_at=current.get("created_at", now),
            updated_at=now,
            version=int(current.get("version", 0)) + 1,
        )
        return entity

    def _as_mapping(self, item: object, what: str) -> Mapping[str, Any]:
        if not isinstance(item, Mapping):
            raise EntityStoreError(
                f"store {self.name!r}: {what} takes dicts, got {type(item).__name__} {item!r}"
            )
        return item

    def plan_add(
        self, items: Iterable[Mapping[str, Any]], operation: str = "add"
    ) -> list[EntityChange]:
        now = time.time()
        changes: list[EntityChange] = []
        seen: set[str] = set()
        for item in items:
            item = self._as_mapping(item, "add")
            given = item.get("id")
            entity_id = new_id() if given is None else validate_entity_id(given, store=self.name)
            if entity_id in self.entities or entity_id in seen:
                raise DuplicateEntityError(f"store {self.name!r} already holds id {entity_id!r}")
            seen.add(entity_id)
            changes.append(self._finish(self._new_entity(item, entity_id, now), operation, None))
        return changes

    def plan_update(self, updates: Iterable[tuple[Any, Updater]]) -> list[EntityChange]:
        now = time.time()
        overlay: dict[str, dict[str, Any]] = {}
        changes: list[EntityChange] = []
        for raw_id, updater in updates:
            entity_id = validate_entity_id(raw_id, store=self.name)
            current = overlay.get(entity_id) or self.entities.get(entity_id)
            if current is None or current.get("deleted"):
                raise EntityNotFoundError(f"store {self.name!r} has no entity {entity_id!r}")
            replace = callable(updater)
            if callable(updater):
                fields = updater(dict(current))
                fields = self._as_mapping(fields, "an update function's result")
            else:
                fields = self._as_mapping(updater, "update")
            entity = self._revise(current, fields, now, replace=replace)
            change = self._finish(entity, "update", current)
            assert change.after is not None
            overlay[entity_id] = change.after
            changes.append(change)
        return changes

    def plan_upsert(self, items: Iterable[Mapping[str, Any]]) -> list[EntityChange]:
        now = time.time()
        overlay: dict[str, dict[str, Any]] = {}
        changes: list[EntityChange] = []
        for item in items:
            item = self._as_mapping(item, "upsert")
            given = item.get("id")
            entity_id = new_id() if given is None else validate_entity_id(given, store=self.name)
            current = overlay.get(entity_id) or self.entities.get(entity_id)
            if current is None:
                entity = self._new_entity(item, entity_id, now)
            else:
                entity = self._revise(current, item, now)
                entity.update(deleted=False, deleted_at=None)
            change = self._finish(entity, "upsert", current)
            assert change.after is not None
            overlay[entity_id] = change.after
            changes.append(change)
        return changes

    def plan_delete(self, ids: Iterable[Any], force: bool) -> list[EntityChange]:
        now = time.time()
        changes: list[EntityChange] = []
        done: set[str] = set()
        for raw_id in ids:
            entity_id = validate_entity_id(raw_id, store=self.name)
            current = self.entities.get(entity_id)
            if current is None or entity_id in done or (current.get("deleted") and not force):
                continue
            done.add(entity_id)
            if force:
                key = self._key_of(self.name, entity_id)
                changes.append(
                    EntityChange(self.name, entity_id, "delete", current, None, key, None)
                )
                continue
            entity = dict(current)
            entity.update(
                deleted=True,
                deleted_at=now,
                updated_at=now,
                version=int(current.get("version", 0)) + 1,
            )
            changes.append(self._finish(entity, "delete", current))
        return changes

    def plan_restore(
        self, targets: Iterable[tuple[str, dict[str, Any] | None]], operation: str
    ) -> list[EntityChange]:
        """Plan changes that bring entities back to given states (undo / redo)."""
        now = time.time()
        changes: list[EntityChange] = []
        for entity_id, state in targets:
            current = self.entities.get(entity_id)
            if state is None:
                if current is not None:
                    key = self._key_of(self.name, entity_id)
                    changes.append(
                        EntityChange(self.name, entity_id, operation, current, None, key, None)
                    )
                continue
            entity = dict(state)
            entity["updated_at"] = now
            entity["version"] = (
                max(int(state.get("version", 0)), int((current or {}).get("version", 0))) + 1
            )
            changes.append(self._finish(entity, operation, current))
        return changes

    # -- committing -----------------------------------------------------------------------

    def _put(self, entity_id: str, entity: dict[str, Any]) -> None:
        previous = self.entities.get(entity_id)
        self.entities[entity_id] = entity
        if self.watched is not None:
            self.watched.add(entity_id)
        if previous is None:
            self._counter += 1
            self.order[entity_id] = self._counter
        for name, index in self.indexes.items():
            if previous is not None:
                index.remove(entity_id)
            index.add(entity_id, entity.get(name))

    def _drop(self, entity_id: str) -> None:
        if self.entities.pop(entity_id, None) is None:
            return
        if self.watched is not None:
            self.watched.add(entity_id)
        del self.order[entity_id]
        for index in self.indexes.values():
            index.remove(entity_id)

    def set_state(self, entity_id: str, entity: dict[str, Any] | None) -> None:
        """Make ``entity_id`` hold ``entity`` (None: absent)."""
        if entity is None:
            self._drop(entity_id)
        else:
            self._put(entity_id, entity)

    def apply(self, changes: Iterable[EntityChange]) -> None:
        """Commit planned changes to memory and indexes."""
        for change in changes:
            self.set_state(change.id, change.after)

    def revert(self, changes: list[EntityChange]) -> None:
        """Undo ``apply(changes)`` in memory (newest first)."""
        for change in reversed(changes):
            self.set_state(change.id, change.before)
