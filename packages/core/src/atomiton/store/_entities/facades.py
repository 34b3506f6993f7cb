"""The stateless facades users hold: ``client.stores`` and ``client.stores.Todo``.

An ``EntityStore`` carries only its client and its name. Every call goes to the client's
runtime, which finds the store's handle in one table keyed ``"<client_id>:<store_name>"``.
Facades are cached per name, so ``client.stores.Todo is client.stores("Todo")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from atomiton.store._entities._async import twin
from atomiton.store._entities._live import LiveQueries, LiveQuery, LiveWatch, make_query_atom
from atomiton.store._entities.changes import EntityChange
from atomiton.store._entities.handle import StoreChange, StoreHandle, Updater
from atomiton.store._entities.ids import validate_store_name
from atomiton.store._entities.query import Page

if TYPE_CHECKING:
    from atomiton.store._atoms.atom import Computed

__all__ = ["ClientCore", "EntityStore", "StoresAccessor"]

T = TypeVar("T")


class ClientCore(Protocol):
    """What a facade calls on its client (``EntityClient`` implements it).

    Declared here so that the facades need not import the client module, which builds them.
    """

    @property
    def id(self) -> str:
        """The client's id."""
        ...

    def _store_names(self) -> list[str]: ...

    def _read(self, name: str, read: Callable[[StoreHandle], T]) -> T: ...

    def _write(
        self,
        name: str,
        operation: str,
        plan: Callable[[StoreHandle], list[EntityChange]],
        write_strategy: str | None,
    ) -> list[dict[str, Any]]: ...

    def _subscribe(
        self, name: str, listener: Callable[[StoreChange], None]
    ) -> Callable[[], None]: ...

    @property
    def _live(self) -> LiveQueries: ...


