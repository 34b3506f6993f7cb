"""The entity client: ``create_client()`` and its runtime (handles, writes, batches, flushing).

All state lives here, in ``EntityClient._handles`` keyed ``"<client_id>:<store_name>"``; the
``EntityStore`` facades only carry a name. One re-entrant lock serialises writes, queries and
batches; the background flusher takes only the persistence lock, so it never blocks on a
listener.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from atomiton.platform import EventSink
from atomiton.storage import MemoryStorage
from atomiton.store._entities._async import twin
from atomiton.store._entities._live import LiveQueries
from atomiton.store._entities._sync import (
    DEFAULT_SYNC_COALESCE,
    EntitySync,
    SyncBus,
    SyncConflict,
)
from atomiton.store._entities.changes import EntityChange
from atomiton.store._entities.facades import StoresAccessor
from atomiton.store._entities.flusher import BackgroundFlusher
from atomiton.store._entities.handle import StoreChange, StoreHandle
from atomiton.store._entities.history import EntityHistory
from atomiton.store._entities.ids import new_id, validate_store_name
from atomiton.store._entities.persistence import Persistence, coalesce
from atomiton.store._entities.protocols import StorageLike
from atomiton.store._entities.schema import make_validator
from atomiton.store._entities.strategies import WriteContext, WriteStrategy, direct, queue
from atomiton.store._errors import (
    ClientDisposedError,
    EntityStoreError,
    PersistenceError,
    StoreError,
    UnknownWriteStrategyError,
)

__all__ = ["EntityClient", "create_client"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
Hydration = Literal["lazy", "eager"]


@dataclass(slots=True)
class _StoreConfig:
    indexes: tuple[str, ...] = ()
    schema: type | None = None
    write_strategy: str | None = None


@dataclass(slots=True)
class _Batch:
    order: list[tuple[str, EntityChange]] = field(default_factory=list)
    notes: list[tuple[str, str, tuple[str, ...], str]] = field(default_factory=list)
    record: bool = True


def _index_fields(store: str, indexes: object) -> tuple[str, ...]:
    # A bare string would otherwise index each of its characters.
    if isinstance(indexes, str | bytes) or not isinstance(indexes, list | tuple):
        raise EntityStoreError(
            f"store {store!r}: indexes takes a list of field names, got {indexes!r}"
        )
    for name in indexes:
        if not isinstance(name, str) or not name:
            raise EntityStoreError(f"store {store!r}: index names are field names, got {name!r}")
    return tuple(indexes)


class EntityClient:
    """Entity stores over one storage: ``client.stores.Todo``; see ``create_client``.

    Attributes:
        id: this client's id (a sortable id); handle keys are ``"<id>:<store name>"``.
        stores: the store accessor (``client.stores.Todo`` / ``client.stores("Todo")``).
        history: undo/redo of whole user writes.
        storage: the storage entities persist to.
    """

    def __init__(
        self,
        storage: StorageLike | None = None,
        *,
        events: EventSink | None = None,
        hydrate: Hydration = "lazy",
        flush_interval: float | None = 1.0,
        history_limit: int = 100,
        key_prefix: str = "atomiton/store",
        sync: SyncBus | None = None,
        on_conflict: Callable[[SyncConflict], object] | None = None,
        reconcile_interval: float | None = 5.0,
        sync_coalesce: float | None = DEFAULT_SYNC_COALESCE,
    ) -> None:
        if hydrate not in ("lazy", "eager"):
            raise EntityStoreError(f"hydrate must be 'lazy' or 'eager', got {hydrate!r}")
        if flush_interval is not None and (
            not isinstance(flush_interval, int | float)
            or isinstance(flush_interval, bool)
            or not flush_interval > 0
        ):
            raise EntityStoreError(f"flush_interval must be > 0 or None, got {flush_interval!r}")
        if (
            not isinstance(history_limit, int)
            or isinstance(history_limit, bool)
            or history_limit < 0
        ):
            raise EntityStoreError(f"history_limit must be an int >= 0, got {history_limit!r}")
        # Checked here: a wrong object would otherwise fail later as an AttributeError.
        if storage is not None and not isinstance(storage, StorageLike):
            raise TypeError(
                "storage must satisfy StorageLike (read, write, delete, list, read_many, "
                f"write_many, delete_many, close), got {type(storage).__name__} {storage!r}"
            )
        if events is not None and not isinstance(events, EventSink):
            raise TypeError(
                f"events must have emit(type, data, source=...), got {type(events).__name__}"
            )
        _check_sync(sync, on_conflict, reconcile_interval, sync_coalesce)
        self.id = new_id()
        self._owns_storage = storage is None
        self.storage: StorageLike = MemoryStorage() if storage is None else storage
        self._events = events
        self._persistence = Persistence(self.storage, key_prefix)
        self._lock = threading.RLock()
        self._handles: dict[str, StoreHandle] = {}
        self._configs: dict[str, _StoreConfig] = {}
        self._strategies: dict[str, WriteStrategy] = {"direct": direct, "queue": queue}
        self._observers: list[Callable[[StoreChange], None]] = []
        self._batch: _Batch | None = None
        self._disposed = False
        self._flusher = BackgroundFlusher(self._persistence, flush_interval, name=self.id)
        self.history = EntityHistory(history_limit, self._replay)
        self.history._lock = self._lock  # its async twins run inline inside a batch
        self._live = LiveQueries(self)
        self.stores = StoresAccessor(self)
        self._persistence.load_outbox()
        # Subscribed before any store hydrates (see _sync.py).
        self._sync: EntitySync | None = None
        if sync is not None:
            self._sync = EntitySync(
                self,
                sync,
                on_conflict=on_conflict,
                reconcile_interval=reconcile_interval,
                coalesce=sync_coalesce,
            )
            self._persistence.on_flush = self._sync.flushed
            self._flusher.after_flush = self._sync.drain
        if self._persistence.pending:
            self._flusher.start()
        if hydrate == "eager":
            for name in self._persistence.stored_store_names():
                self._handle(name)

    def __repr__(self) -> str:
        return f"<EntityClient {self.id} stores={self._store_names()}>"

    # -- configuration --------------------------------------------------------------------

    def configure(
        self,
        store: str,
        *,
        indexes: list[str] | tuple[str, ...] | None = None,
        schema: type | None = None,
        write_strategy: str | None = None,
    ) -> None:
        """Configure one store: indexed fields, a schema, its default write strategy.

        Only the arguments given change. Indexes are built from the current entities and kept
        up to date on every write.

        Raises:
            UnknownWriteStrategyError: ``write_strategy`` is not registered.
            TypeError: ``schema`` is not a dataclass, msgspec Struct or pydantic model.
            EntityStoreError: ``indexes`` is not a list of field names.
        """
        validate_store_name(store)
        fields = None if indexes is None else _index_fields(store, indexes)
        with self._lock:
            self._check_open()
            config = self._configs.setdefault(store, _StoreConfig())
            if write_strategy is not None:
                self._strategy(write_strategy)
                config.write_strategy = write_strategy
            if schema is not None:
                make_validator(schema, store=store)  # fail now, not at the first write
                config.schema = schema
            if fields is not None:
                config.indexes = fields
            handle = self._handles.get(self._key(store))
            if handle is not None:
                self._apply_config(handle, config)

    def register_write_strategy(self, name: str, handler: WriteStrategy) -> None:
        """Register a custom strategy: ``handler(WriteContext)`` persists (or not) the changes.

        The handler may call ``context.persist()`` / ``context.enqueue()``; if it raises, the
        write is not applied (or, in a batch, its group is rolled back) and the error surfaces
        as ``PersistenceError``.
        """
        if not isinstance(name, str) or not name:
            raise EntityStoreError(f"a write strategy needs a non-empty name, got {name!r}")
        if not callable(handler):
            raise EntityStoreError(f"write strategy {name!r} must be callable, got {handler!r}")
        with self._lock:
            self._strategies[name] = handler

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def is_disposed(self) -> bool:
        """Whether ``dispose()`` ran."""
        return self._disposed

    @property
    def pending_writes(self) -> int:
        """Outbox records (queued writes) not yet flushed."""
        return len(self._persistence.pending)

    def flush(self) -> int:
        """Move every queued write to its entity key now; return how many records moved.

        A synced client has also handed every sync event it owes to the bus when this returns.
        """
        self._check_open()
        moved = self._persistence.flush()
        if self._sync is not None:
            self._sync.publish_now()
        return moved

    def reconcile(self) -> int:
        """Reload every hydrated store from storage and apply the difference as remote changes.

        Only for a synced client (``sync=``); it also runs on a sequence gap and every
        ``reconcile_interval`` seconds. Returns how many entities changed in memory.

        Raises:
            EntityStoreError: the client is not synced.
        """
        self._check_open()
        if self._sync is None:
            raise EntityStoreError("reconcile() needs a synced client (create_client(sync=...))")
        return self._sync.reconcile()

    def dispose(self) -> None:
        """Stop the flusher, flush queued writes, drop every handle; idempotent.

        A storage the client created itself is closed; a storage you passed is left open.
        If the final flush fails the queued writes stay in the durable outbox (logged).
        """
        with self._lock:
            if self._disposed:
                return
            self._disposed = True
        self._flusher.stop()
        try:
            self._persistence.flush()
        except Exception:
            logger.exception(
                "entity client %s: final flush failed; writes stay in the outbox", self.id
            )
        if self._sync is not None:
            self._sync.close()
        self._live.close_all()
        with self._lock:
            self._handles.clear()
            self._observers.clear()
            self.history.clear()
        if self._owns_storage:
            self.storage.close()

    close = dispose
    aflush = twin(flush)
    areconcile = twin(reconcile)
    aclose = twin(dispose, name="aclose")

    def __enter__(self) -> EntityClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    async def __aenter__(self) -> EntityClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- batches --------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes: applied in memory at once, persisted per strategy group at the end.

        Each entity is persisted once, with its final state, by the strategy of its last write
        in the batch (so groups cannot reorder one entity's writes). A group whose persistence
        fails has its entities rolled back in memory to their state before the batch and
        ``PersistenceError`` is raised after the other groups committed. An exception inside
        the block rolls back every write of the batch. Nested ``batch()`` blocks join the outer
        one. Other threads wait until the batch ends.
        """
        with self._batch_context(record=True):
            yield

    @contextmanager
    def _batch_context(self, record: bool) -> Iterator[None]:
        notes: list[tuple[str, str, tuple[str, ...], str]] = []
        with self._lock:
            self._check_open()
            if self._batch is not None:
                yield
                return
            batch = self._batch = _Batch(record=record)
            try:
                yield
            except BaseException:
                self._batch = None
                self._revert([change for _strategy, change in batch.order])
                raise
            self._batch = None
            failures: list[tuple[str, BaseException]] = []
            failed_ids: set[tuple[str, str]] = set()
            committed: list[EntityChange] = []
            published: list[tuple[str, EntityChange]] = []
            unrestored: list[tuple[str, Exception]] = []
            for strategy, changes in coalesce(batch.order).items():
                context = WriteContext(strategy, tuple(changes), self._persistence)
                try:
                    self._strategy(strategy)(context)
                except Exception as error:
                    failures.append((strategy, error))
                    failed_ids.update((c.store, c.id) for c in changes)
                    self._revert(changes)
                    undo_error = _undo(context)
                    if undo_error is not None:
                        unrestored.append((strategy, undo_error))
                else:
                    committed += changes
                    published += ((strategy, c) for c in changes)
            if batch.record:
                self.history.record(tuple(committed))
            if self._sync is not None and published:
                self._sync.record(published)
            for store, operation, ids, strategy in batch.notes:
                kept = tuple(i for i in ids if (store, i) not in failed_ids)
                if kept:
                    notes.append((store, operation, kept, strategy))
        if self._sync is not None:
            self._sync.drain()
        self._notify_all(notes, entities={(c.store, c.id): c for c in committed})
        if failures:
            names = ", ".join(repr(s) for s, _e in failures)
            if not unrestored:
                raise PersistenceError(
                    f"batch: persisting the {names} group(s) failed; those writes were rolled "
                    "back in memory and in storage"
                ) from failures[0][1]
            broken = ", ".join(f"{s!r} ({e})" for s, e in unrestored)
            raise PersistenceError(
                f"batch: persisting the {names} group(s) failed; those writes were rolled back "
                f"in memory, but undoing what reached storage failed for {broken}: storage may "
                "hold part of them until those entities are written again"
            ) from failures[0][1]

    # -- the runtime (used by the facades) ------------------------------------------------

    def _key(self, store: str) -> str:
        return f"{self.id}:{store}"

    def _check_open(self) -> None:
        if self._disposed:
            raise ClientDisposedError(f"entity client {self.id} was disposed")

    def _store_names(self) -> list[str]:
        return sorted(h.name for h in list(self._handles.values()))

    def _apply_config(self, handle: StoreHandle, config: _StoreConfig) -> None:
        handle.write_strategy = config.write_strategy
        handle.validator = (
            None if config.schema is None else make_validator(config.schema, store=handle.name)
        )
        handle.set_indexes(config.indexes)

    def _handle(self, name: str) -> StoreHandle:
        key = self._key(name)
        handle = self._handles.get(key)
        if handle is None:
            handle = StoreHandle(name, self._persistence.entity_key)
            config = self._configs.get(name)
            if config is not None:
                self._apply_config(handle, config)
            # Lazy hydration: a store reads its persisted entities on first use.
            handle.load(self._persistence.load_store(name))
            self._handles[key] = handle
        return handle

    def _strategy(self, name: str) -> WriteStrategy:
        handler = self._strategies.get(name)
        if handler is None:
            raise UnknownWriteStrategyError(
                f"unknown write strategy {name!r}; "
                f"registered: {', '.join(sorted(self._strategies))}"
            )
        return handler

    def _read(self, name: str, read: Callable[[StoreHandle], T]) -> T:
        with self._lock:
            self._check_open()
            return read(self._handle(name))

    def _write(
        self,
        name: str,
        operation: str,
        plan: Callable[[StoreHandle], list[EntityChange]],
        write_strategy: str | None,
    ) -> list[dict[str, Any]]:
        with self._lock:
            self._check_open()
            handle = self._handle(name)
            strategy = write_strategy or handle.write_strategy or "direct"
            handler = self._strategy(strategy)
            changes = plan(handle)
            if not changes:
                return []
            ids = tuple(dict.fromkeys(c.id for c in changes))
            batch = self._batch
            if batch is not None:
                handle.apply(changes)
                batch.order.extend((strategy, c) for c in changes)
                batch.notes.append((name, operation, ids, strategy))
            else:
                context = WriteContext(strategy, tuple(changes), self._persistence)
                try:
                    handler(context)
                except BaseException as error:
                    # Part of the write may be in storage already: put it back first.
                    undo_error = _undo(context)
                    if isinstance(error, Exception) and not isinstance(error, StoreError):
                        raise PersistenceError(
                            _failed_write(name, strategy, error, undo_error)
                        ) from error
                    if undo_error is not None:
                        error.add_note(_failed_write(name, strategy, error, undo_error))
                    raise
                handle.apply(changes)
                self.history.record(tuple(changes))
                if self._sync is not None:
                    self._sync.record([(strategy, c) for c in changes])
            if strategy == "queue" or self._persistence.pending:
                self._flusher.start()
            result = [dict(c.after) if c.after is not None else {"id": c.id} for c in changes]
        if batch is None:
            if self._sync is not None:
                self._sync.drain()
            self._notify_all(
                [(name, operation, ids, strategy)],
                entities={(c.store, c.id): c for c in changes},
            )
        return result

    def _revert(self, changes: list[EntityChange]) -> None:
        for change in reversed(changes):
            handle = self._handles.get(self._key(change.store))
            if handle is not None:
                handle.set_state(change.id, change.before)

    def _replay(self, entry: tuple[EntityChange, ...], operation: str) -> None:
        targets: dict[tuple[str, str], dict[str, Any] | None] = {}
        for change in entry if operation == "undo" else reversed(entry):
            # undo: the earliest "before" of each entity; redo: its latest "after".
            targets.setdefault(
                (change.store, change.id), change.before if operation == "undo" else change.after
            )
        by_store: dict[str, list[tuple[str, dict[str, Any] | None]]] = {}
        for (store, entity_id), state in targets.items():
            by_store.setdefault(store, []).append((entity_id, state))
        with self._batch_context(record=False):
            for store, items in by_store.items():

                def plan(
                    handle: StoreHandle, items: list[tuple[str, dict[str, Any] | None]] = items
                ) -> list[EntityChange]:
                    return handle.plan_restore(items, operation)

                self._write(store, operation, plan, "direct")

    def _subscribe(self, name: str, listener: Callable[[StoreChange], None]) -> Callable[[], None]:
        with self._lock:
            self._check_open()
            handle = self._handle(name)
            handle.listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in handle.listeners:
                    handle.listeners.remove(listener)

        return unsubscribe

    def _observe(self, observer: Callable[[StoreChange], None]) -> Callable[[], None]:
        with self._lock:
            self._check_open()
            self._observers.append(observer)

        def remove() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return remove

    def _hydrated(self, name: str) -> StoreHandle | None:
        return self._handles.get(self._key(name))

    def _hydrated_handles(self) -> list[StoreHandle]:
        return list(self._handles.values())

    def _notify_all(
        self,
        notes: list[tuple[str, str, tuple[str, ...], str]],
        remote: bool = False,
        entities: dict[tuple[str, str], EntityChange] | None = None,
    ) -> None:
        # The one change hook of live queries, whatever the origin (local, batch, undo, remote).
        # ``entities``: each written entity's change (before and after) for a local write.
        errors = self._live.changed(notes)
        for name, operation, ids, strategy in notes:
            changed = () if entities is None else _changes_of(entities, name, ids)
            change = StoreChange(
                name, operation, ids, remote, None if remote else strategy, changed
            )
            handle = self._handles.get(self._key(name))
            listeners = [] if handle is None else list(handle.listeners)
            for listener in [*listeners, *self._observers]:
                try:
                    listener(change)
                except Exception as error:
                    errors.append(error)
            if self._events is not None:
                # Like a listener: a failing emitter must not silence the other notifications.
                try:
                    self._events.emit(
                        "store.changed",
                        {"store": name, "operation": operation, "ids": list(ids)},
                        source="store",
                    )
                except Exception as error:
                    errors.append(error)
        if errors:
            raise ExceptionGroup(
                "store listeners (or the event emitter) raised after a committed write", errors
            )


