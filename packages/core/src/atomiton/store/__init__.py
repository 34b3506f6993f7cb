"""atomiton.store: see the package README for the whole public API.

Importing the package loads only this module: each public name comes from its private module on
first access (PEP 562 ``__getattr__``), so ``import atomiton.store`` stays under its 10 ms budget
(issue 19).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.store._atom import Atom as Atom
    from atomiton.store._atom import Computed as Computed
    from atomiton.store._atom import Getter as Getter
    from atomiton.store._atom import PrimitiveAtom as PrimitiveAtom
    from atomiton.store._atom import Setter as Setter
    from atomiton.store._atom import WritableComputed as WritableComputed
    from atomiton.store._atom import atom as atom
    from atomiton.store._atom import computed as computed
    from atomiton.store._client import EntityClient as EntityClient
    from atomiton.store._client import create_client as create_client
    from atomiton.store._entities import EntityStore as EntityStore
    from atomiton.store._entities import StoresAccessor as StoresAccessor
    from atomiton.store._entities_handle import StoreChange as StoreChange
    from atomiton.store._entities_history import EntityHistory as EntityHistory
    from atomiton.store._entities_provider import provide as provide
    from atomiton.store._entities_storage import InMemoryStorage as InMemoryStorage
    from atomiton.store._errors import ClientDisposedError as ClientDisposedError
    from atomiton.store._errors import CycleError as CycleError
    from atomiton.store._errors import DuplicateAtomNameWarning as DuplicateAtomNameWarning
    from atomiton.store._errors import DuplicateEntityError as DuplicateEntityError
    from atomiton.store._errors import EntityNotFoundError as EntityNotFoundError
    from atomiton.store._errors import EntityStoreError as EntityStoreError
    from atomiton.store._errors import HubDisposedError as HubDisposedError
    from atomiton.store._errors import InvalidEntityIdError as InvalidEntityIdError
    from atomiton.store._errors import InvalidStoreIdError as InvalidStoreIdError
    from atomiton.store._errors import IsolationError as IsolationError
    from atomiton.store._errors import ListenersDidNotSettleError as ListenersDidNotSettleError
    from atomiton.store._errors import PendingError as PendingError
    from atomiton.store._errors import PersistenceError as PersistenceError
    from atomiton.store._errors import QueryError as QueryError
    from atomiton.store._errors import ReadOnlyAtomError as ReadOnlyAtomError
    from atomiton.store._errors import SchemaValidationError as SchemaValidationError
    from atomiton.store._errors import StoreDefinitionError as StoreDefinitionError
    from atomiton.store._errors import StoreDependencyCycleError as StoreDependencyCycleError
    from atomiton.store._errors import StoreDisposedError as StoreDisposedError
    from atomiton.store._errors import StoreError as StoreError
    from atomiton.store._errors import StoreHubError as StoreHubError
    from atomiton.store._errors import UnknownAtomError as UnknownAtomError
    from atomiton.store._errors import UnknownWriteStrategyError as UnknownWriteStrategyError
    from atomiton.store._hub import StoreDefinition as StoreDefinition
    from atomiton.store._hub import StoreHub as StoreHub
    from atomiton.store._hub import StoreState as StoreState
    from atomiton.store._hub import define_store as define_store
    from atomiton.store._ids import new_id as new_id
    from atomiton.store._protocols import ContainerLike as ContainerLike
    from atomiton.store._protocols import EventEmitter as EventEmitter
    from atomiton.store._protocols import StorageLike as StorageLike
    from atomiton.store._query import Page as Page
    from atomiton.store._query import QueryPlan as QueryPlan
    from atomiton.store._registry import AtomMetadata as AtomMetadata
    from atomiton.store._registry import AtomRegistry as AtomRegistry
    from atomiton.store._registry import default_registry as default_registry
    from atomiton.store._store import PluginHooks as PluginHooks
    from atomiton.store._store import Snapshot as Snapshot
    from atomiton.store._store import Store as Store
    from atomiton.store._store import StorePlugin as StorePlugin
    from atomiton.store._store import create_store as create_store
    from atomiton.store._strategies import EntityChange as EntityChange
    from atomiton.store._strategies import WriteContext as WriteContext
    from atomiton.store._strategies import WriteStrategy as WriteStrategy
    from atomiton.store._time_travel import HistoryEntry as HistoryEntry
    from atomiton.store._time_travel import TimeTravel as TimeTravel
    from atomiton.store._version import __version__ as __version__

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

# Public name -> private module that defines it.
_HOME = {
    "Atom": "_atom",
    "AtomMetadata": "_registry",
    "AtomRegistry": "_registry",
    "ClientDisposedError": "_errors",
    "Computed": "_atom",
    "ContainerLike": "_protocols",
    "CycleError": "_errors",
    "DuplicateAtomNameWarning": "_errors",
    "DuplicateEntityError": "_errors",
    "EntityChange": "_strategies",
    "EntityClient": "_client",
    "EntityHistory": "_entities_history",
    "EntityNotFoundError": "_errors",
    "EntityStore": "_entities",
    "EntityStoreError": "_errors",
    "EventEmitter": "_protocols",
    "Getter": "_atom",
    "HistoryEntry": "_time_travel",
    "HubDisposedError": "_errors",
    "InMemoryStorage": "_entities_storage",
    "InvalidEntityIdError": "_errors",
    "InvalidStoreIdError": "_errors",
    "IsolationError": "_errors",
    "ListenersDidNotSettleError": "_errors",
    "Page": "_query",
    "PendingError": "_errors",
    "PersistenceError": "_errors",
    "PluginHooks": "_store",
    "PrimitiveAtom": "_atom",
    "QueryError": "_errors",
    "QueryPlan": "_query",
    "ReadOnlyAtomError": "_errors",
    "SchemaValidationError": "_errors",
    "Setter": "_atom",
    "Snapshot": "_store",
    "StorageLike": "_protocols",
    "Store": "_store",
    "StoreChange": "_entities_handle",
    "StoreDefinition": "_hub",
    "StoreDefinitionError": "_errors",
    "StoreDependencyCycleError": "_errors",
    "StoreDisposedError": "_errors",
    "StoreError": "_errors",
    "StoreHub": "_hub",
    "StoreHubError": "_errors",
    "StorePlugin": "_store",
    "StoreState": "_hub",
    "StoresAccessor": "_entities",
    "TimeTravel": "_time_travel",
    "UnknownAtomError": "_errors",
    "UnknownWriteStrategyError": "_errors",
    "WritableComputed": "_atom",
    "WriteContext": "_strategies",
    "WriteStrategy": "_strategies",
    "__version__": "_version",
    "atom": "_atom",
    "computed": "_atom",
    "create_client": "_client",
    "create_store": "_store",
    "default_registry": "_registry",
    "define_store": "_hub",
    "new_id": "_ids",
    "provide": "_entities_provider",
}


# Hidden from type checkers so a misspelt name is still a type error for users.
if not TYPE_CHECKING:
    from atomiton.platform import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
