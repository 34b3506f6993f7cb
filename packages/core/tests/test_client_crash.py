"""A real process SIGKILLed in the middle of queued writes loses nothing that had returned."""

from __future__ import annotations

import inspect
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from atomiton.store import create_client


class SqliteTestStorage:
    """A small durable StorageLike on stdlib sqlite3 (package tests need no atomiton.storage)."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB)")

    def read(self, key: str, /) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def write(self, key: str, data: bytes, /) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, data))

    def delete(self, key: str, /) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount > 0

    def list(self, prefix: str = "", /) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
            ).fetchall()
        return [r[0] for r in rows]

    def read_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        return {k: v for k in keys if (v := self.read(k)) is not None}

    def write_many(self, items: Mapping[str, bytes], /) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", list(items.items()))
            self._db.execute("COMMIT")

    def delete_many(self, keys: Iterable[str], /) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            count = sum(
                self._db.execute("DELETE FROM kv WHERE key = ?", (k,)).rowcount for k in keys
            )
            self._db.execute("COMMIT")
        return count

    def close(self) -> None:
        self._db.close()


WRITER = """
import sqlite3
import sys
import threading
from collections.abc import Iterable, Mapping
{storage_source}
from atomiton.store import create_client

interval = None if sys.argv[2] == "none" else float(sys.argv[2])
client = create_client(SqliteTestStorage(sys.argv[1]), flush_interval=interval)
todos = client.stores.Todo
i = 0
while True:
    if i % 3 == 2:
        entity = todos.update_one(last, {{"n": i}}, write_strategy="queue")
    else:
        entity = todos.add_one({{"n": i}}, write_strategy="queue")
    last = entity["id"]
    print(entity["id"], entity["n"], flush=True)
    i += 1
"""


def run_and_kill(db: Path, interval: str, after_lines: int) -> dict[str, int]:
    """Start a writer, SIGKILL it mid-stream; return {id: n} of every write that returned."""
    script = WRITER.format(storage_source=textwrap.dedent(inspect.getsource(SqliteTestStorage)))
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(db), interval],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    returned: dict[str, int] = {}
    for count, line in enumerate(proc.stdout, start=1):
        entity_id, n = line.split()
        returned[entity_id] = int(n)
        if count >= after_lines:
            os.kill(proc.pid, signal.SIGKILL)
            break
    # Read the rest through the same buffered reader (communicate() would skip its buffer).
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    for line in rest.splitlines():  # lines printed before the kill landed also returned
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 26:  # the last line may be cut short
            returned[parts[0]] = int(parts[1])
    assert proc.returncode == -signal.SIGKILL, err
    return returned


@pytest.mark.slow
@pytest.mark.parametrize("interval", ["none", "0.002"])
def test_sigkill_before_flush_loses_no_queued_write_that_returned(
    tmp_path: Path, interval: str
) -> None:
    db = tmp_path / "crash.db"
    expected: dict[str, int] = {}
    for round_number in range(3):
        expected.update(run_and_kill(db, interval, after_lines=150 + 40 * round_number))
        storage = SqliteTestStorage(str(db))
        client = create_client(storage, flush_interval=None)
        found = {e["id"]: e["n"] for e in client.stores.Todo.get_all()}
        for entity_id, n in expected.items():
            assert entity_id in found, f"round {round_number}: lost {entity_id}"
            # An entity's stored value is the one its latest returned write gave it (or newer).
            assert found[entity_id] >= n
        if interval == "none":
            assert client.pending_writes > 0  # nothing was flushed: all came from the outbox
        client.dispose()  # flushes the adopted outbox into entity keys
        storage.close()