def create_client(
    storage: StorageLike | None = None,
    *,
    events: EventSink | None = None,
    hydrate: Hydration = "lazy",
    flush_interval: float | None = 1.0,
    history_limit: int = 100,
    key_prefix: str = "atomiton/store",
    sync: SyncBus | None = None,
    on_conflict: Callable[[SyncConflict], object] | None = None,
    reconcile_interval: float | None = 5.0,
    sync_coalesce: float | None = DEFAULT_SYNC_COALESCE,
) -> EntityClient:
    """Create an entity client.

    Args:
        storage: where entities persist (anything satisfying ``StorageLike``, e.g.
            ``atomiton.storage.SQLiteStorage``); default: a new ``atomiton.storage.MemoryStorage``.
        events: an emitter (e.g. ``atomiton.events.EventBus``) that receives ``store.changed``.
        hydrate: ``"lazy"`` reads a store's entities on its first use; ``"eager"`` reads every
            stored store now.
        flush_interval: seconds between background flushes of queued writes (None: only
            ``flush()`` and ``dispose()`` flush).
        history_limit: how many writes ``client.history`` remembers.
        key_prefix: the storage key prefix of this client's data.
        sync: keep this client in step with the other clients on the same storage and key
            prefix: a bridged ``atomiton.events.EventBus`` (or anything with its ``emit`` /
            ``on`` shape). Each committed write or batch is published as one
            ``store.sync.entities`` event; others re-read the named entities from storage and
            notify their subscribers (``StoreChange.remote``). See the README, "Several
            processes and machines".
        on_conflict: called with a ``SyncConflict`` when a remote change meets an entity this
            client had changed itself (storage's value wins).
        reconcile_interval: seconds between reconciliations against storage of a synced
            client (the staleness bound if a writer dies before publishing); None: only on a
            sequence gap and ``client.reconcile()``.
        sync_coalesce: the publishing window of a synced client, in seconds (default 0.005).
            A write that comes when no sync event left in the last window is published at
            once by the writing thread; writes within the window are published together, as
            one event, by a thread of the client's own when the window ends. So writes one at
            a time leave at once and a burst costs one event per window. None: each write or
            batch is published by the writing thread as its own event.

    Returns:
        The new ``EntityClient``.
    """
    return EntityClient(
        storage,
        events=events,
        hydrate=hydrate,
        flush_interval=flush_interval,
        history_limit=history_limit,
        key_prefix=key_prefix,
        sync=sync,
        on_conflict=on_conflict,
        reconcile_interval=reconcile_interval,
        sync_coalesce=sync_coalesce,
    )


