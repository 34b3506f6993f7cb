"""Static types of TypedStorage's generic and overloaded API (mypy checks the assert_type calls).

Every call also runs, so the runtime values are checked against what the types promise.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, assert_type

from atomiton.storage import JsonCodec, MemoryStorage, MsgpackCodec, TypedStorage


@dataclass(frozen=True)
class User:
    name: str


class UserCodec:
    def encode(self, obj: User) -> bytes:
        return json.dumps(asdict(obj)).encode()

    def decode(self, data: bytes) -> User:
        return User(**json.loads(data))


def test_a_typed_codec_types_every_read() -> None:
    users = TypedStorage(MemoryStorage(), codec=UserCodec())
    assert_type(users, TypedStorage[User])
    users["u/1"] = User("ada")
    users.write("u/2", User("bob"), ttl=60)
    users.write_many({"u/3": User("cy")})

    assert assert_type(users.read("u/1"), User | None) == User("ada")
    assert assert_type(users.read("missing"), User | None) is None
    assert assert_type(users.read("missing", 0), User | int) == 0
    assert assert_type(users["u/2"], User) == User("bob")
    assert assert_type(users.read_many(["u/1", "u/3"]), dict[str, User]) == {
        "u/1": User("ada"),
        "u/3": User("cy"),
    }
    assert assert_type(users.get("u/3"), User | None) == User("cy")
    assert assert_type(list(users.values()), list[User]) == [
        User("ada"),
        User("bob"),
        User("cy"),
    ]


def test_the_default_and_the_built_in_codecs_give_any() -> None:
    plain = TypedStorage(MemoryStorage())
    assert_type(plain, TypedStorage[Any])
    plain["k"] = {"a": [1, 2]}
    assert plain.read("k") == {"a": [1, 2]}
    assert_type(TypedStorage(MemoryStorage(), codec=JsonCodec()), TypedStorage[Any])
    packed = TypedStorage(MemoryStorage(), codec=MsgpackCodec())
    assert_type(packed, TypedStorage[Any])
    packed["b"] = b"\x00"
    assert packed["b"] == b"\x00"