class EntityStore:
    """One named collection of entities (plain dicts), reached as ``client.stores.Name``.

    Every write takes ``write_strategy=`` (``"direct"``, ``"queue"`` or a registered name;
    default: the store's configured strategy, else ``"direct"``).
    """

    __slots__ = ("_client", "name")

    def __init__(self, client: ClientCore, name: str) -> None:
        self._client = client
        self.name = name

    def __repr__(self) -> str:
        return f"<EntityStore {self.name!r} of client {self._client.id}>"

    # -- writes ---------------------------------------------------------------------------

    def add_one(
        self, item: Mapping[str, Any], *, write_strategy: str | None = None
    ) -> dict[str, Any]:
        """Add one entity and return it with ``id``, ``created_at``, ``updated_at``, ``version``.

        Raises:
            DuplicateEntityError: ``item["id"]`` is already taken.
            SchemaValidationError: the store's schema rejects the item.
            PersistenceError: storage failed (nothing changed).
        """
        return self._client._write(self.name, "add", lambda h: h.plan_add([item]), write_strategy)[
            0
        ]

    def add_many(
        self, items: Iterable[Mapping[str, Any]], *, write_strategy: str | None = None
    ) -> list[dict[str, Any]]:
        """Add several entities in one write (all or none); return them."""
        listed = list(items)
        return self._client._write(self.name, "add", lambda h: h.plan_add(listed), write_strategy)

    def update_one(
        self, entity_id: str, changes: Updater, *, write_strategy: str | None = None
    ) -> dict[str, Any]:
        """Update one entity: merge a dict of ``changes``, or replace it by ``changes(current)``.

        A function receives a copy of the current entity and returns the new one (bookkeeping
        fields are kept by the client, so returning ``{**current, "done": True}`` is typical;
        leaving a field out removes it).

        Raises:
            EntityNotFoundError: no (live) entity has that id.
        """
        return self._client._write(
            self.name, "update", lambda h: h.plan_update([(entity_id, changes)]), write_strategy
        )[0]

    def update_many(
        self,
        updates: Iterable[Mapping[str, Any] | tuple[str, Updater]],
        *,
        write_strategy: str | None = None,
    ) -> list[dict[str, Any]]:
        """Update several entities in one write: dicts with ``id``, or ``(id, changes)`` pairs."""
        pairs: list[tuple[Any, Updater]] = []
        for update in updates:
            if isinstance(update, Mapping):
                pairs.append((update.get("id"), update))
            else:
                entity_id, changes = update
                pairs.append((entity_id, changes))
        return self._client._write(
            self.name, "update", lambda h: h.plan_update(pairs), write_strategy
        )

    def upsert_one(
        self, item: Mapping[str, Any], *, write_strategy: str | None = None
    ) -> dict[str, Any]:
        """Add the entity, or merge into the one with its ``id`` (reviving a soft-deleted one)."""
        return self._client._write(
            self.name, "upsert", lambda h: h.plan_upsert([item]), write_strategy
        )[0]

    def upsert_many(
        self, items: Iterable[Mapping[str, Any]], *, write_strategy: str | None = None
    ) -> list[dict[str, Any]]:
        """``upsert_one`` for several items in one write."""
        listed = list(items)
        return self._client._write(
            self.name, "upsert", lambda h: h.plan_upsert(listed), write_strategy
        )

    def delete_one(
        self, entity_id: str, *, force: bool = False, write_strategy: str | None = None
    ) -> bool:
        """Soft-delete one entity (``deleted=True``, ``deleted_at``); ``force=True`` removes it.

        Returns:
            Whether anything changed (False for a missing or already soft-deleted entity).
        """
        return bool(
            self._client._write(
                self.name, "delete", lambda h: h.plan_delete([entity_id], force), write_strategy
            )
        )

    def delete_many(
        self, ids: Iterable[str], *, force: bool = False, write_strategy: str | None = None
    ) -> int:
        """``delete_one`` for several ids in one write; return how many changed."""
        listed = list(ids)
        return len(
            self._client._write(
                self.name, "delete", lambda h: h.plan_delete(listed, force), write_strategy
            )
        )

    # -- reads ----------------------------------------------------------------------------

    def get_one(self, entity_id: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        """Return a copy of the entity, or None (also for soft-deleted, unless asked)."""
        return self._client._read(self.name, lambda h: h.get(entity_id, include_deleted))

    def get_many(
        self, ids: Iterable[str], *, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Return the entities with these ids that exist, in the order asked."""
        listed = list(ids)

        def read(handle: Any) -> list[dict[str, Any]]:
            found = (handle.get(i, include_deleted) for i in listed)
            return [e for e in found if e is not None]

        return self._client._read(self.name, read)

    def get_all(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Return every entity, in insertion order."""
        return self.find_many(include_deleted=include_deleted).data

    def count(self, *, include_deleted: bool = False) -> int:
        """Return how many entities the store holds."""
        return self._client._read(self.name, lambda h: h.count(include_deleted))

    def find_many(
        self,
        where: Mapping[str, Any] | None = None,
        *,
        order_by: str | tuple[str, str] | Sequence[str | tuple[str, str]] | None = None,
        limit: int | None = None,
        offset: int = 0,
        include_deleted: bool = False,
        explain: bool = False,
    ) -> Page:
        """Query the store (see the README's query language); return a ``Page``.

        Args:
            where: clauses; top-level keys AND together (None: everything).
            order_by: ``"field"``, ``("field", "asc"|"desc")`` or a list; None sorts last.
            limit: at most this many entities in ``page.data`` (None: all).
            offset: skip this many matches first.
            include_deleted: also match soft-deleted entities.
            explain: fill ``page.plan`` with the ``QueryPlan`` used.

        Raises:
            QueryError: a malformed clause or an unknown operator.
        """
        return self._client._read(
            self.name,
            lambda h: h.find(where, order_by, limit, offset, include_deleted, explain),
        )

    def subscribe(self, listener: Callable[[StoreChange], None]) -> Callable[[], None]:
        """Call ``listener(StoreChange)`` after every committed write; return an unsubscriber."""
        return self._client._subscribe(self.name, listener)

    # -- live queries (see _live.py and the README's "Live queries") ------------------------

    def watch_many(
        self,
        where: Mapping[str, Any] | None = None,
        *,
        order_by: str | tuple[str, str] | Sequence[str | tuple[str, str]] | None = None,
        limit: int | None = None,
        offset: int = 0,
        include_deleted: bool = False,
    ) -> LiveWatch:
        """``async for page in store.watch_many(...)``: the ``find_many`` result, kept live.

        Yields the current ``Page`` at once, then a new one whenever a committed change (a
        write, a batch, undo/redo, a change synced from another process) changes it: its
        entities, their order or ``total``. Writes that cannot change it (entities that
        neither matched nor match) wake nobody, and a change is applied to the result without
        re-running the query. A slow consumer gets the latest result only (no queue).
        Leaving the loop (``break``), ``aclose()``, ``async with``, a cancellation or
        disposing the client ends the watch and drops its live query. The entity dicts of a
        result are shared with later results of the same watch: treat them as read-only.

        Raises:
            QueryError: a malformed query (at once, as ``find_many``).
            ClientDisposedError: at the first iteration, when the client was disposed.
        """
        query = LiveQuery(self.name, where, order_by, limit, offset, include_deleted)
        return LiveWatch(self._client._live, query)

    def query_atom(
        self,
        where: Mapping[str, Any] | None = None,
        *,
        order_by: str | tuple[str, str] | Sequence[str | tuple[str, str]] | None = None,
        limit: int | None = None,
        offset: int = 0,
        include_deleted: bool = False,
        name: str | None = None,
    ) -> Computed[Page]:
        """A derived atom whose value is this query's ``Page``, kept live while observed.

        While a store observes the atom (``store.subscribe``, a subscribed ``computed`` that
        reads it, ``store.watch``, DevTools), one live query serves every such store and each
        change is written into each of them, so listeners and dependants update as for any
        atom. In a store that does not observe it, reading it runs the query then (like
        ``find_many``) and the value stays what it was until one of its atoms changes or it
        is observed: subscribe to keep it current. The live query stops when the last store
        stops observing it.

        Args:
            where: as ``find_many``.
            order_by: as ``find_many``.
            limit: as ``find_many``.
            offset: as ``find_many``.
            include_deleted: as ``find_many``.
            name: the atom's name (registry, DevTools).

        Raises:
            QueryError: a malformed query (at once).
        """
        query = LiveQuery(self.name, where, order_by, limit, offset, include_deleted)
        return make_query_atom(self._client._live, query, name)

    # -- async twins (see _async.py and the README's "Async entity API") --------------------

    aadd_one = twin(add_one)
    aadd_many = twin(add_many)
    aupdate_one = twin(update_one)
    aupdate_many = twin(update_many)
    aupsert_one = twin(upsert_one)
    aupsert_many = twin(upsert_many)
    adelete_one = twin(delete_one)
    adelete_many = twin(delete_many)
    aget_one = twin(get_one)
    aget_many = twin(get_many)
    aget_all = twin(get_all)
    acount = twin(count)
    afind_many = twin(find_many)


class StoresAccessor:
    """``client.stores``: ``client.stores.Todo`` or ``client.stores("Todo")``, same object."""

    __slots__ = ("_cache", "_client")

    def __init__(self, client: ClientCore) -> None:
        self._client = client
        self._cache: dict[str, EntityStore] = {}

    def __call__(self, name: str) -> EntityStore:
        store = self._cache.get(name)
        if store is None:
            store = self._cache[validate_store_name(name)] = EntityStore(self._client, name)
        return store

    def __getattr__(self, name: str) -> EntityStore:
        if name.startswith("_"):
            raise AttributeError(name)
        return self(name)

    def __iter__(self) -> Any:
        return iter(self._client._store_names())

    def __repr__(self) -> str:
        return f"<stores of client {self._client.id}: {', '.join(self._client._store_names())}>"