def _check_sync(
    sync: object, on_conflict: object, reconcile_interval: object, coalesce: object
) -> None:
    if sync is not None and not isinstance(sync, SyncBus):
        raise TypeError(
            "sync must have emit(type, data, *, source) and on(pattern, handler) (e.g. a "
            f"bridged atomiton.events.EventBus), got {type(sync).__name__}"
        )
    if on_conflict is not None and not callable(on_conflict):
        raise EntityStoreError(f"on_conflict must be callable or None, got {on_conflict!r}")
    if reconcile_interval is not None and (
        not isinstance(reconcile_interval, int | float)
        or isinstance(reconcile_interval, bool)
        or not reconcile_interval > 0
    ):
        raise EntityStoreError(
            f"reconcile_interval must be > 0 or None, got {reconcile_interval!r}"
        )
    if coalesce is not None and (
        not isinstance(coalesce, int | float) or isinstance(coalesce, bool) or not coalesce > 0
    ):
        raise EntityStoreError(f"sync_coalesce must be > 0 or None, got {coalesce!r}")


def _changes_of(
    entities: dict[tuple[str, str], EntityChange], store: str, ids: tuple[str, ...]
) -> tuple[EntityChange, ...]:
    return tuple(entities[(store, i)] for i in ids if (store, i) in entities)


def _undo(context: WriteContext) -> Exception | None:
    """Undo what a failed strategy left in storage; return the error if that failed too."""
    try:
        context._undo()
    except Exception as error:
        logger.warning(
            "undoing a failed %r write in storage failed", context.strategy, exc_info=True
        )
        return error
    return None


def _failed_write(name: str, strategy: str, error: BaseException, undo: Exception | None) -> str:
    if undo is None:
        return f"store {name!r}: {strategy!r} write failed, nothing changed: {error}"
    return (
        f"store {name!r}: {strategy!r} write failed and undoing what it had stored failed too "
        f"({undo}): memory is unchanged but storage may hold part of this write until these "
        f"entities are written again: {error}"
    )
