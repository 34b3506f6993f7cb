"""The entity client's and the hub's public names are exported, and __all__ stays sorted."""

import atomiton.store

PART_TWO = {
    "ClientDisposedError",
    "ContainerLike",
    "DuplicateEntityError",
    "EntityChange",
    "EntityClient",
    "EntityHistory",
    "EntityNotFoundError",
    "EntityStore",
    "EntityStoreError",
    "HubDisposedError",
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
    "StoreHub",
    "StoreHubError",
    "StoreState",
    "StoresAccessor",
    "UnknownWriteStrategyError",
    "WriteContext",
    "WriteStrategy",
    "create_client",
    "define_store",
    "new_id",
    "provide",
}


def test_entity_client_and_hub_names_are_exported() -> None:
    assert set(atomiton.store.__all__) >= PART_TWO
    for name in PART_TWO:
        assert getattr(atomiton.store, name) is not None


def _isort_style(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then everything else; each alphabetical.
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def test_all_is_sorted() -> None:
    assert list(atomiton.store.__all__) == sorted(atomiton.store.__all__, key=_isort_style)


def test_every_error_derives_from_store_error() -> None:
    for name in PART_TWO:
        value = getattr(atomiton.store, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, atomiton.store.StoreError), name
