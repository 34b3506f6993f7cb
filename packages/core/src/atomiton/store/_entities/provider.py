"""``provide(container, settings)``: the entity client as a lazily built container service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atomiton.store._entities.client import EntityClient, create_client
from atomiton.store._entities.protocols import ContainerLike

__all__ = ["provide"]


def provide(container: ContainerLike, settings: Mapping[str, Any] | None = None) -> None:
    """Register the entity client lazily under ``EntityClient`` and ``"store.client"``.

    At resolve time it uses the container's ``"storage"`` and ``"events"`` services if the
    container has them (checked with ``container.has``), else memory and no events.
    Settings: ``store.hydrate`` (``"lazy"``/``"eager"``), ``store.flush_interval`` (seconds).
    """
    options = dict(settings or {})

    def build_client() -> EntityClient:
        storage = container.resolve("storage") if container.has("storage") else None
        events = container.resolve("events") if container.has("events") else None
        interval = options.get("store.flush_interval", 1.0)
        return create_client(
            storage,
            events=events,
            hydrate=options.get("store.hydrate", "lazy"),
            flush_interval=None if interval is None else float(interval),
        )

    def resolve_client() -> EntityClient:
        client: EntityClient = container.resolve(EntityClient)
        return client

    container.singleton(EntityClient, build_client)
    container.singleton("store.client", resolve_client)
