"""Four processes (and many threads) writing distinct and overlapping keys into one store."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from atomiton.storage import FileStorage, SQLiteStorage, StorageClient, StorageClosedError

from ._child import make_value, parse_seq

CHILD = Path(__file__).with_name("_child.py")
WORKERS = 4
# SQLite writes are cheap, so its workers write more to keep the four overlapping for longer.
COUNTS = {"sqlite": 400, "file": 120}


def _open(kind: str, path: Path) -> StorageClient:
    return SQLiteStorage(path) if kind == "sqlite" else FileStorage(path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_four_processes_lose_no_write_and_never_see_locked(kind: str, tmp_path: Path) -> None:
    path = tmp_path / ("kv.db" if kind == "sqlite" else "root")
    count = COUNTS[kind]
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "concurrent", kind, str(path), str(worker), str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(WORKERS)
    ]
    # Wait until every child is up (interpreter started, imports done), then release them
    # together so they create the file or root, and write, at the same time.
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n", child.communicate(timeout=60)
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    spans = []
    for child in children:
        out, errors = child.communicate(timeout=120)
        assert child.returncode == 0, errors
        assert "locked" not in errors
        _, start, end = out.split()
        spans.append((float(start), float(end)))
    # The test only proves something if the four really wrote at once.
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    with _open(kind, path) as storage:
        for worker in range(WORKERS):
            for i in range(count):
                key = f"own/{worker}/{i}"
                assert storage.read(key) == make_value(key, i)
            for i in range(0, count, 10):
                for j in range(3):
                    key = f"many/{worker}/{i}/{j}"
                    assert storage.read(key) == make_value(key, i)
        shared = storage.read_many([f"shared/{i}" for i in range(10)])
        assert sorted(shared) == [f"shared/{i}" for i in range(10)]
        for key, value in shared.items():
            seq = parse_seq(key, value)
            # The survivor is some worker's last write of that key.
            assert seq % 100_000 >= count - 10
        assert len(storage) == WORKERS * count + WORKERS * (count // 10) * 3 + 10


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_threads_share_one_client(kind: str, tmp_path: Path) -> None:
    storage = _open(kind, tmp_path / ("kv.db" if kind == "sqlite" else "root"))
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(40):
                storage.write(f"t{worker}/{i}", b"%d" % i)
                storage.write("shared", b"%d" % worker)
                assert storage.read(f"t{worker}/{i}") == b"%d" % i
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(storage) == 8 * 40 + 1
    storage.close()


def _work_until_closed(
    storage: StorageClient, started: threading.Barrier, errors: list[BaseException]
) -> None:
    started.wait()
    try:
        for i in range(100_000):
            storage.write(f"k/{i % 20}", b"v")
            storage.read(f"k/{i % 20}")
            storage.list("k/")
    except BaseException as exc:  # reported by the test
        errors.append(exc)


@pytest.mark.parametrize("round_", range(3))
@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_close_while_other_threads_work_raises_closed_and_never_crashes(
    kind: str, round_: int, tmp_path: Path
) -> None:
    """close() waits for calls in flight: before, SQLite crashed the interpreter (a connection
    closed under a running execute) and FileStorage failed with EBADF on its closed root."""
    storage = _open(kind, tmp_path / ("kv.db" if kind == "sqlite" else "root"))
    storage.write("k/0", b"v")
    errors: list[BaseException] = []
    started = threading.Barrier(4)
    threads = [
        threading.Thread(target=_work_until_closed, args=(storage, started, errors))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    started.wait()
    time.sleep(0.01 * (round_ + 1))
    storage.close()
    for thread in threads:
        thread.join()
    assert len(errors) == 3
    assert all(isinstance(error, StorageClosedError) for error in errors), errors
