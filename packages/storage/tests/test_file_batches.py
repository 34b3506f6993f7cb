"""FileStorage.write_many is all or nothing across a crash: staged files plus a journal."""

from __future__ import annotations

from pathlib import Path

import pytest

import atomiton.storage._file as file_module
from atomiton.storage import FileStorage
from atomiton.storage._file_io import stage


def test_batch_committed_but_not_applied_is_rolled_forward_on_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = FileStorage(tmp_path / "root")
    storage.write("a", b"old")
    # The process "dies" right after the commit point: the journal is durable, no rename done.
    monkeypatch.setattr(storage, "_recover", lambda: None)
    storage.write_many({"a": b"new", "b/c": b"2", "d": b"3"})
    assert storage.read("a") == b"old"
    assert (storage.root / "~journal").is_file()
    monkeypatch.undo()
    with FileStorage(tmp_path / "root") as reopened:
        assert reopened.read_many(["a", "b/c", "d"]) == {"a": b"new", "b/c": b"2", "d": b"3"}
    assert not (storage.root / "~journal").exists()
    storage.close()


def test_pending_batch_is_applied_before_a_later_single_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = FileStorage(tmp_path / "root")
    monkeypatch.setattr(storage, "_recover", lambda: None)
    storage.write_many({"k": b"batch"})
    monkeypatch.undo()
    storage.write("k", b"later")  # sees the journal, applies the batch first, then writes
    assert storage.read("k") == b"later"
    storage.close()


def test_batch_failing_before_commit_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = FileStorage(tmp_path / "root")
    storage.write("a", b"old")
    calls = 0

    def failing_stage(dir_fd: int, name: str, blob: list[bytes], *, fsync: bool) -> str:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        return stage(dir_fd, name, blob, fsync=fsync)

    monkeypatch.setattr(file_module, "stage", failing_stage)
    with pytest.raises(OSError, match="No space"):
        storage.write_many({"a": b"new", "b": b"2", "c": b"3"})
    monkeypatch.undo()
    assert storage.read("a") == b"old"
    assert storage.list() == ["a"]
    leftovers = [p.name for p in storage.root.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    storage.close()
