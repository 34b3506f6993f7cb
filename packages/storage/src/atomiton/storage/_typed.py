"""TypedStorage: store objects through a codec (JSON by default, msgpack optional, never pickle).

Pickle is deliberately not offered: unpickling runs code chosen by whoever wrote the bytes
(diskcache's pickle default is exactly that hole).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar, overload

from atomiton.storage._client import KeyList, StorageClient
from atomiton.storage._errors import CodecError, StorageError

V = TypeVar("V")
D = TypeVar("D")


class Codec(Protocol[V]):
    """Turns objects of type ``V`` into bytes and back (``JsonCodec`` and ``MsgpackCodec``: any)."""

    def encode(self, obj: V) -> bytes:
        """Return ``obj`` as bytes; raise ``CodecError`` when it cannot be encoded."""
        ...

    def decode(self, data: bytes) -> V:
        """Return the object ``data`` encodes; raise ``CodecError`` when it is not valid."""
        ...


class JsonCodec:
    """UTF-8 JSON: compact, no NaN/Infinity (they are not JSON), non-ASCII kept as is."""

    def encode(self, obj: Any) -> bytes:
        """Encode ``obj`` as JSON.

        Raises:
            CodecError: ``obj`` holds something JSON cannot represent.
        """
        try:
            return json.dumps(
                obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise CodecError(f"JsonCodec cannot encode {type(obj).__name__}: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        """Decode JSON bytes.

        Raises:
            CodecError: ``data`` is not UTF-8 JSON.
        """
        try:
            return json.loads(data)
        except ValueError as exc:
            raise CodecError(f"JsonCodec cannot decode {len(data)} bytes: {exc}") from exc


class MsgpackCodec:
    """MessagePack via the ``msgpack`` package (``pip install atomiton-storage[msgpack]``).

    Binary-safe (``bytes`` round-trip as ``bytes``) and more compact than JSON.
    """

    def __init__(self) -> None:
        try:
            import msgpack  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - msgpack is in the dev group
            raise StorageError(
                "MsgpackCodec needs msgpack: pip install 'atomiton-storage[msgpack]'"
            ) from exc
        self._msgpack = msgpack

    def encode(self, obj: Any) -> bytes:
        """Encode ``obj`` as MessagePack.

        Raises:
            CodecError: ``obj`` holds something MessagePack cannot represent.
        """
        try:
            packed: bytes = self._msgpack.packb(obj, use_bin_type=True)
            return packed
        except (TypeError, ValueError, OverflowError) as exc:
            raise CodecError(f"MsgpackCodec cannot encode {type(obj).__name__}: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        """Decode MessagePack bytes.

        Raises:
            CodecError: ``data`` is not one valid MessagePack object.
        """
        try:
            return self._msgpack.unpackb(data, raw=False)
        except Exception as exc:  # msgpack raises several unrelated types for bad input
            raise CodecError(f"MsgpackCodec cannot decode {len(data)} bytes: {exc}") from exc


class TypedStorage(MutableMapping[str, V]):
    """A StorageClient seen as a mapping of keys to objects of type ``V``, encoded by ``codec``.

    Generic in what the codec produces: ``TypedStorage(client)`` (JSON) is a
    ``TypedStorage[Any]``, and a ``Codec[User]`` gives a ``TypedStorage[User]`` whose ``read``
    returns ``User | None``.

    Encoding happens before anything is written, so a value the codec cannot encode raises
    ``CodecError`` and stores nothing (in ``write_many``: nothing of the whole batch).

    Args:
        client: Where the bytes go.
        codec: ``JsonCodec()`` by default; ``MsgpackCodec()`` or any ``Codec``.
    """

    @overload
    def __init__(self: TypedStorage[Any], client: StorageClient, *, codec: None = None) -> None: ...
    @overload
    def __init__(self, client: StorageClient, *, codec: Codec[V]) -> None: ...

    def __init__(self, client: StorageClient, *, codec: Codec[V] | None = None) -> None:
        if not isinstance(client, StorageClient):
            raise TypeError(
                f"TypedStorage stores through a StorageClient, not {type(client).__name__}"
            )
        if codec is not None and not (
            callable(getattr(codec, "encode", None)) and callable(getattr(codec, "decode", None))
        ):
            raise TypeError(
                f"TypedStorage codec must have encode(obj) -> bytes and decode(bytes), "
                f"not {codec!r}"
            )
        self.client = client
        self.codec: Codec[V] = codec if codec is not None else JsonCodec()

    @overload
    def read(self, key: str) -> V | None: ...
    @overload
    def read(self, key: str, default: D) -> V | D: ...

    def read(self, key: str, default: object = None) -> object:
        """Return the object at ``key``, or ``default`` (None) when absent."""
        data = self.client.read(key)
        return default if data is None else self.codec.decode(data)

    def write(self, key: str, obj: V, *, ttl: float | None = None) -> None:
        """Encode ``obj`` and store it at ``key``."""
        self.client.write(key, self.codec.encode(obj), ttl=ttl)

    def read_many(self, keys: Iterable[str]) -> dict[str, V]:
        """Return the present keys among ``keys`` with their decoded objects."""
        return {key: self.codec.decode(data) for key, data in self.client.read_many(keys).items()}

    def write_many(self, items: Mapping[str, V], *, ttl: float | None = None) -> None:
        """Encode every object first, then store them all atomically."""
        encoded = {key: self.codec.encode(obj) for key, obj in items.items()}
        self.client.write_many(encoded, ttl=ttl)

    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it was present."""
        return self.client.delete(key)

    def exists(self, key: str) -> bool:
        """Return whether ``key`` is present."""
        return self.client.exists(key)

    def list(self, prefix: str = "") -> KeyList:
        """Return the keys starting with ``prefix``, sorted."""
        return self.client.list(prefix)

    def close(self) -> None:
        """Close the underlying client."""
        self.client.close()

    def __getitem__(self, key: str) -> V:
        data = self.client.read(key)
        if data is None:
            raise KeyError(key)
        return self.codec.decode(data)

    def __setitem__(self, key: str, obj: V) -> None:
        self.write(key, obj)

    def __delitem__(self, key: str) -> None:
        del self.client[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.client)

    def __len__(self) -> int:
        return len(self.client)

    def __contains__(self, key: object) -> bool:
        return key in self.client

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
