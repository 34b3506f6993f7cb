"""The key rules, checked against an independent oracle on every path that enforces them."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atomiton.storage import InvalidKeyError, MemoryStorage, SQLiteStorage, is_valid_key
from atomiton.storage._keys import validate_keys


def oracle(key: object) -> bool:
    """The rules exactly as the issue states them, written the slow, obvious way."""
    if not isinstance(key, str) or not 1 <= len(key) <= 255:
        return False
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in key):
        return False
    return all(segment and segment not in (".", "..") for segment in key.split("/"))


_TRICKY = st.sampled_from(
    [
        "/",
        "/",
        ".",
        "..",
        "a",
        "Z",
        "_",
        " ",
        "\x00",
        "\n",
        "\x7f",
        "\x85",
        "é",
        "\ud800",
        "~",
        "%",
        "日",
    ]
)
_KEYS = st.one_of(
    st.lists(_TRICKY, max_size=12).map("".join),
    st.text(max_size=20),
    st.text(alphabet="ab/.", min_size=250, max_size=260),
)


@settings(max_examples=400, deadline=None)
@given(key=_KEYS)
def test_every_check_agrees_with_the_oracle(key: str) -> None:
    expected = oracle(key)
    assert is_valid_key(key) == expected
    storage = MemoryStorage()
    try:
        storage.write(key, b"v")
        accepted = True
    except InvalidKeyError:
        accepted = False
    assert accepted == expected


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(_KEYS, max_size=6))
def test_batch_check_agrees_with_checking_one_by_one(keys: list[str]) -> None:
    if all(oracle(key) for key in keys):
        assert validate_keys(keys) == keys
    else:
        with pytest.raises(InvalidKeyError) as caught:
            validate_keys(keys)
        assert not oracle(caught.value.key)


def test_sqlite_key_check_agrees_with_the_oracle(tmp_path: Path) -> None:
    samples = ["a", "a/b", "../x", "a//b", "", "x" * 255, "x" * 256, "a\x00", ".a/..b", "é/日"]
    with SQLiteStorage(tmp_path / "kv.db") as storage:
        for _ in range(2):  # the second pass goes through the checked-key set
            for key in samples:
                if oracle(key):
                    storage.write(key, b"v")
                else:
                    with pytest.raises(InvalidKeyError):
                        storage.write(key, b"v")


def test_str_subclass_keys_are_stored_as_plain_str() -> None:
    class Key(str):
        pass

    storage = MemoryStorage()
    storage.write(Key("a/b"), b"v")
    assert [type(key) for key in storage.list()] == [str]
