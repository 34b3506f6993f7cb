"""FileStorage never resolves outside its root: traversal, absolute keys, NUL, planted links."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atomiton.storage import FileStorage, InvalidKeyError, UnsafePathError, is_valid_key
from atomiton.storage._file_paths import components_to_key, key_to_components


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "root", fsync=False)


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/etc/passwd", "a/./b", "..", "a\x00b", "a/\x00", "./x"]
)
def test_traversal_keys_are_rejected_before_touching_disk(
    storage: FileStorage, tmp_path: Path, key: str
) -> None:
    with pytest.raises(InvalidKeyError):
        storage.write(key, b"evil")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]
    assert not (tmp_path / "x").exists()


def test_symlinked_directory_planted_in_root_is_refused(
    storage: FileStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    storage.write("docs/readme", b"inside")
    docs_dir = storage.root / key_to_components("docs/x")[0]
    for child in docs_dir.iterdir():
        child.unlink()
    docs_dir.rmdir()
    docs_dir.symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symlink"):
        storage.write("docs/evil", b"escaped?")
    with pytest.raises(UnsafePathError):
        storage.read("docs/evil")
    assert list(outside.iterdir()) == []
    assert storage.list() == []  # links are not followed when listing either


def test_no_operation_follows_a_planted_directory_link(
    storage: FileStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "victim").write_bytes(b"keep")
    (outside / "sub" / "victim").write_bytes(b"keep too")
    (storage.root / key_to_components("docs/x")[0]).symlink_to(outside, target_is_directory=True)
    (storage.root / "victim").symlink_to(outside / "victim")
    operations: dict[str, Callable[[str], object]] = {
        "exists": storage.exists,
        "size": storage.size,
        "delete": storage.delete,
        "read_many": lambda key: storage.read_many([key]),
        "delete_many": lambda key: storage.delete_many([key]),
        "write_many": lambda key: storage.write_many({key: b"escaped?"}),
    }
    for name, operation in operations.items():
        for key in ("docs/victim", "docs/sub/victim", "victim"):
            if name == "write_many" and key == "victim":
                continue  # a rename replaces the link itself (see the next test)
            with pytest.raises(UnsafePathError):
                operation(key)
    assert (len(storage), storage.total_size(), storage.purge_expired()) == (0, 0, 0)
    storage.clear()  # removes the links themselves, never what they point at
    assert sorted(os.listdir(storage.root)) == ["~lock", "~writers"]
    assert (outside / "victim").read_bytes() == b"keep"
    assert (outside / "sub" / "victim").read_bytes() == b"keep too"
    assert sorted(p.name for p in outside.rglob("*")) == ["sub", "victim", "victim"]


def _open_under(root: Path) -> list[str]:
    """Paths under ``root`` this process holds open (other threads' descriptors don't count)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile by another thread
            continue
        if target == str(root) or target.startswith(f"{root}/"):
            held.append(target)
    return held


def test_planted_journal_naming_paths_outside_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    FileStorage(root, fsync=False).close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x~1-1.tmp").write_bytes(b"evil")
    (elsewhere / "x").write_bytes(b"keep")
    for entry in (
        ["..", "elsewhere", "x", "x~1-1.tmp"],  # a directory component that climbs out
        ["../elsewhere/x", "x~1-1.tmp"],  # a file name holding slashes
        ["x", "../elsewhere/x~1-1.tmp"],  # a temporary name holding slashes
        ["x", "passwd"],  # a temporary name stage() never makes
    ):
        (root / "~journal").write_text(json.dumps({"renames": [entry]}))
        with pytest.raises(UnsafePathError, match="journal"):
            FileStorage(root, fsync=False)
        assert _open_under(root) == []  # the refused client keeps none
    (root / "~journal").unlink()
    storage = FileStorage(root, fsync=False)
    (root / "~journal").write_text(json.dumps({"renames": [["x", "../elsewhere/x~1-1.tmp"]]}))
    with pytest.raises(UnsafePathError, match="journal"):
        storage.write("x", b"v")  # a journal planted under a live client is refused too
    storage.close()  # and the refused call did not keep the client busy
    assert (elsewhere / "x").read_bytes() == b"keep"
    assert sorted(os.listdir(elsewhere)) == ["x", "x~1-1.tmp"]
    assert sorted(os.listdir(root)) == ["~journal", "~lock"]


def test_symlinked_file_planted_in_root_is_not_followed(
    storage: FileStorage, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"top secret")
    (storage.root / "leak").symlink_to(secret)
    with pytest.raises(UnsafePathError):
        storage.read("leak")
    assert storage.list() == []
    storage.write("leak", b"replaced")  # the rename replaces the link itself
    assert secret.read_bytes() == b"top secret"
    assert storage.read("leak") == b"replaced"


