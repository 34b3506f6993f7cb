"""atom_with_storage on real atomiton.storage backends: persistence, RESET, two stores/processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from atomiton.storage import JsonCodec, MemoryStorage, MsgpackCodec, SQLiteStorage
from atomiton.store import RELOAD, RESET, atom_with_storage, create_store
from atomiton.store._utilities._storage_atom import Codec, KeyValueStorage

BACKENDS: list[Any] = [
    pytest.param(lambda p: MemoryStorage(), id="memory"),
    pytest.param(lambda p: SQLiteStorage(p / "atoms.db"), id="sqlite"),
]


@pytest.mark.parametrize("make", BACKENDS)
def test_values_persist_and_reset_deletes_the_key(
    make: Callable[[Path], Any], tmp_path: Path
) -> None:
    storage = make(tmp_path)
    assert isinstance(cast(object, storage), KeyValueStorage)  # (no narrowing: close() below)
    prefs: Any = atom_with_storage("app/prefs", {"theme": "light"}, storage)
    store = create_store()
    store.set(prefs, {"theme": "dark", "size": 12})
    assert storage.read("app/prefs") == b'{"theme":"dark","size":12}'
    assert create_store().get(prefs) == {"theme": "dark", "size": 12}
    store.set(prefs, RESET)
    assert storage.read("app/prefs") is None
    assert store.get(prefs) == {"theme": "light"}
    storage.close()


def test_two_stores_on_one_sqlite_file_through_two_connections(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with SQLiteStorage(path) as first, SQLiteStorage(path) as second:
        mine = atom_with_storage("counter", 0, first)
        theirs = atom_with_storage("counter", 0, second)
        a, b = create_store(), create_store()
        a.set(mine, 41)
        assert b.get(theirs) == 41
        b.set(theirs, 42)
        a.set(mine, RELOAD)  # re-read
        assert a.get(mine) == 42


def test_another_process_write_is_seen_on_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with SQLiteStorage(path) as storage:
        count = atom_with_storage("count", 0, storage)
        store = create_store()
        assert store.get(count) == 0
        script = textwrap.dedent(
            f"""
            from atomiton.storage import SQLiteStorage
            from atomiton.store import create_store
            from atomiton.store._utilities._storage_atom import atom_with_storage

            with SQLiteStorage({str(path)!r}) as storage:
                create_store().set(atom_with_storage("count", 0, storage), 7)
            """
        )
        subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
        store.set(count, RELOAD)  # re-read: no push across processes (that is sync_atoms' job)
        assert store.get(count) == 7


@pytest.mark.parametrize("codec", [JsonCodec(), MsgpackCodec()], ids=["json", "msgpack"])
def test_the_storage_packages_codecs_fit(codec: Any) -> None:
    assert isinstance(codec, Codec)
    storage = MemoryStorage()
    value = atom_with_storage("v", [1, "two"], storage, codec=codec)
    create_store().set(value, [3, "four"])
    assert create_store().get(value) == [3, "four"]
