"""The atomiton error hierarchy of this package: every error it raises derives from StoreError.

::

    StoreError
     ├── IsolationError        an atom isolated to one store was used from another store
     ├── ReadOnlyAtomError     ``set`` on a derived atom that has no ``write``
     ├── CycleError            a derived atom (indirectly) read itself
     ├── PendingError          an async derived atom has not settled yet (use ``aget``)
     ├── UnknownAtomError      (also a KeyError) a name or id the store/registry does not know
     ├── ListenersDidNotSettleError  listeners kept writing: they never converged
     ├── SplitItemMissingError (also a LookupError) a split_atom item whose key left the list
     ├── AtomSyncError         (also a ValueError) sync_atoms: a bad atom, name or value
     ├── EntityStoreError                 entity client (client.stores.X)
     │   ├── ClientDisposedError          the client was disposed
     │   ├── InvalidEntityIdError         an id that cannot be a storage key segment (ValueError)
     │   ├── EntityNotFoundError          update_one on a missing id (KeyError)
     │   ├── DuplicateEntityError         add_one with an id that exists (ValueError)
     │   ├── SchemaValidationError        a write the store's schema rejects; names the field
     │   ├── QueryError                   a malformed query or an unknown operator (ValueError)
     │   ├── UnknownWriteStrategyError    write_strategy="..." that nobody registered (LookupError)
     │   └── PersistenceError             storage failed; the write was rolled back (memory+storage)
     └── StoreHubError                    store hub (define_store / StoreHub)
         ├── StoreDefinitionError         two definitions with one name (ValueError)
         ├── InvalidStoreIdError          a store id outside ^[A-Za-z0-9_-]+$ (ValueError)
         ├── StoreDependencyCycleError    stores whose create() load each other in a cycle
         ├── StoreDisposedError           the store was disposed while a caller waited for it
         └── HubDisposedError             the hub itself was disposed

    DuplicateAtomNameWarning (UserWarning)  two registered atoms share a name
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by atomiton.store."""


class IsolationError(StoreError):
    """An atom isolated to one store (``atom(..., store=s)``) was read or written elsewhere."""


class ReadOnlyAtomError(StoreError, TypeError):
    """``store.set`` was called on a derived atom that was defined without ``write``."""


class CycleError(StoreError):
    """A derived atom read itself, directly or through other derived atoms."""


class PendingError(StoreError):
    """An async derived atom has no settled value yet: ``await store.aget(atom)``."""


class UnknownAtomError(StoreError, KeyError):
    """A name or id that neither the store nor its registry knows."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ListenersDidNotSettleError(StoreError):
    """Listeners kept writing to atoms for too many rounds: they never converged.

    The flush that raises it drops the work it still had queued (notifications, hooks, plugin
    calls); the values stay as the listeners left them and the store stays consistent.
    """


class SplitItemMissingError(StoreError, LookupError):
    """An item atom of ``split_atom`` was read or written after its key left the list."""


class AtomSyncError(StoreError, ValueError):
    """``sync_atoms`` refused an atom, a name, a value or a channel.

    Raised for an atom that is not primitive, has no explicit name or shares its name with
    another in the call, a value that does not survive JSON unchanged, or a bad channel.
    """


class DuplicateAtomNameWarning(UserWarning):
    """Two atoms registered in one registry share a name; the first registered one wins."""


# -- entity client (part 2) -------------------------------------------------------------------


class EntityStoreError(StoreError):
    """Base class of the errors raised by the entity client and its stores."""


class ClientDisposedError(EntityStoreError):
    """The entity client was disposed; create a new client to keep working."""


class InvalidEntityIdError(EntityStoreError, ValueError):
    """An entity id (or store name) that cannot be stored: wrong type, empty, too long or a '/'."""


class EntityNotFoundError(EntityStoreError, KeyError):
    """An update addressed an entity id that the store does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DuplicateEntityError(EntityStoreError, ValueError):
    """``add_one`` / ``add_many`` was given an id that the store already holds."""


class SchemaValidationError(EntityStoreError, ValueError):
    """A write that the store's schema rejects.

    Attributes:
        store: the store's name.
        field: the failing field (a dotted path for nested fields), or None when unknown.
    """

    def __init__(self, message: str, *, store: str, field: str | None) -> None:
        super().__init__(message)
        self.store = store
        self.field = field


class QueryError(EntityStoreError, ValueError):
    """A malformed ``where`` / ``order_by`` clause, such as an unknown operator."""


class UnknownWriteStrategyError(EntityStoreError, LookupError):
    """A write named a strategy that is neither built in nor registered on the client."""


class PersistenceError(EntityStoreError):
    """Storage failed to persist a write (see ``__cause__``).

    The write was rolled back in memory, and whatever of it had reached storage was put back;
    when putting it back failed too, the message says that storage may hold part of the write.
    """


# -- store hub (part 2) ------------------------------------------------------------------------


class StoreHubError(StoreError):
    """Base class of the errors raised by ``define_store`` and ``StoreHub``."""


class StoreDefinitionError(StoreHubError, ValueError):
    """Two different store definitions share one name in a hub (or a definition is malformed)."""


class InvalidStoreIdError(StoreHubError, ValueError):
    """A store id that does not match ``^[A-Za-z0-9_-]+$``."""


class StoreDependencyCycleError(StoreHubError):
    """Stores whose ``create`` functions load each other in a cycle (the message shows it)."""


class StoreDisposedError(StoreHubError):
    """The store was disposed (or its load cancelled) while a caller was waiting for it."""


class HubDisposedError(StoreHubError):
    """The hub was disposed; it serves no store any more."""
