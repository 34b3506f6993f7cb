"""atomiton.store: see the package README for the whole public API.

Importing the package loads only this module: each public name comes from its private module on
first access (PEP 562 ``__getattr__``), so ``import atomiton.store`` stays under its 10 ms budget
(issue 19).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.store._atoms._sync_atoms import AtomSync as AtomSync
    from atomiton.store._atoms._sync_atoms import sync_atoms as sync_atoms
    from atomiton.store._atoms.atom import Atom as Atom
    from atomiton.store._atoms.atom import Computed as Computed
    from atomiton.store._atoms.atom import Getter as Getter
    from atomiton.store._atoms.atom import PrimitiveAtom as PrimitiveAtom
    from atomiton.store._atoms.atom import Setter as Setter
    from atomiton.store._atoms.atom import WritableComputed as WritableComputed
    from atomiton.store._atoms.create import create_store as create_store
    from atomiton.store._atoms.factories import atom as atom
    from atomiton.store._atoms.factories import computed as computed
    from atomiton.store._atoms.index import AtomMetadata as AtomMetadata
    from atomiton.store._atoms.plugins import PluginHooks as PluginHooks
    from atomiton.store._atoms.registry import AtomRegistry as AtomRegistry
    from atomiton.store._atoms.registry import default_registry as default_registry
    from atomiton.store._atoms.snapshot import Snapshot as Snapshot
    from atomiton.store._atoms.store import Store as Store
    from atomiton.store._atoms.store import StorePlugin as StorePlugin
    from atomiton.store._atoms.time_travel import HistoryEntry as HistoryEntry
    from atomiton.store._atoms.time_travel import TimeTravel as TimeTravel
    from atomiton.store._entities._live import LiveWatch as LiveWatch
    from atomiton.store._entities._sync import SyncBus as SyncBus
    from atomiton.store._entities._sync import SyncConflict as SyncConflict
    from atomiton.store._entities.changes import EntityChange as EntityChange
    from atomiton.store._entities.client import EntityClient as EntityClient
    from atomiton.store._entities.client import create_client as create_client
    from atomiton.store._entities.facades import EntityStore as EntityStore
    from atomiton.store._entities.facades import StoresAccessor as StoresAccessor
    from atomiton.store._entities.handle import StoreChange as StoreChange
    from atomiton.store._entities.history import EntityHistory as EntityHistory
    from atomiton.store._entities.ids import new_id as new_id
    from atomiton.store._entities.protocols import ContainerLike as ContainerLike
    from atomiton.store._entities.protocols import StorageLike as StorageLike
    from atomiton.store._entities.provider import provide as provide
    from atomiton.store._entities.query import Page as Page
    from atomiton.store._entities.query import QueryPlan as QueryPlan
    from atomiton.store._entities.strategies import WriteContext as WriteContext
    from atomiton.store._entities.strategies import WriteStrategy as WriteStrategy
    from atomiton.store._errors import AtomSyncError as AtomSyncError
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
    from atomiton.store._errors import SplitItemMissingError as SplitItemMissingError
    from atomiton.store._errors import StoreDefinitionError as StoreDefinitionError
    from atomiton.store._errors import StoreDependencyCycleError as StoreDependencyCycleError
    from atomiton.store._errors import StoreDisposedError as StoreDisposedError
    from atomiton.store._errors import StoreError as StoreError
    from atomiton.store._errors import StoreHubError as StoreHubError
    from atomiton.store._errors import UnknownAtomError as UnknownAtomError
    from atomiton.store._errors import UnknownWriteStrategyError as UnknownWriteStrategyError
    from atomiton.store._hub.hub import HubInstance as HubInstance
    from atomiton.store._hub.hub import StoreDefinition as StoreDefinition
    from atomiton.store._hub.hub import StoreHub as StoreHub
    from atomiton.store._hub.hub import StoreState as StoreState
    from atomiton.store._hub.hub import define_store as define_store
    from atomiton.store._utilities._family import AtomFamily as AtomFamily
    from atomiton.store._utilities._family import atom_family as atom_family
    from atomiton.store._utilities._loadable import HasData as HasData
    from atomiton.store._utilities._loadable import HasError as HasError
    from atomiton.store._utilities._loadable import Loadable as Loadable
    from atomiton.store._utilities._loadable import Loading as Loading
    from atomiton.store._utilities._loadable import loadable as loadable
    from atomiton.store._utilities._loadable import unwrap as unwrap
    from atomiton.store._utilities._reducer import atom_with_reducer as atom_with_reducer
    from atomiton.store._utilities._refresh import atom_with_refresh as atom_with_refresh
    from atomiton.store._utilities._reset import RESET as RESET
    from atomiton.store._utilities._reset import Reset as Reset
    from atomiton.store._utilities._reset import atom_with_default as atom_with_default
    from atomiton.store._utilities._reset import atom_with_reset as atom_with_reset
    from atomiton.store._utilities._select import select_atom as select_atom
    from atomiton.store._utilities._split import InsertItem as InsertItem
    from atomiton.store._utilities._split import MoveItem as MoveItem
    from atomiton.store._utilities._split import RemoveItem as RemoveItem
    from atomiton.store._utilities._split import SplitAction as SplitAction
    from atomiton.store._utilities._split import split_atom as split_atom
    from atomiton.store._utilities._storage_atom import JSON as JSON
    from atomiton.store._utilities._storage_atom import RELOAD as RELOAD
    from atomiton.store._utilities._storage_atom import Reload as Reload
    from atomiton.store._utilities._storage_atom import atom_with_storage as atom_with_storage
    from atomiton.store._utilities._watch import AtomWatch as AtomWatch
    from atomiton.store._version import __version__ as __version__

__all__ = [
    "JSON",
    "RELOAD",
    "RESET",
    "Atom",
    "AtomFamily",
    "AtomMetadata",
    "AtomRegistry",
    "AtomSync",
    "AtomSyncError",
    "AtomWatch",
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
    "Getter",
    "HasData",
    "HasError",
    "HistoryEntry",
    "HubDisposedError",
    "HubInstance",
    "InsertItem",
    "InvalidEntityIdError",
    "InvalidStoreIdError",
    "IsolationError",
    "ListenersDidNotSettleError",
    "LiveWatch",
    "Loadable",
    "Loading",
    "MoveItem",
    "Page",
    "PendingError",
    "PersistenceError",
    "PluginHooks",
    "PrimitiveAtom",
    "QueryError",
    "QueryPlan",
    "ReadOnlyAtomError",
    "Reload",
    "RemoveItem",
    "Reset",
    "SchemaValidationError",
    "Setter",
    "Snapshot",
    "SplitAction",
    "SplitItemMissingError",
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
    "SyncBus",
    "SyncConflict",
    "TimeTravel",
    "UnknownAtomError",
    "UnknownWriteStrategyError",
    "WritableComputed",
    "WriteContext",
    "WriteStrategy",
    "__version__",
    "atom",
    "atom_family",
    "atom_with_default",
    "atom_with_reducer",
    "atom_with_refresh",
    "atom_with_reset",
    "atom_with_storage",
    "computed",
    "create_client",
    "create_store",
    "default_registry",
    "define_store",
    "loadable",
    "new_id",
    "provide",
    "select_atom",
    "split_atom",
    "sync_atoms",
    "unwrap",
]

# Public name -> private module that defines it.
_HOME = {
    "Atom": "_atoms.atom",
    "AtomFamily": "_utilities._family",
    "AtomMetadata": "_atoms.index",
    "AtomRegistry": "_atoms.registry",
    "AtomSync": "_atoms._sync_atoms",
    "AtomSyncError": "_errors",
    "AtomWatch": "_utilities._watch",
    "ClientDisposedError": "_errors",
    "Computed": "_atoms.atom",
    "ContainerLike": "_entities.protocols",
    "CycleError": "_errors",
    "DuplicateAtomNameWarning": "_errors",
    "DuplicateEntityError": "_errors",
    "EntityChange": "_entities.changes",
    "EntityClient": "_entities.client",
    "EntityHistory": "_entities.history",
    "EntityNotFoundError": "_errors",
    "EntityStore": "_entities.facades",
    "EntityStoreError": "_errors",
    "Getter": "_atoms.atom",
    "HasData": "_utilities._loadable",
    "HasError": "_utilities._loadable",
    "HistoryEntry": "_atoms.time_travel",
    "HubDisposedError": "_errors",
    "InsertItem": "_utilities._split",
    "InvalidEntityIdError": "_errors",
    "InvalidStoreIdError": "_errors",
    "IsolationError": "_errors",
    "JSON": "_utilities._storage_atom",
    "ListenersDidNotSettleError": "_errors",
    "LiveWatch": "_entities._live",
    "Loadable": "_utilities._loadable",
    "Loading": "_utilities._loadable",
    "MoveItem": "_utilities._split",
    "Page": "_entities.query",
    "PendingError": "_errors",
    "PersistenceError": "_errors",
    "PluginHooks": "_atoms.plugins",
    "PrimitiveAtom": "_atoms.atom",
    "QueryError": "_errors",
    "QueryPlan": "_entities.query",
    "RELOAD": "_utilities._storage_atom",
    "RESET": "_utilities._reset",
    "ReadOnlyAtomError": "_errors",
    "Reload": "_utilities._storage_atom",
    "RemoveItem": "_utilities._split",
    "Reset": "_utilities._reset",
    "SchemaValidationError": "_errors",
    "Setter": "_atoms.atom",
    "Snapshot": "_atoms.snapshot",
    "SplitAction": "_utilities._split",
    "SplitItemMissingError": "_errors",
    "StorageLike": "_entities.protocols",
    "Store": "_atoms.store",
    "StoreChange": "_entities.handle",
    "HubInstance": "_hub.hub",
    "StoreDefinition": "_hub.hub",
    "StoreDefinitionError": "_errors",
    "StoreDependencyCycleError": "_errors",
    "StoreDisposedError": "_errors",
    "StoreError": "_errors",
    "StoreHub": "_hub.hub",
    "StoreHubError": "_errors",
    "StorePlugin": "_atoms.store",
    "StoreState": "_hub.hub",
    "StoresAccessor": "_entities.facades",
    "SyncBus": "_entities._sync",
    "SyncConflict": "_entities._sync",
    "TimeTravel": "_atoms.time_travel",
    "UnknownAtomError": "_errors",
    "UnknownWriteStrategyError": "_errors",
    "WritableComputed": "_atoms.atom",
    "WriteContext": "_entities.strategies",
    "WriteStrategy": "_entities.strategies",
    "__version__": "_version",
    "atom": "_atoms.factories",
    "atom_family": "_utilities._family",
    "atom_with_default": "_utilities._reset",
    "atom_with_reducer": "_utilities._reducer",
    "atom_with_refresh": "_utilities._refresh",
    "atom_with_reset": "_utilities._reset",
    "atom_with_storage": "_utilities._storage_atom",
    "computed": "_atoms.factories",
    "create_client": "_entities.client",
    "create_store": "_atoms.create",
    "default_registry": "_atoms.registry",
    "define_store": "_hub.hub",
    "loadable": "_utilities._loadable",
    "new_id": "_entities.ids",
    "provide": "_entities.provider",
    "select_atom": "_utilities._select",
    "split_atom": "_utilities._split",
    "sync_atoms": "_atoms._sync_atoms",
    "unwrap": "_utilities._loadable",
}


# Hidden from type checkers so a misspelt name is still a type error for users.
if not TYPE_CHECKING:
    from atomiton.platform import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