def test_root_that_is_a_symlink_is_used_as_the_user_asked(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with FileStorage(tmp_path / "link", fsync=False) as storage:
        storage.write("k", b"v")
    assert (real / "k").is_file()


def test_new_directories_and_files_are_private(storage: FileStorage) -> None:
    storage.write("a/b/c", b"v")
    assert stat.S_IMODE(storage.root.stat().st_mode) == 0o700
    for path in storage.root.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        else:
            assert mode & 0o077 == 0, path


def test_foreign_files_in_the_root_are_not_keys(storage: FileStorage) -> None:
    (storage.root / "README").write_text("not ours")  # uppercase: never produced by the mapping
    (storage.root / "stray~1234.tmp").write_bytes(b"half")
    storage.write("real", b"v")
    assert storage.list() == ["real"]


def test_key_files_use_a_readable_reversible_layout(storage: FileStorage) -> None:
    storage.write("a_b/c_d", b"1")
    storage.write("a_b", b"2")
    assert (storage.root / "a_b@" / "c_d").is_file()
    assert (storage.root / "a_b").is_file()
    assert storage.list() == ["a_b", "a_b/c_d"]


def test_delete_removes_directories_it_emptied(storage: FileStorage) -> None:
    storage.write("x/y/z", b"1")
    storage.write("x/keep", b"2")
    storage.delete("x/y/z")
    assert sorted(os.listdir(storage.root / "x@")) == ["keep"]


_KEY_CHARS = st.characters(
    blacklist_categories=["Cc", "Cs"], blacklist_characters="/", min_codepoint=1
)
_SEGMENTS = st.text(_KEY_CHARS, min_size=1, max_size=90).filter(lambda s: s not in (".", ".."))
_VALID_KEYS = st.lists(_SEGMENTS, min_size=1, max_size=4).map("/".join).filter(is_valid_key)


@settings(max_examples=300, deadline=None)
@given(key=_VALID_KEYS)
def test_every_valid_key_maps_to_safe_names_and_back(key: str) -> None:
    components = key_to_components(key)
    assert components_to_key(components) == key
    for name in components:
        assert name not in (".", "..")
        assert "/" not in name
        assert "~" not in name
        assert "\x00" not in name
        assert len(name.encode()) <= 255
        assert name == name.lower()


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(_VALID_KEYS, min_size=2, max_size=2, unique=True))
def test_distinct_keys_map_to_distinct_paths(keys: list[str]) -> None:
    first, second = (key_to_components(key) for key in keys)
    assert first != second


@pytest.mark.parametrize("planted", ["symlink", "fifo", "directory"])
def test_a_planted_lock_file_is_refused_as_unsafe(tmp_path: Path, planted: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    if planted == "symlink":
        (root / "~lock").symlink_to(target)
    elif planted == "fifo":
        os.mkfifo(root / "~lock")
    else:
        (root / "~lock").mkdir()
    with pytest.raises(UnsafePathError, match="~lock"):
        FileStorage(root, fsync=False)
    with (
        FileStorage(root, fsync=False, readonly=True) as reader,
        pytest.raises(UnsafePathError, match="~lock"),
    ):
        reader.read_many(["k"])
    assert target.read_bytes() == b"keep"


@pytest.mark.parametrize(
    "content", [b"", b"\x01\x00", b"\x02" + bytes(8) + b"value", b"garbage that is long"]
)
def test_a_corrupt_value_file_is_absent_everywhere_and_delete_removes_it(
    storage: FileStorage, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    storage.write("docs/bad", b"fine")
    storage.write("docs/good", b"fine")
    (storage.root / "docs@" / "bad").write_bytes(content)  # as an OS crash with fsync=False can
    assert storage.read("docs/bad") is None
    assert storage.read_entry("docs/bad") is None
    assert not storage.exists("docs/bad")
    assert "docs/bad" not in storage
    assert storage.size("docs/bad") is None
    assert storage.read_many(["docs/bad", "docs/good"]) == {"docs/good": b"fine"}
    assert storage.list() == ["docs/good"]
    assert (len(storage), storage.total_size()) == (1, 4)
    assert "docs/bad" in caplog.text
    assert "no valid FileStorage header" in caplog.text
    assert storage.purge_expired() == 0
    assert (storage.root / "docs@" / "bad").exists()  # only delete, clear or a write remove it
    assert storage.delete("docs/bad") is False  # no live value was there, but the file is gone
    assert not (storage.root / "docs@" / "bad").exists()
    (storage.root / "docs@" / "bad").write_bytes(content)
    assert storage.delete_many(["docs/bad", "docs/good"]) == 1
    assert sorted(os.listdir(storage.root)) == ["~lock", "~writers"]
    (storage.root / "x").write_bytes(content)
    storage.write("x", b"new")  # a write replaces it
    assert storage.read("x") == b"new"


@pytest.mark.parametrize("planted", ["symlink", "file"])
def test_a_planted_writers_directory_is_refused_as_unsafe(tmp_path: Path, planted: str) -> None:
    root = tmp_path / "root"
    FileStorage(root, fsync=False).close()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "1-0123456789abcdef").write_bytes(b"keep")
    if planted == "symlink":
        (root / "~writers").symlink_to(outside, target_is_directory=True)
    else:
        (root / "~writers").write_bytes(b"")
    with pytest.raises(UnsafePathError, match="~writers"):
        FileStorage(root, fsync=False)
    (root / "~writers").unlink()
    with FileStorage(root, fsync=False) as storage:
        storage.write("k", b"v")
        (root / "~writers").rename(tmp_path / "moved")
        (root / "~writers").symlink_to(outside, target_is_directory=True)
    assert sorted(os.listdir(outside)) == ["1-0123456789abcdef"]  # close() followed no link
    assert (outside / "1-0123456789abcdef").read_bytes() == b"keep"
