"""Writers SIGKILLed inside write_many leave staged files; opening the root removes them, and
never a file a live writer still needs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from atomiton.storage import FileStorage

from ._child import make_value, parse_seq

CHILD = Path(__file__).with_name("_child.py")
_ENV = {**os.environ, "PYTHONPATH": str(CHILD.parent)}


def _temp_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*~*.tmp") if "~writers" not in path.parts)


def _kill_while_staged(root: Path, keys: int, replaces: int = 0) -> None:
    """Start a writer, wait until it is inside write_many with its files staged, SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "stage-and-wait", str(root), str(keys), str(replaces)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_ENV,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "staged\n", child.communicate(timeout=30)[1]
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL


def test_opening_removes_what_killed_writers_staged_and_keeps_every_key(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with FileStorage(root, fsync=False) as storage:
        storage.write_many({f"batch/{i}": b"before" for i in range(3)})
        storage.write("other/key", b"kept")
    for _ in range(3):
        _kill_while_staged(root, keys=40)
    # Each new writer's open removed the previous one's files: only the last kill's are left,
    # its 40 staged values and its staged journal.
    assert len(_temp_files(root)) == 41
    assert not (root / "~journal").exists()  # killed before the commit point
    with FileStorage(root, fsync=False) as storage:
        assert _temp_files(root) == []
        assert storage.read_many(["batch/0", "batch/1", "batch/2", "batch/3"]) == dict.fromkeys(
            ["batch/0", "batch/1", "batch/2"], b"before"
        )
        assert storage.read("other/key") == b"kept"
        assert len(storage) == 4
    assert sorted(os.listdir(root / "~writers")) == []  # the dead writers' markers went too


def test_a_batch_committed_before_the_kill_is_applied_before_the_sweep(tmp_path: Path) -> None:
    root = tmp_path / "root"
    FileStorage(root, fsync=False).close()
    _kill_while_staged(root, keys=5, replaces=1)  # the journal's rename (the commit) landed
    assert (root / "~journal").exists()
    assert len(_temp_files(root)) == 5
    with FileStorage(root, fsync=False) as storage:
        assert {key: parse_seq(key, value) for key, value in storage.items()} == {
            f"batch/{i}": 1 for i in range(5)
        }
    assert _temp_files(root) == []


def test_leftovers_of_writers_without_markers_go_on_purge_expired(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with FileStorage(root, fsync=False) as storage:
        storage.write("a/b", b"v")
        # What an older version's killed writer left: no marker tells opening to look.
        (root / "a@" / "b~4242-7.tmp").write_bytes(b"half")
        (root / "c~1-0.tmp").write_bytes(b"half")
        (root / "notes~draft").write_bytes(b"not a temporary file of ours")
        assert storage.purge_expired() == 0
        assert _temp_files(root) == []
        assert (root / "notes~draft").exists()
        assert storage.read("a/b") == b"v"


@pytest.fixture
def live_writer(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    root = tmp_path / "root"
    FileStorage(root, fsync=False).close()
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "crash", "file-no-fsync", str(root), "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_ENV,
    )
    yield root, child
    if child.poll() is None:
        child.kill()
    child.communicate(timeout=30)


def test_sweeping_never_removes_a_live_writers_files(
    live_writer: tuple[Path, subprocess.Popen[str]],
) -> None:
    """While a live process writes and batches without pause, other writers are killed mid-batch
    and the root is opened and purged over and over: every write the live process reports as
    done is there, whole, and it never fails."""
    root, child = live_writer
    assert child.stdout is not None
    acknowledged: dict[str, int] = {}
    batches: set[str] = set()
    sweeps = 0
    with FileStorage(root, fsync=False) as sweeper:
        for line in child.stdout:
            kind, name, *written = line.split()
            if kind == "w":
                acknowledged[name] = int(written[0])
            else:
                batches.add(name)
            if len(acknowledged) + len(batches) < 3 * (sweeps + 1):
                continue
            sweeps += 1
            if sweeps % 10 == 1:
                _kill_while_staged(root, keys=5)  # leaves a dead marker: the next open sweeps
            FileStorage(root, fsync=False).close()
            sweeper.purge_expired()  # sweeps unconditionally
            if sweeps == 30:
                break
    assert child.poll() is None, child.communicate(timeout=30)[1]  # it never failed
    child.kill()
    child.communicate(timeout=30)
    with FileStorage(root, fsync=False) as storage:
        for key, seq in acknowledged.items():
            stored = storage.read(key)
            assert stored is not None, key
            assert parse_seq(key, stored) >= seq
        for batch in batches:
            keys = [f"batch/{batch}/{i}" for i in range(4)]
            found = storage.read_many(keys)
            assert sorted(found) == keys, batch
            assert all(found[key] == make_value(key, int(batch[1:])) for key in keys)
        assert _temp_files(root) == []


def _first_write(storage: FileStorage, start: threading.Barrier, worker: int) -> None:
    start.wait()
    storage.write(f"w/{worker}", b"v")


def test_threads_writing_at_once_make_one_marker_per_client(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for _ in range(10):
        storage = FileStorage(root, fsync=False)
        start = threading.Barrier(8)

        threads = [
            threading.Thread(target=_first_write, args=(storage, start, n)) for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(os.listdir(root / "~writers")) == 1
        assert len(storage) == 8
        storage.close()
        assert os.listdir(root / "~writers") == []


def test_a_forked_child_that_writes_makes_its_own_marker(tmp_path: Path) -> None:
    root = tmp_path / "root"
    storage = FileStorage(root, fsync=False)
    storage.write("parent", b"1")
    (parent_marker,) = os.listdir(root / "~writers")
    with warnings.catch_warnings():
        # Threads other tests left behind make Python warn about fork(); this child only writes.
        warnings.filterwarnings("ignore", r".*multi-threaded.*fork", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child writes, then dies without close()
        try:
            storage.write("child", b"2")
        finally:
            os._exit(0 if len(os.listdir(root / "~writers")) == 2 else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert len(os.listdir(root / "~writers")) == 2
    FileStorage(root, fsync=False).close()  # the child's marker is dead, the parent's is not
    assert os.listdir(root / "~writers") == [parent_marker]
    storage.write("parent", b"3")  # the parent still writes under its own marker
    storage.close()
    assert os.listdir(root / "~writers") == []
    with FileStorage(root, fsync=False) as reopened:
        assert reopened.read_many(["parent", "child"]) == {"parent": b"3", "child": b"2"}
