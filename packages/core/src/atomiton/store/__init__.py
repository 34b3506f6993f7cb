"""atomiton.store: see the package README for the whole public API."""

from atomiton.store._client import EntityClient, create_client, provide
from atomiton.store._entities import EntityStore, StoresAccessor
from atomiton.store._entities_handle import StoreChange
from atomiton.store._entities_history import EntityHistory
from atomiton.store._entities_storage import InMemoryStorage
from atomiton.store._errors import (
    ClientDisposedError,
    DuplicateEntityError,
    EntityNotFoundError,
    EntityStoreError,
    HubDisposedError,
    InvalidEntityIdError,
    InvalidStoreIdError,
    PersistenceError,
    QueryError,
    SchemaValidationError,
    StoreDefinitionError,
    StoreDependencyCycleError,
    StoreDisposedError,
    StoreError,
    StoreHubError,
    UnknownWriteStrategyError,
)
from atomiton.store._hub import StoreDefinition, StoreHub, StoreState, define_store
from atomiton.store._ids import new_id
from atomiton.store._protocols import ContainerLike, EventEmitter, StorageLike
from atomiton.store._query import Page, QueryPlan
from atomiton.store._strategies import EntityChange, WriteContext, WriteStrategy
from atomiton.store._version import __version__

__all__ = [
    "ClientDisposedError",
    "ContainerLike",
    "DuplicateEntityError",
    "EntityChange",
    "EntityClient",
    "EntityHistory",
    "EntityNotFoundError",
    "EntityStore",
    "EntityStoreError",
    "EventEmitter",
    "HubDisposedError",
    "InMemoryStorage",
    "InvalidEntityIdError",
    "InvalidStoreIdError",
    "Page",
    "PersistenceError",
    "QueryError",
    "QueryPlan",
    "SchemaValidationError",
    "StorageLike",
    "StoreChange",
    "StoreDefinition",
    "StoreDefinitionError",
    "StoreDependencyCycleError",
    "StoreDisposedError",
    "StoreError",
    "StoreHub",
    "StoreHubError",
    "StoreState",
    "StoresAccessor",
    "UnknownWriteStrategyError",
    "WriteContext",
    "WriteStrategy",
    "__version__",
    "create_client",
    "define_store",
    "new_id",
    "provide",
]
