"""The entity client on real atomiton.storage backends: persistence, the outbox, a killed writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atomiton.storage import CachedStorage, MemoryStorage, MonitoredStorage, SQLiteStorage
from atomiton.store import StorageLike, create_client


@pytest.mark.parametrize(
    "make",
    [
        lambda p: SQLiteStorage(p / "app.db"),
        lambda p: MemoryStorage(),
        lambda p: CachedStorage(SQLiteStorage(p / "cached.db"), item_limit=100),
        lambda p: MonitoredStorage(SQLiteStorage(p / "monitored.db"), lambda record: None),
    ],
    ids=["sqlite", "memory", "cached-sqlite", "monitored-sqlite"],
)
def test_real_backends_satisfy_the_storage_protocol_and_keep_entities(
    make: Callable[[Path], Any], tmp_path: Path
) -> None:
    storage = make(tmp_path)
    assert isinstance(storage, StorageLike)
    client = create_client(storage, flush_interval=None)
    client.configure("Todo", indexes=["priority"])
    todos = client.stores.Todo
    a = todos.add_one({"title": "a", "priority": 2})
    todos.add_one({"title": "b", "priority": 1}, write_strategy="queue")
    with client.batch():
        todos.update_one(a["id"], {"priority": 3})
        todos.add_one({"title": "c", "priority": 3})
    client.dispose()
    again = create_client(storage, flush_interval=None)
    page = again.stores.Todo.find_many({"priority": 3}, order_by="title")
    assert [e["title"] for e in page.data] == ["a", "c"]
    assert again.stores.Todo.count() == 3
    again.dispose()
    storage.close()


def test_sqlite_file_is_shared_by_two_clients_in_sequence(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    first = SQLiteStorage(path)
    client = create_client(first, flush_interval=None)
    ids = [e["id"] for e in client.stores.Todo.add_many([{"n": i} for i in range(50)])]
    client.stores.Todo.delete_one(ids[0], force=True)
    client.stores.Todo.delete_one(ids[1])
    client.dispose()
    first.close()
    second = SQLiteStorage(path)
    reopened = create_client(second, hydrate="eager", flush_interval=None)
    assert reopened.stores.Todo.count() == 48
    assert reopened.stores.Todo.get_one(ids[0], include_deleted=True) is None
    assert reopened.stores.Todo.get_one(ids[1], include_deleted=True) is not None
    reopened.dispose()
    second.close()


WRITER = textwrap.dedent(
    """
    import sys
    from atomiton.storage import SQLiteStorage
    from atomiton.store import create_client

    client = create_client(SQLiteStorage(sys.argv[1]), flush_interval=None)
    i = 0
    while True:
        entity = client.stores.Todo.add_one({"n": i}, write_strategy="queue")
        print(entity["id"], flush=True)
        i += 1
    """
)


@pytest.mark.slow
def test_sigkilled_writer_on_sqlite_storage_loses_no_queued_write(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    returned: list[str] = []
    for line in proc.stdout:
        returned.append(line.strip())
        if len(returned) >= 200:
            os.kill(proc.pid, signal.SIGKILL)
            break
    # Read the rest through the same buffered reader (communicate() would skip its buffer).
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    returned += [line for line in rest.split() if len(line) == 26]  # the last may be cut short
    assert proc.returncode == -signal.SIGKILL, err
    storage = SQLiteStorage(db)
    client = create_client(storage, flush_interval=None)
    assert client.pending_writes >= len(returned)  # nothing was flushed before the kill
    found = {e["id"] for e in client.stores.Todo.get_all()}
    assert set(returned) <= found
    client.dispose()
    assert storage.list("atomiton/store/outbox/") == []
    storage.close()
