"""``create_store``: a new store, attached to a registry, with plugins."""

from __future__ import annotations

from typing import Literal

from atomiton.store._atoms.registry import AtomRegistry, default_registry
from atomiton.store._atoms.store import Store, StorePlugin


def create_store(
    *,
    plugins: list[StorePlugin] | tuple[StorePlugin, ...] = (),
    registry_mode: Literal["isolated", "global"] = "isolated",
    registry: AtomRegistry | None = None,
    name: str | None = None,
) -> Store:
    """Create a store.

    Args:
        plugins: Plugins called with the store now (see ``Store.use``).
        registry_mode: ``"isolated"`` (default): the store holds its own values.
            ``"global"``: every global-mode store of the same registry shares one set of
            values (and listeners and plugins).
        registry: The registry to attach to (default: ``default_registry``).
        name: The store's name (default ``store-<n>``).

    Returns:
        The new store.
    """
    if registry_mode not in ("isolated", "global"):
        raise ValueError(f"registry_mode must be 'isolated' or 'global', got {registry_mode!r}")
    if registry is None:
        registry = default_registry
    store = Store(name=name)
    registry.attach_store(store, mode=registry_mode)
    for plugin in plugins:
        store.use(plugin)
    return store
