"""atom_with_storage with a minimal storage (the protocol); atomiton.storage backends: tests/."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest

from atomiton.store import JSON, RELOAD, RESET, atom_with_storage, create_store


class DictStorage:
    """The three calls atom_with_storage needs, counting reads."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.reads = 0

    def read(self, key: str, /) -> bytes | None:
        self.reads += 1
        return self.data.get(key)

    def write(self, key: str, data: bytes, /) -> None:
        self.data[key] = data

    def delete(self, key: str, /) -> bool:
        return self.data.pop(key, None) is not None


class FailingStorage(DictStorage):
    def write(self, key: str, data: bytes, /) -> None:
        raise OSError("disk full")


def test_reads_storage_on_first_use_and_persists_every_write() -> None:
    storage = DictStorage()
    storage.data["settings/theme"] = b'"dark"'
    theme = atom_with_storage("settings/theme", "light", storage)
    assert storage.reads == 0  # nothing read until a store uses it
    store = create_store()
    assert store.get(theme) == "dark"
    assert storage.reads == 1
    assert store.get(theme) == "dark"
    assert storage.reads == 1
    store.set(theme, "solarized")
    assert storage.data["settings/theme"] == b'"solarized"'
    assert store.get(theme) == "solarized"
    assert storage.reads == 1


def test_missing_key_gives_the_initial_value_and_reset_deletes_the_key() -> None:
    storage = DictStorage()
    volume = atom_with_storage("volume", 5, storage)
    store = create_store()
    seen: list[int] = []
    store.subscribe(volume, seen.append)
    assert store.get(volume) == 5
    store.set(volume, 7)
    assert storage.data == {"volume": b"7"}
    store.set(volume, RESET)
    assert storage.data == {}
    assert store.get(volume) == 5
    assert seen == [7, 5]


def test_two_stores_see_each_other_on_a_later_first_read_or_a_re_read() -> None:
    storage = DictStorage()
    counter = atom_with_storage("counter", 0, storage)
    a, b = create_store(), create_store()
    assert b.get(counter) == 0  # b read before a wrote
    a.set(counter, 1)
    late = create_store()
    assert late.get(counter) == 1  # first read after the write sees it
    assert b.get(counter) == 0  # b keeps what it read ...
    b.set(counter, RELOAD)  # ... until it re-reads
    assert b.get(counter) == 1
    a.set(counter, RESET)
    b.set(counter, RELOAD)
    assert b.get(counter) == 0


def test_mounting_re_reads_storage() -> None:
    storage = DictStorage()
    flag = atom_with_storage("flag", False, storage)
    a, b = create_store(), create_store()
    assert b.get(flag) is False
    a.set(flag, True)
    seen: list[bool] = []
    unsubscribe = b.subscribe(flag, seen.append)  # a new view: sees what storage holds now
    assert b.get(flag) is True
    assert seen == [True]
    unsubscribe()


def test_read_on_init_reads_once_at_definition() -> None:
    storage = DictStorage()
    storage.data["name"] = b'"Ada"'
    name = atom_with_storage("name", "", storage, read_on_init=True)
    assert storage.reads == 1
    storage.data["name"] = b'"changed behind its back"'
    assert create_store().get(name) == "Ada"
    assert storage.reads == 1


def test_a_write_storage_refuses_changes_nothing() -> None:
    storage = FailingStorage()
    value = atom_with_storage("v", 1, storage)
    store = create_store()
    with pytest.raises(OSError, match="disk full"):
        store.set(value, 2)
    assert store.get(value) == 1


def test_a_value_the_codec_cannot_encode_is_refused_before_storage() -> None:
    storage = DictStorage()
    value = atom_with_storage("v", 1, storage)
    store = create_store()
    with pytest.raises(TypeError):
        store.set(value, cast(Any, {1, 2}))  # a set is not JSON
    assert storage.data == {}
    assert store.get(value) == 1


def test_undecodable_stored_bytes_fall_back_to_initial_and_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = DictStorage()
    storage.data["v"] = b"{not json"
    value = atom_with_storage("v", "fallback", storage)
    with caplog.at_level(logging.WARNING):
        assert create_store().get(value) == "fallback"
    assert "cannot be decoded" in caplog.text


def test_a_custom_codec_is_used_both_ways() -> None:
    class Upper:
        def encode(self, obj: object, /) -> bytes:
            return str(obj).upper().encode()

        def decode(self, data: bytes, /) -> object:
            return data.decode().lower()

    storage = DictStorage()
    word = atom_with_storage("w", "x", storage, codec=Upper())
    store = create_store()
    store.set(word, "hello")
    assert storage.data["w"] == b"HELLO"
    assert create_store().get(word) == "hello"
    assert repr(JSON) == "JSON"
    assert JSON.decode(JSON.encode({"é": [1]})) == {"é": [1]}


def test_bad_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="key must be a str"):
        atom_with_storage(1, 0, DictStorage())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="storage needs read"):
        atom_with_storage("k", 0, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="codec needs encode"):
        atom_with_storage("k", 0, DictStorage(), codec=object())  # type: ignore[arg-type]


def test_restoring_a_snapshot_moves_the_store_value_not_storage() -> None:
    storage = DictStorage()
    value = atom_with_storage("v", 0, storage)
    store = create_store()
    store.set(value, 1)
    snapshot = store.snapshot()
    store.set(value, 2)
    store.restore(snapshot)
    assert store.get(value) == 1
    assert storage.data["v"] == b"2"  # documented: restore does not write storage
    store.set(value, RELOAD)
    assert store.get(value) == 2
