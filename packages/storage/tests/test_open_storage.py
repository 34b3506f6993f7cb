"""open_storage builds a backend from a URL; bad URLs name what is wrong."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from atomiton.storage import (
    FileStorage,
    MemoryStorage,
    SQLiteStorage,
    StorageError,
    StorageURLError,
    open_storage,
)


def test_memory_url() -> None:
    with open_storage("memory://") as storage:
        assert isinstance(storage, MemoryStorage)


def test_sqlite_url_with_absolute_path_and_options(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/sub/app.db?durability=full&busy_timeout=2.5"
    with open_storage(url) as storage:
        assert isinstance(storage, SQLiteStorage)
        assert storage.path == tmp_path / "sub" / "app.db"
        assert storage.durability == "full"
        assert storage.busy_timeout == 2.5
        storage.write("k", b"v")
    assert (tmp_path / "sub" / "app.db").is_file()


def test_file_url_with_percent_escapes_and_fsync_flag(tmp_path: Path) -> None:
    with open_storage(f"file://{tmp_path}/my%20dir?fsync=false") as storage:
        assert isinstance(storage, FileStorage)
        assert storage.root == tmp_path / "my dir"
        assert storage.fsync is False


def test_relative_paths_and_keyword_options_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_storage("sqlite:rel/app.db?durability=full", durability="normal") as storage:
        assert isinstance(storage, SQLiteStorage)
        assert storage.path == Path("rel/app.db")
        assert storage.durability == "normal"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bucket/data", "unknown scheme 's3'"),
        ("no-scheme", "not a storage URL"),
        ("sqlite://server/app.db", "host 'server'"),
        ("sqlite://", "names no path"),
        ("sqlite:///x.db?colour=red", "unknown sqlite option 'colour'"),
        ("sqlite:///x.db?busy_timeout=soon", "busy_timeout='soon'"),
        ("file:///x?fsync=maybe", "fsync='maybe' is not a boolean"),
        ("memory://somewhere", "takes no path"),
        ("sqlite:///x.db?busy_timeout=nan", "busy_timeout='nan' is not a finite number"),
        ("sqlite:///x.db?busy_timeout=inf", "busy_timeout='inf' is not a finite number"),
        ("sqlite:///x.db?busy_timeout=-1", "busy_timeout='-1' is not a finite number"),
        ("sqlite:///x.db?durability=full&durability=normal", "'durability' is given more"),
        ("file:///x?fsync=true&fsync=false", "option 'fsync' is given more than once"),
        ("file:///x?mode=ro&mode=ro", "option 'mode' is given more than once"),
    ],
)
def test_bad_urls_raise_naming_the_problem(url: str, message: str) -> None:
    with pytest.raises(StorageURLError, match=message):
        open_storage(url)


def test_sqlite_refuses_an_in_memory_path_that_threads_would_not_share() -> None:
    with pytest.raises(ValueError, match="MemoryStorage"):
        SQLiteStorage(":memory:")


def test_sqlite_rejects_unknown_durability(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="durability must be 'normal' or 'full'"):
        SQLiteStorage(tmp_path / "x.db", durability="paranoid")  # type: ignore[arg-type]


@pytest.mark.parametrize("busy_timeout", [float("nan"), float("inf"), -0.5, True, "5"])
def test_sqlite_refuses_a_busy_timeout_that_is_not_finite_seconds(
    tmp_path: Path, busy_timeout: object
) -> None:
    with pytest.raises(ValueError, match="busy_timeout must be a finite number"):
        SQLiteStorage(tmp_path / "x.db", busy_timeout=busy_timeout)  # type: ignore[arg-type]
    assert not (tmp_path / "x.db").exists()


def test_sqlite_on_a_directory_raises_a_storage_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=f"{tmp_path}.*is a directory"):
        open_storage(f"sqlite://{tmp_path}")
    with pytest.raises(StorageError, match="is a directory"):
        SQLiteStorage(tmp_path, readonly=True)
    (tmp_path / "junk.db").write_bytes(b"not a database, just some bytes" * 100)
    with pytest.raises(StorageError, match=r"cannot open SQLite database .*junk\.db") as raised:
        SQLiteStorage(tmp_path / "junk.db")
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)


def test_sqlite_files_and_new_directories_are_private(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual umask, under which SQLite alone made 0644 files
    try:
        with SQLiteStorage(tmp_path / "new" / "app.db") as storage:
            storage.write("k", b"v")
            names = sorted(os.listdir(tmp_path / "new"))
            modes = {name: stat.S_IMODE((tmp_path / "new" / name).stat().st_mode) for name in names}
    finally:
        os.umask(old_umask)
    assert names == ["app.db", "app.db-shm", "app.db-wal"]
    assert modes == dict.fromkeys(names, 0o600)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
