"""open_storage builds a backend from a URL; bad URLs name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from atomiton.storage import (
    FileStorage,
    MemoryStorage,
    SQLiteStorage,
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
        ("redis://localhost", "unknown scheme 'redis'"),
        ("no-scheme", "not a storage URL"),
        ("sqlite://server/app.db", "host 'server'"),
        ("sqlite://", "names no path"),
        ("sqlite:///x.db?colour=red", "unknown sqlite option 'colour'"),
        ("sqlite:///x.db?busy_timeout=soon", "busy_timeout='soon'"),
        ("file:///x?fsync=maybe", "fsync='maybe' is not a boolean"),
        ("memory://somewhere", "takes no path"),
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
