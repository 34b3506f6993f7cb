"""Read-only storage (readonly=True, ?mode=ro) never writes: no lock file, no purge, no WAL.

Root ignores permission bits, so besides chmod 0555 every test compares a snapshot of the tree
(names, modes, mtimes, contents) before and after; one test runs on a real read-only mount.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from atomiton.storage import (
    FileStorage,
    ReadOnlyStorageError,
    SQLiteStorage,
    StorageClient,
    StorageError,
    StorageURLError,
    open_storage,
)

from ._support import FakeClock

Snapshot = dict[str, tuple[int, int, bytes | None]]


def _snapshot(top: Path) -> Snapshot:
    """Every entry under ``top``: (mode, mtime in ns, contents of a file)."""
    seen: Snapshot = {}
    for path in [top, *sorted(top.rglob("*"))]:
        info = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        seen[str(path.relative_to(top))] = (info.st_mode, info.st_mtime_ns, content)
    return seen


def _chmod_tree(top: Path, *, writable: bool) -> None:
    for path in [top, *top.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755 if writable else 0o555)
        elif writable:
            path.chmod(0o600)
        else:
            path.chmod(0o444)


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[Path]:
    """A directory made read-only (0555 dirs, 0444 files) for the test, writable again after."""
    top = tmp_path / "frozen"
    top.mkdir()
    yield top
    _chmod_tree(top, writable=True)


def _fill(storage: StorageClient, clock: FakeClock) -> None:
    storage.write_many({f"todos/{i}": f"todo {i}".encode() for i in range(600)})
    storage.write("session/old", b"expires", ttl=5)
    clock.advance(10)  # session/old is expired but still stored: a purge would remove it


def _assert_reads(storage: StorageClient) -> None:
    assert storage.read("todos/7") == b"todo 7"
    assert storage.read("session/old") is None
    assert len(storage) == 600
    assert storage.list("todos/1")[:2] == ["todos/1", "todos/10"]
    assert storage.exists("todos/599")
    assert storage.size("todos/10") == 7
    many = storage.read_many([f"todos/{i}" for i in range(600)] + ["missing"])
    assert len(many) == 600  # > 500 keys: SQLite reads them in one read transaction
    assert storage.total_size() == sum(len(f"todo {i}") for i in range(600))


def _assert_writes_refused(storage: StorageClient, name: str) -> None:
    for operation in (
        lambda: storage.write("todos/1", b"x"),
        lambda: storage.write("brand/new", b"x"),
        lambda: storage.write_many({"todos/1": b"x"}),
        lambda: storage.delete("todos/1"),
        lambda: storage.delete("missing"),
        lambda: storage.delete_many(["todos/1"]),
        storage.clear,
        storage.purge_expired,
    ):
        with pytest.raises(ReadOnlyStorageError, match=f"{name}.*read-only"):
            operation()
    with pytest.raises(ReadOnlyStorageError):
        storage["todos/2"] = b"x"
    assert storage.read("todos/1") == b"todo 1"


def test_sqlite_mode_ro_on_a_read_only_directory_changes_nothing(frozen: Path) -> None:
    clock = FakeClock()
    with SQLiteStorage(frozen / "app.db", clock=clock) as writer:
        _fill(writer, clock)
    assert sorted(os.listdir(frozen)) == ["app.db"]  # the last close removed -wal and -shm
    _chmod_tree(frozen, writable=False)
    before = _snapshot(frozen)
    with open_storage(f"sqlite://{frozen}/app.db?mode=ro", clock=clock) as storage:
        assert isinstance(storage, SQLiteStorage)
        assert storage.readonly
        _assert_reads(storage)
        _assert_writes_refused(storage, "app.db")
    assert _snapshot(frozen) == before  # no -wal, no -shm, no purge, same mtimes
    with (
        closing(sqlite3.connect(f"file:{frozen}/app.db?mode=ro&immutable=1", uri=True)) as raw,
        raw,
    ):
        assert raw.execute("SELECT count(*) FROM atomiton_kv").fetchone() == (601,)


def test_sqlite_read_only_follows_a_running_writer_without_creating_files(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.db"
    with SQLiteStorage(path) as writer:
        writer.write("k", b"1")
        names = sorted(os.listdir(tmp_path))
        assert names == ["app.db", "app.db-shm", "app.db-wal"]
        with SQLiteStorage(path, readonly=True) as reader:
            assert reader.read("k") == b"1"
            writer.write("k", b"2")
            writer.write("new", b"3")
            assert reader.read("k") == b"2"  # mode=ro takes part in WAL: it sees commits
            assert reader.list() == ["k", "new"]
            with pytest.raises(ReadOnlyStorageError):
                reader.write("k", b"x")
        writer.write("after", b"4")  # the reader held nothing that blocks the writer
        assert sorted(os.listdir(tmp_path)) == names


def test_file_storage_read_only_on_a_read_only_root_changes_nothing(frozen: Path) -> None:
    clock = FakeClock()
    with FileStorage(frozen / "root", fsync=False, clock=clock) as writer:
        _fill(writer, clock)
    (frozen / "root" / "~lock").unlink()  # as if no writer had ever opened it
    _chmod_tree(frozen, writable=False)
    before = _snapshot(frozen)
    with open_storage(f"file://{frozen}/root?mode=ro", clock=clock) as storage:
        assert isinstance(storage, FileStorage)
        assert storage.readonly
        _assert_reads(storage)
        _assert_writes_refused(storage, "root")
    assert _snapshot(frozen) == before  # no ~lock, no purge of session/old, same mtimes


def test_file_storage_read_only_of_a_foreign_directory_creates_no_lock(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0\n")
    before = _snapshot(etc)
    with FileStorage(etc, readonly=True) as storage:
        assert storage.list() == []
        assert storage.read_many(["passwd"]) == {}  # "passwd" is not a stored value file
    assert _snapshot(etc) == before


def test_file_storage_read_only_leaves_a_pending_batch_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "root"
    FileStorage(root).close()
    (root / "k~1-0.tmp").write_bytes(b"\x01" + bytes(8) + b"new")
    (root / "~journal").write_text('{"renames": [["k", "k~1-0.tmp"]]}')
    before = _snapshot(root)
    with (
        caplog.at_level(logging.WARNING, "atomiton.storage"),
        FileStorage(root, readonly=True) as storage,
    ):
        assert storage.read("k") is None
        assert storage.read_many(["k"]) == {}
    assert "not applied" in caplog.text
    assert _snapshot(root) == before
    with FileStorage(root) as writer:  # the next writer rolls it forward as always
        assert writer.read("k") == b"new"


def test_read_only_refuses_what_it_cannot_open_without_writing(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such SQLite database"):
        SQLiteStorage(tmp_path / "missing.db", readonly=True)
    with pytest.raises(StorageError, match="is not a directory"):
        FileStorage(tmp_path / "missing", readonly=True)
    sqlite3.connect(tmp_path / "other.db").close()
    with pytest.raises(StorageError, match="no atomiton_kv table"):
        SQLiteStorage(tmp_path / "other.db", readonly=True)
    assert sorted(os.listdir(tmp_path)) == ["other.db"]
    with pytest.raises(StorageURLError, match="cannot be opened read-only"):
        open_storage("memory://", readonly=True)
    with pytest.raises(StorageURLError, match="mode='rx' is not a mode"):
        open_storage(f"sqlite://{tmp_path}/x.db?mode=rx")
    with open_storage(f"file://{tmp_path}/rw?mode=rw") as storage:
        storage.write("k", b"v")


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a writable directory, the same directory bind-mounted read-only): EROFS even for root."""
    source, target = tmp_path / "source", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    mounted = subprocess.run(
        ["mount", "--bind", str(source), str(target)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount (needs root): {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(target)], capture_output=True, check=True
        )
        yield source, target
    finally:
        subprocess.run(["umount", str(target)], capture_output=True, check=True)


def test_both_backends_open_read_only_on_a_read_only_file_system(
    read_only_mount: tuple[Path, Path],
) -> None:
    source, target = read_only_mount
    clock = FakeClock()
    with SQLiteStorage(source / "app.db", clock=clock) as sqlite_writer:
        _fill(sqlite_writer, clock)
    clock = FakeClock()
    with FileStorage(source / "root", clock=clock) as file_writer:
        _fill(file_writer, clock)
    with pytest.raises(OSError, match="Read-only file system"):
        (target / "probe").write_bytes(b"")
    # A writer that crashed leaves its last commits in the -wal (with the -shm beside it).
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from atomiton.storage import SQLiteStorage; "
            "SQLiteStorage(sys.argv[1]).write('only/in/wal', b'committed'); os._exit(0)",
            str(source / "crashed.db"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert crashed.returncode == 0, crashed.stderr
    assert (source / "crashed.db-wal").stat().st_size > 0
    before = _snapshot(source)
    for url in (f"sqlite://{target}/app.db?mode=ro", f"file://{target}/root?mode=ro"):
        with open_storage(url, clock=clock) as storage:
            _assert_reads(storage)
    with SQLiteStorage(target / "crashed.db", readonly=True) as storage:
        assert storage.read("only/in/wal") == b"committed"  # mode=ro reads the WAL
    assert _snapshot(source) == before


def test_sqlite_read_only_accepts_a_url_with_a_double_leading_slash(tmp_path: Path) -> None:
    # sqlite:////abs/path.db names "//abs/path.db"; read-write mode opened it, read-only did not
    # (the file: URI read "//abs" as an authority).
    with open_storage(f"sqlite:///{tmp_path}/kv.db") as writer:
        writer.write("a", b"1")
    with open_storage(f"sqlite:///{tmp_path}/kv.db", readonly=True) as reader:
        assert reader.read("a") == b"1"
