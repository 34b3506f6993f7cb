"""One conformance suite for every backend and wrapper stack: add a stack in _support.STACKS
(or SERVER_STACKS for a backend on a real server, with the test's own table or prefix)."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atomiton.storage import InvalidKeyError, InvalidTTLError, StorageClient, StorageClosedError

from ._support import SERVER_STACKS, STACKS, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(STACKS) + sorted(SERVER_STACKS))
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[StorageClient]:
    if request.param in SERVER_STACKS:
        url, namespace, factory = SERVER_STACKS[request.param]
        client = factory(request.getfixturevalue(url), request.getfixturevalue(namespace), clock)
    else:
        client = STACKS[request.param](tmp_path, clock)
    yield client
    client.close()


def test_written_value_reads_back(storage: StorageClient) -> None:
    storage.write("todos/1", b"hello")
    assert storage.read("todos/1") == b"hello"
    assert storage.exists("todos/1")
    assert storage.size("todos/1") == 5


def test_missing_key_reads_none_and_mapping_raises_key_error(storage: StorageClient) -> None:
    assert storage.read("nope") is None
    assert not storage.exists("nope")
    assert storage.size("nope") is None
    with pytest.raises(KeyError):
        storage["nope"]
    with pytest.raises(KeyError):
        del storage["nope"]


def test_overwrite_replaces_value(storage: StorageClient) -> None:
    storage.write("k", b"one")
    storage.write("k", b"two!")
    assert storage.read("k") == b"two!"
    assert storage.total_size() == 4


def test_empty_and_binary_values_round_trip(storage: StorageClient) -> None:
    storage.write("empty", b"")
    blob = bytes(range(256)) * 4
    storage.write("blob", blob)
    assert storage.read("empty") == b""
    assert storage.exists("empty")
    assert storage.read("blob") == blob


def test_delete_reports_presence(storage: StorageClient) -> None:
    storage.write("a/b", b"1")
    assert storage.delete("a/b") is True
    assert storage.delete("a/b") is False
    assert storage.read("a/b") is None


def test_list_is_sorted_and_filtered_by_prefix(storage: StorageClient) -> None:
    for key in ["todos/2", "todos/10", "users/1", "todos/1", "todo", "todos/sub/x", "Todos/1"]:
        storage.write(key, key.encode())
    assert storage.list() == sorted(
        ["todos/2", "todos/10", "users/1", "todos/1", "todo", "todos/sub/x", "Todos/1"]
    )
    assert storage.list("todos/") == ["todos/1", "todos/10", "todos/2", "todos/sub/x"]
    assert storage.list("todo") == ["todo", "todos/1", "todos/10", "todos/2", "todos/sub/x"]
    assert storage.list("todos/sub/") == ["todos/sub/x"]
    assert storage.list("zzz") == []
    assert storage.list("a//") == []


def test_mapping_protocol(storage: StorageClient) -> None:
    storage["b"] = b"2"
    storage["a"] = b"1"
    assert storage["a"] == b"1"
    assert "a" in storage
    assert "c" not in storage
    assert list(storage) == ["a", "b"]
    assert len(storage) == 2
    assert dict(storage.items()) == {"a": b"1", "b": b"2"}
    assert storage.get("c", b"x") == b"x"
    assert storage.pop("a") == b"1"
    storage.update({"c": b"3"})
    assert storage.setdefault("c", b"9") == b"3"
    del storage["b"]
    assert dict(storage) == {"c": b"3"}
    assert storage == {"c": b"3"}


def test_batch_operations(storage: StorageClient) -> None:
    storage.write_many({"x/1": b"1", "x/2": b"22", "y": b"333"})
    assert storage.read_many(["x/1", "y", "missing", "x/1"]) == {"x/1": b"1", "y": b"333"}
    storage.write_many([("z", b"z")])
    assert storage.total_size() == 7
    assert storage.delete_many(["x/1", "y", "missing"]) == 2
    assert storage.list() == ["x/2", "z"]
    storage.clear()
    assert len(storage) == 0
    assert storage.total_size() == 0


def test_write_many_with_a_bad_item_writes_nothing(storage: StorageClient) -> None:
    storage.write("keep", b"old")
    with pytest.raises(InvalidKeyError):
        storage.write_many({"keep": b"new", "ok": b"1", "../bad": b"2"})
    bad_batch: dict[str, object] = {"keep": b"new", "ok": b"1", "bad": "text"}
    with pytest.raises(TypeError, match=r"'bad'.*must be bytes, not str"):
        storage.write_many(bad_batch)  # type: ignore[arg-type]
    assert storage.read("keep") == b"old"
    assert not storage.exists("ok")


def test_values_must_be_bytes_and_are_copied(storage: StorageClient) -> None:
    for bad in ["text", 1, None, ["b"]]:
        with pytest.raises(TypeError, match="bytes"):
            storage.write("k", bad)  # type: ignore[arg-type]
    buffer = bytearray(b"abc")
    storage.write("k", buffer)  # type: ignore[arg-type]
    buffer[0] = ord("z")
    assert storage.read("k") == b"abc"
    assert type(storage.read("k")) is bytes


BAD_KEYS = [
    ("", "empty"),
    ("/abs", "start with '/'"),
    ("a//b", "empty segment"),
    ("a/", "empty segment"),
    (".", "'.' segment"),
    ("a/../b", "'..' segment"),
    ("../x", "'..' segment"),
    ("a\x00b", "NUL"),
    ("a\nb", "control"),
    ("a\x7fb", "control"),
    ("x" * 256, "at most 255"),
    ("\ud800", "surrogate"),
]


@pytest.mark.parametrize(("key", "rule"), BAD_KEYS)
def test_invalid_keys_are_rejected_everywhere_naming_key_and_rule(
    storage: StorageClient, key: str, rule: str
) -> None:
    operations: list[Callable[[], object]] = [
        lambda: storage.write(key, b"v"),
        lambda: storage.read(key),
        lambda: storage.exists(key),
        lambda: storage.delete(key),
        lambda: storage.size(key),
        lambda: storage.read_many([key]),
        lambda: storage.write_many({key: b"v"}),
        lambda: storage.delete_many([key]),
    ]
    for operation in operations:
        with pytest.raises(InvalidKeyError, match=rule) as caught:
            operation()
        assert caught.value.key == key
        assert repr(key)[:20] in str(caught.value)


def test_non_str_key_is_rejected(storage: StorageClient) -> None:
    with pytest.raises(InvalidKeyError, match="must be str"):
        storage.write(1, b"v")  # type: ignore[arg-type]


def test_unusual_but_valid_keys_round_trip(storage: StorageClient) -> None:
    keys = [
        "a_b/c_d",  # the old Atomiton mapping turned '/' into '_' and back: this broke
        "with space/and%percent",
        "Ünïcödé/日本語/🎉",
        "...",
        ".hidden/..x",
        "x" * 255,
        "é" * 255,
        "/".join(["s"] * 128),
        "UPPER/lower/Upper",
        "a~b^c@d+e",
    ]
    for key in keys:
        storage.write(key, key.encode())
    assert storage.list() == sorted(keys)
    for key in keys:
        assert storage.read(key) == key.encode()


def test_ttl_expires_keys_everywhere(storage: StorageClient, clock: FakeClock) -> None:
    storage.write("short", b"1", ttl=10)
    storage.write("forever", b"2")
    storage.write_many({"batch/a": b"3", "batch/b": b"4"}, ttl=20)
    entry = storage.read_entry("short")
    assert entry is not None
    assert entry[0] == b"1"
    assert entry[1] == pytest.approx(clock.now + 10)
    assert storage.read_entry("forever") == (b"2", None)
    clock.advance(10.5)
    assert storage.read("short") is None
    assert not storage.exists("short")
    assert storage.size("short") is None
    assert "short" not in storage
    assert storage.list() == ["batch/a", "batch/b", "forever"]
    assert storage.delete("short") is False
    clock.advance(10)
    assert storage.read_many(["batch/a", "forever"]) == {"forever": b"2"}
    assert len(storage) == 1
    assert storage.total_size() == 1


def test_rewrite_without_ttl_makes_key_permanent(storage: StorageClient, clock: FakeClock) -> None:
    storage.write("k", b"1", ttl=1)
    storage.write("k", b"2")
    clock.advance(5)
    assert storage.read("k") == b"2"


@pytest.mark.parametrize("start", [-5.0, -2.5])
def test_a_key_expiring_at_clock_zero_expires(
    storage: StorageClient, clock: FakeClock, start: float
) -> None:
    clock.now = start  # the expiry lands on exactly 0.0, which FileStorage once read as "never"
    storage.write("single", b"1", ttl=-start)
    storage.write_many({"batch": b"2"}, ttl=-start)
    assert storage.read_entry("single") == (b"1", 0.0)
    clock.now = -1e-9
    assert storage.list() == ["batch", "single"]
    clock.now = 0.0
    assert storage.read("single") is None
    assert storage.read_many(["single", "batch"]) == {}
    assert storage.list() == []
    assert storage.purge_expired() == 2


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "5", True, 10**400])
def test_bad_ttl_is_rejected(storage: StorageClient, ttl: object) -> None:
    with pytest.raises(InvalidTTLError, match="ttl must be") as raised:
        storage.write("k", b"v", ttl=ttl)  # type: ignore[arg-type]
    assert raised.value.ttl is ttl
    with pytest.raises(InvalidTTLError, match="ttl must be"):
        storage.write_many({"k": b"v"}, ttl=ttl)  # type: ignore[arg-type]
    assert not storage.exists("k")


def test_closed_client_raises_clear_error(storage: StorageClient) -> None:
    storage.write("k", b"v")
    storage.close()
    storage.close()
    assert storage.closed
    closed_operations: list[Callable[[], object]] = [
        lambda: storage.read("k"),
        lambda: storage.write("k", b"v"),
        lambda: storage.list(),
        lambda: storage.write_many({"k": b"v"}),
        lambda: len(storage),
    ]
    for operation in closed_operations:
        with pytest.raises(StorageClosedError, match="closed"):
            operation()


def test_context_manager_closes(storage: StorageClient) -> None:
    with storage as opened:
        opened.write("k", b"v")
    assert storage.closed


_SEGMENT = st.sampled_from(["a", "b", "Todo", "x_y", "é", "1"])
_KEYS = st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), _KEYS, st.binary(max_size=8)),
        st.tuples(st.just("delete"), _KEYS),
        st.tuples(st.just("read"), _KEYS),
        st.tuples(st.just("write_many"), st.dictionaries(_KEYS, st.binary(max_size=4), max_size=3)),
        st.tuples(st.just("delete_many"), st.lists(_KEYS, max_size=3)),
        st.tuples(st.just("list"), st.sampled_from(["", "a", "a/", "Todo/", string.ascii_letters])),
    ),
    max_size=25,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=_OPS)
def test_behaves_like_a_dict(storage: StorageClient, ops: list[tuple[object, ...]]) -> None:
    storage.clear()
    model: dict[str, bytes] = {}
    for op in ops:
        name = op[0]
        if name == "write":
            _, key, value = op
            storage.write(key, value)  # type: ignore[arg-type]
            model[key] = value  # type: ignore[index, assignment]
        elif name == "delete":
            assert storage.delete(op[1]) == (model.pop(op[1], None) is not None)  # type: ignore[arg-type, call-overload]
        elif name == "read":
            assert storage.read(op[1]) == model.get(op[1])  # type: ignore[arg-type, call-overload]
        elif name == "write_many":
            storage.write_many(op[1])  # type: ignore[arg-type]
            model.update(op[1])  # type: ignore[call-overload]
        elif name == "delete_many":
            keys = set(op[1])  # type: ignore[call-overload]
            assert storage.delete_many(keys) == len(keys & model.keys())
            for key in keys:
                model.pop(key, None)
        else:
            prefix = op[1]
            assert storage.list(prefix) == sorted(k for k in model if k.startswith(prefix))  # type: ignore[arg-type]
    assert dict(storage.items()) == model
    assert len(storage) == len(model)
    assert storage.total_size() == sum(map(len, model.values()))


def test_purge_expired_reclaims_only_expired_keys(storage: StorageClient, clock: FakeClock) -> None:
    storage.write_many({"old/1": b"1", "old/2": b"2"}, ttl=5)
    storage.write("young", b"3", ttl=50)
    storage.write("forever", b"4")
    assert storage.purge_expired() == 0
    clock.advance(10)
    assert storage.purge_expired() == 2
    assert storage.purge_expired() == 0
    assert storage.list() == ["forever", "young"]
