"""TypedStorage stores objects through a codec: JSON by default, msgpack optional, never pickle."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from atomiton.storage import (
    CodecError,
    JsonCodec,
    MemoryStorage,
    MsgpackCodec,
    SQLiteStorage,
    TypedStorage,
)


def test_json_is_the_default_and_round_trips_objects() -> None:
    typed = TypedStorage(MemoryStorage())
    typed.write("todos/1", {"title": "milk", "done": False, "tags": ["a", "ü"]})
    assert typed.read("todos/1") == {"title": "milk", "done": False, "tags": ["a", "ü"]}
    assert typed.client.read("todos/1") == '{"title":"milk","done":false,"tags":["a","ü"]}'.encode()
    assert isinstance(typed.codec, JsonCodec)


def test_mapping_protocol_and_batches(tmp_path: Path) -> None:
    with TypedStorage(SQLiteStorage(tmp_path / "kv.db")) as typed:
        typed["a"] = 1
        typed.write_many({"b": [2], "c": None})
        assert typed["a"] == 1
        assert typed.read_many(["a", "b", "c", "zz"]) == {"a": 1, "b": [2], "c": None}
        assert typed.read("missing", default="fallback") == "fallback"
        assert list(typed) == ["a", "b", "c"]
        assert len(typed) == 3
        assert "b" in typed
        assert typed.list("b") == ["b"]
        del typed["a"]
        assert typed.delete("b") is True
        assert typed.exists("c")
        with pytest.raises(KeyError):
            typed["a"]
    assert typed.client.closed


@pytest.mark.parametrize("bad", [object(), {1, 2}, math.nan, b"bytes"])
def test_unencodable_value_raises_at_write_time_and_stores_nothing(bad: object) -> None:
    typed = TypedStorage(MemoryStorage())
    with pytest.raises(CodecError, match="JsonCodec cannot encode"):
        typed.write("k", bad)
    with pytest.raises(CodecError):
        typed.write_many({"ok": 1, "bad": bad})
    assert len(typed.client) == 0


def test_msgpack_codec_round_trips_bytes_and_rejects_unknown_types() -> None:
    typed = TypedStorage(MemoryStorage(), codec=MsgpackCodec())
    typed.write("k", {"raw": b"\x00\xff", "n": [1, 2.5, "x"]})
    assert typed.read("k") == {"raw": b"\x00\xff", "n": [1, 2.5, "x"]}
    with pytest.raises(CodecError, match="MsgpackCodec cannot encode"):
        typed.write("bad", object())
    assert not typed.exists("bad")


def test_corrupt_stored_bytes_raise_codec_error() -> None:
    storage = MemoryStorage()
    storage.write("k", b"\xff not json")
    with pytest.raises(CodecError, match="cannot decode"):
        TypedStorage(storage).read("k")
    with pytest.raises(CodecError, match="cannot decode"):
        TypedStorage(storage, codec=MsgpackCodec()).read("k")


def test_no_pickle_codec_is_offered() -> None:
    import atomiton.storage

    assert not any("pickle" in name.lower() for name in atomiton.storage.__all__)


def test_bad_client_or_codec_is_refused_naming_it() -> None:
    with pytest.raises(TypeError, match="through a StorageClient, not dict"):
        TypedStorage({})  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"codec must have encode.*not 'json'"):
        TypedStorage(MemoryStorage(), codec="json")  # type: ignore[call-overload]
