"""``atom_with_storage`` (Jotai's atomWithStorage): an atom whose value lives in a storage client.

Each store keeps the value it last read or wrote in a private primitive atom (the *slot*); the
storage is read when a store first uses the atom, again whenever the atom gets its first
subscriber in a store (Jotai's onMount re-read), and on ``store.set(a, RELOAD)``. Every
write goes to storage first and only then into the store, so a write that storage refuses
changes nothing.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

from atomiton.store._atoms.atom import Getter, Setter, WritableComputed
from atomiton.store._atoms.factories import atom, computed
from atomiton.store._atoms.store import Store
from atomiton.store._utilities._reset import RESET, Reset

T = TypeVar("T")

_log = logging.getLogger(__name__)


@runtime_checkable
class KeyValueStorage(Protocol):
    """The storage calls ``atom_with_storage`` makes; every ``atomiton.storage`` client has them."""

    def read(self, key: str, /) -> bytes | None:
        """The bytes stored at ``key``, or None."""
        ...

    def write(self, key: str, data: bytes, /) -> None:
        """Store ``data`` at ``key``."""
        ...

    def delete(self, key: str, /) -> bool:
        """Remove ``key``; whether it existed."""
        ...


@runtime_checkable
class Codec(Protocol):
    """Turns values into bytes and back (``atomiton.storage.JsonCodec``/``MsgpackCodec`` fit)."""

    def encode(self, obj: Any, /) -> bytes:
        """The bytes for ``obj``."""
        ...

    def decode(self, data: bytes, /) -> Any:
        """The value for ``data``."""
        ...


class JsonCodec:
    """UTF-8 JSON, compact; the same bytes as ``atomiton.storage.JsonCodec``."""

    __slots__ = ()

    def encode(self, obj: Any, /) -> bytes:
        """Encode ``obj`` as compact JSON (``TypeError``/``ValueError`` if it is not JSON)."""
        import json  # here, not at import: json costs milliseconds (issue 19)

        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()

    def decode(self, data: bytes, /) -> Any:
        """Decode UTF-8 JSON bytes."""
        import json

        return json.loads(data)

    def __repr__(self) -> str:
        return "JSON"


JSON = JsonCodec()
"""The default codec of ``atom_with_storage``."""


class _Unread:
    """The slot of a store that has not read the key yet, or must read it again.

    A new instance per reload: instances compare by identity, so setting one always counts as a
    change and the atom re-reads storage.
    """

    __slots__ = ()


class Reload(enum.Enum):
    """The type of ``RELOAD``."""

    RELOAD = "RELOAD"

    def __repr__(self) -> str:
        return "RELOAD"


RELOAD: Final = Reload.RELOAD
"""Write this to a storage atom (``store.set(a, RELOAD)``) to read its key again."""


class _Held:
    """A value the store read or wrote (boxed: the value itself may be anything)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def atom_with_storage(
    key: str,
    initial: T,
    storage: KeyValueStorage,
    *,
    codec: Codec = JSON,
    read_on_init: bool = False,
    name: str | None = None,
    equals: Callable[[T, T], bool] | None = None,
) -> WritableComputed[T, T | Reset | Reload, None]:
    """Define an atom persisted under ``key`` in ``storage``.

    Reads: a store reads the key the first time it uses the atom (``initial`` when the key is
    missing or cannot be decoded, which is logged), and again when the atom gets its first
    subscriber there. Writes: ``store.set(a, value)`` encodes and writes the value to storage,
    then into the store; ``store.set(a, RESET)`` deletes the key and the store shows ``initial``;
    ``store.set(a, RELOAD)`` re-reads the key, which is how a store that already holds the
    value picks up what another store or process wrote since. Two stores on one storage see each
    other's writes on their next (re-)read; pushing changes to stores that already read the key
    is the job of ``sync_atoms`` (the sync issue), not of this atom.

    Storage calls run under the store's lock on the calling thread, so give it a storage whose
    calls are fast (memory, SQLite, a cache in front of a server). ``store.restore`` and time
    travel move the store's value only; storage keeps the last value written.

    Args:
        key: The storage key (the storage's key rules apply).
        initial: The value while the key is missing.
        storage: Any object with ``read``/``write``/``delete`` of bytes, such as
            ``atomiton.storage.MemoryStorage`` or ``SQLiteStorage``.
        codec: Turns values into bytes and back (default ``JSON``).
        read_on_init: Read the key now, once, and start every store from that value (no read
            on first use; mounting still re-reads).
        name: The atom's name (see ``atom``).
        equals: Equality for the bail-out (see ``computed``).

    Returns:
        A writable derived atom: ``store.set(a, value)``, ``store.set(a, RESET)`` or
        ``store.set(a, RELOAD)``.

    Raises:
        TypeError: ``key`` is not a str, or ``storage``/``codec`` lack the needed methods.
    """
    if not isinstance(key, str):
        raise TypeError(f"atom_with_storage() key must be a str, got {type(key).__name__}")
    if not isinstance(storage, KeyValueStorage):
        raise TypeError(
            "atom_with_storage() storage needs read(key), write(key, data) and delete(key), "
            f"got {type(storage).__name__}"
        )
    if not isinstance(codec, Codec):
        raise TypeError(
            "atom_with_storage() codec needs encode(value) and decode(data), "
            f"got {type(codec).__name__}"
        )

    def load() -> Any:
        data = storage.read(key)
        if data is None:
            return initial
        try:
            return codec.decode(data)
        except Exception:
            _log.warning(
                "atom_with_storage: the value at %r cannot be decoded; using the initial value",
                key,
                exc_info=True,
            )
            return initial

    slot: Any = atom(_Held(load()) if read_on_init else _Unread())

    def read(get: Getter) -> Any:
        held = get(slot)
        return held.value if isinstance(held, _Held) else load()

    def write(get: Getter, set: Setter, value: Any, /) -> None:
        if value is RELOAD:
            set(slot, _Unread())
        elif value is RESET:
            storage.delete(key)
            set(slot, _Held(initial))
        else:
            data = codec.encode(value)
            storage.write(key, data)
            set(slot, _Held(value))

    def reload_on_mount(store: Store) -> None:
        # Jotai's onMount re-read: a view that starts observing sees what storage holds now.
        store.set(slot, _Unread())

    return computed(read, write=write, name=name, equals=equals, on_mount=reload_on_mount)
