"""provide(): register atomiton.storage's default StorageClient in a platform Container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atomiton.storage._client import StorageClient
from atomiton.storage._monitored import MonitoredStorage, report_to_events

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.platform import Container


def provide(container: Container, settings: Mapping[str, Any] | None = None) -> None:
    """Register the default StorageClient under ``StorageClient`` and the key ``"storage"``.

    Lazy: nothing is opened until the first resolve, and both keys give the same client. It is
    SQLite at ``atomiton.platform.data_dir() / "atomiton.db"`` unless ``settings["storage.url"]``
    names another (see ``open_storage``). When the container also holds ``"events"`` (checked at
    resolve time), every operation is reported there as a ``storage.operation`` event, unless
    ``settings["storage.events"]`` is false. The container closes the client on ``close()``.

    Args:
        container: The application's container.
        settings: Optional ``"storage.url"`` (str) and ``"storage.events"`` (bool, default True).
    """
    options = dict(settings or {})
    # The key, fixed now (an abstract class is a fine key, but mypy wants it spelled as Any).
    registered: Any = StorageClient

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
        storage: StorageClient = container.resolve(registered)
        return storage

    container.singleton(registered, build_storage)
    container.singleton("storage", same_storage)
