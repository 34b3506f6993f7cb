"""A writer process SIGKILLed mid-stream, many times: the store is never corrupt, never holds a
partial value, keeps every write that returned, and applies each write_many all or nothing."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from atomiton.storage import FileStorage, SQLiteStorage, StorageClient

from ._child import BATCH_SIZE, make_value, parse_seq

CHILD = Path(__file__).with_name("_child.py")
ROUNDS = 12


def _run_and_kill(kind: str, path: Path, round_: int, rng: random.Random) -> list[str]:
    """Start a writer, let it acknowledge a random number of writes, SIGKILL it mid-stream."""
    env = {**os.environ, "PYTHONPATH": str(CHILD.parent)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "crash", kind, str(path), str(round_)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    wanted = rng.randint(1, 40)
    while len(acknowledged) < wanted:
        line = child.stdout.readline()
        if not line:
            raise AssertionError(f"writer died by itself: {child.stderr.read()}")  # type: ignore[union-attr]
        acknowledged.append(line)
    child.send_signal(signal.SIGKILL)
    rest, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # Everything printed before the kill was printed after its write returned.
    acknowledged.extend(rest.splitlines(keepends=True))
    return [line for line in acknowledged if line.endswith("\n")]


def _check(storage: StorageClient, acknowledged: dict[str, int], batches: set[str]) -> None:
    present_batches: dict[str, int] = {}
    for key, value in storage.items():
        parse_seq(key, value)  # never partial, never mixed
        if key.startswith("batch/"):
            batch = key.split("/")[1]
            present_batches[batch] = present_batches.get(batch, 0) + 1
    for batch, count in present_batches.items():
        assert count == BATCH_SIZE, f"batch {batch} is half applied ({count}/{BATCH_SIZE})"
    assert batches <= present_batches.keys(), "an acknowledged write_many is missing"
    for key, seq in acknowledged.items():
        stored = storage.read(key)
        assert stored is not None, f"acknowledged write of {key} is missing"
        assert parse_seq(key, stored) >= seq, f"{key} went back before an acknowledged write"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_killed_writer_never_corrupts_or_loses_acknowledged_writes(
    kind: str, tmp_path: Path
) -> None:
    path = tmp_path / ("kv.db" if kind == "sqlite" else "root")
    rng = random.Random(f"crash-{kind}")
    acknowledged: dict[str, int] = {}
    batches: set[str] = set()
    for round_ in range(1, ROUNDS + 1):
        for line in _run_and_kill(kind, path, round_, rng):
            parts = line.split()
            if parts[0] == "w":
                acknowledged[parts[1]] = max(acknowledged.get(parts[1], 0), int(parts[2]))
            else:
                batches.add(parts[1])
        if kind == "sqlite":
            with closing(sqlite3.connect(path)) as raw:
                assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            storage: StorageClient = SQLiteStorage(path)
        else:
            storage = FileStorage(path)  # reopening rolls a committed batch forward
        with storage:
            _check(storage, acknowledged, batches)
    assert acknowledged
    assert batches


def _kill_at_replace(root: Path, replaces: int) -> None:
    """Run a batch-kill child that dies at its ``replaces``-th rename (see ``_child.py``)."""
    env = {**os.environ, "PYTHONPATH": str(CHILD.parent)}
    done = subprocess.run(
        [sys.executable, str(CHILD), "batch-kill", str(root), str(replaces)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


@pytest.mark.parametrize("replaces", range(BATCH_SIZE + 1))
def test_file_write_many_killed_at_each_rename_is_all_or_nothing(
    replaces: int, tmp_path: Path
) -> None:
    """A real SIGKILL at every step of a FileStorage batch: before the journal's rename (the
    commit point) nothing shows; after it, reopening completes the batch, even when a second
    process dies while rolling it forward."""
    root = tmp_path / "root"
    keys = [f"k/{i}" for i in range(BATCH_SIZE)]
    with FileStorage(root) as storage:
        storage.write_many({key: make_value(key, 1) for key in keys})
    _kill_at_replace(root, replaces)
    is_committed = replaces >= 1
    assert (root / "~journal").exists() == is_committed
    if is_committed and replaces < BATCH_SIZE:
        _kill_at_replace(root, 1)  # dies again, one rename into the roll-forward
        assert (root / "~journal").exists()
    with FileStorage(root) as storage:
        stored = {key: parse_seq(key, value) for key, value in storage.items()}
    assert stored == dict.fromkeys(keys, 2 if is_committed else 1)
    assert not (root / "~journal").exists()
    assert not list(root.rglob("*.tmp"))  # the dead writers' staged files are gone too
