"""provide(): register atomiton.storage's default StorageClient in a platform Container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from atomiton.storage._client import StorageClient
from atomiton.storage._monitored import MonitoredStorage, report_to_events


class Container(Protocol):
    """The part of ``atomiton.platform.Container`` this provider uses."""

    def singleton(self, key: Any, factory: Any = None) -> Any:
        """Register a lazily built, shared service."""

    def has(self, key: Any) -> bool:
        """Tell whether ``key`` is registered."""

    def resolve(self, key: Any) -> Any:
        """Build or fetch the service registered under ``key``."""


def provide(container: Container, settings: Mapping[str, Any] | None = None) -> None:
    """Register the default StorageClient under ``StorageClient`` and the key ``"storage"``.

    Lazy: nothing is opened until the first resolve. The client is SQLite at
    ``atomiton.platform.data_dir() / "atomiton.db"`` unless ``settings["storage.url"]`` names
    another (see ``open_storage``). When the container also holds ``"events"`` (checked at
    resolve time), every operation is reported there as a ``storage.operation`` event, unless
    ``settings["storage.events"]`` is false. The container closes the client on ``close()``.

    Args:
        container: The application's container.
        settings: Optional ``"storage.url"`` and ``"storage.events"``.
    """
    options = dict(settings or {})

    def build_storage() -> StorageClient:
        from atomiton.storage._url import open_storage

        url = options.get("storage.url")
        if url:
            storage = open_storage(str(url))
        else:
            from atomiton.platform import data_dir
            from atomiton.storage._sqlite import SQLiteStorage

            storage = SQLiteStorage(data_dir() / "atomiton.db")
        if options.get("storage.events", True) and container.has("events"):
            storage = MonitoredStorage(storage, report_to_events(container.resolve("events")))
        return storage

    def same_storage() -> StorageClient:
        storage: StorageClient = container.resolve(StorageClient)
        return storage

    container.singleton(StorageClient, build_storage)
    container.singleton("storage", same_storage)
