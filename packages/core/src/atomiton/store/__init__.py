"""atomiton.store: see the package README for the whole public API."""

from atomiton.store._atom import (
    Atom,
    Computed,
    Getter,
    PrimitiveAtom,
    Setter,
    WritableComputed,
    atom,
    computed,
)
from atomiton.store._client import EntityClient, create_client
from atomiton.store._entities import EntityStore, StoresAccessor
from atomiton.store._entities_handle import StoreChange
from atomiton.store._entities_history import EntityHistory
from atomiton.store._entities_provider import provide
from atomiton.store._entities_storage import InMemoryStorage
from atomiton.store._errors import (
    ClientDisposedError,
    CycleError,
    DuplicateAtomNameWarning,
    DuplicateEntityError,
    EntityNotFoundError,
    EntityStoreError,
    HubDisposedError,
    InvalidEntityIdError,
    InvalidStoreIdError,
    IsolationError,
    ListenersDidNotSettleError,
    PendingError,
    PersistenceError,
    QueryError,
    ReadOnlyAtomError,
    SchemaValidationError,
    StoreDefinitionError,
    StoreDependencyCycleError,
    StoreDisposedError,
    StoreError,
    StoreHubError,
    UnknownAtomError,
    UnknownWriteStrategyError,
)
from atomiton.store._hub import StoreDefinition, StoreHub, StoreState, define_store
from atomiton.store._ids import new_id
from atomiton.store._protocols import ContainerLike, EventEmitter, StorageLike
from atomiton.store._query import Page, QueryPlan
from atomiton.store._registry import AtomMetadata, AtomRegistry, default_registry
from atomiton.store._store import PluginHooks, Snapshot, Store, StorePlugin, create_store
from atomiton.store._strategies import EntityChange, WriteContext, WriteStrategy
from atomiton.store._time_travel import HistoryEntry, TimeTravel
from atomiton.store._version import __version__

__all__ = [
    "Atom",
    "AtomMetadata",
    "AtomRegistry",
    "ClientDisposedError",
    "Computed",
    "ContainerLike",
    "CycleError",
    "DuplicateAtomNameWarning",
    "DuplicateEntityError",
    "EntityChange",
    "EntityClient",
    "EntityHistory",
    "EntityNotFoundError",
    "EntityStore",
    "EntityStoreError",
    "EventEmitter",
    "Getter",
    "HistoryEntry",
    "HubDisposedError",
    "InMemoryStorage",
    "InvalidEntityIdError",
    "InvalidStoreIdError",
    "IsolationError",
    "ListenersDidNotSettleError",
    "Page",
    "PendingError",
    "PersistenceError",
    "PluginHooks",
    "PrimitiveAtom",
    "QueryError",
    "QueryPlan",
    "ReadOnlyAtomError",
    "SchemaValidationError",
    "Setter",
    "Snapshot",
    "StorageLike",
    "Store",
    "StoreChange",
    "StoreDefinition",
    "StoreDefinitionError",
    "StoreDependencyCycleError",
    "StoreDisposedError",
    "StoreError",
    "StoreHub",
    "StoreHubError",
    "StorePlugin",
    "StoreState",
    "StoresAccessor",
    "TimeTravel",
    "UnknownAtomError",
    "UnknownWriteStrategyError",
    "WritableComputed",
    "WriteContext",
    "WriteStrategy",
    "__version__",
    "atom",
    "computed",
    "create_client",
    "create_store",
    "default_registry",
    "define_store",
    "new_id",
    "provide",
]
