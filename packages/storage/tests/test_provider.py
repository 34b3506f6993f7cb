"""provide() registers the default StorageClient lazily under StorageClient and "storage"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atomiton.platform import Container
from atomiton.storage import (
    FileStorage,
    MemoryStorage,
    MonitoredStorage,
    SQLiteStorage,
    StorageClient,
    provide,
)

STORAGE_KEY: Any = StorageClient  # abstract classes are fine keys; mypy wants them as Any


def test_default_is_sqlite_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATOMITON_DATA_DIR", str(tmp_path / "data"))
    container = Container()
    provide(container)
    assert not (tmp_path / "data" / "atomiton.db").exists()  # lazy: nothing opened yet
    storage = container.resolve(STORAGE_KEY)
    assert isinstance(storage, SQLiteStorage)
    assert storage.path == tmp_path / "data" / "atomiton.db"
    assert container.resolve("storage") is storage
    storage.write("k", b"v")
    container.close()
    assert storage.closed


def test_settings_url_chooses_the_backend(tmp_path: Path) -> None:
    container = Container()
    provide(container, {"storage.url": f"file://{tmp_path}/files?fsync=false"})
    storage = container.resolve("storage")
    assert isinstance(storage, FileStorage)
    assert container.resolve(STORAGE_KEY) is storage
    container.close()


def test_operations_become_events_when_the_container_has_a_bus() -> None:
    emitted: list[tuple[str, dict[str, Any], str]] = []

    class Bus:
        def emit(self, type: str, data: Any, /, *, source: str = "") -> None:
            emitted.append((type, data, source))

    container = Container()
    container.instance("events", Bus())
    provide(container, {"storage.url": "memory://"})
    storage = container.resolve(STORAGE_KEY)
    assert isinstance(storage, MonitoredStorage)
    assert isinstance(storage.inner, MemoryStorage)
    storage.write("a/b", b"xyz")
    assert emitted == [
        (
            "storage.operation",
            {
                "operation": "write",
                "keys": ["a/b"],
                "duration": emitted[0][1]["duration"],
                "bytes": 3,
                "error": None,
            },
            "storage",
        )
    ]


def test_events_can_be_switched_off() -> None:
    container = Container()
    container.instance("events", object())
    provide(container, {"storage.url": "memory://", "storage.events": False})
    assert isinstance(container.resolve(STORAGE_KEY), MemoryStorage)
