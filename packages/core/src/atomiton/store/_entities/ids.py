"""Sortable entity ids (ULID form) and the rules an id or a store name must follow.

An id is 26 Crockford base-32 characters: 48 bits of milliseconds since the epoch, then 80
random bits. Ids sort by creation time; within one millisecond one process increments the random
part, so its ids stay strictly increasing. Across processes, 80 random bits make a clash
negligible; after ``os.fork`` the child reseeds, so parent and child never continue one sequence.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import time

from atomiton.store._errors import InvalidEntityIdError

__all__ = ["MAX_ID_LENGTH", "new_id", "validate_entity_id", "validate_store_name"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
MAX_ID_LENGTH = 128
_STORE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class _Generator:
    """The per-process monotonic state; reset in a forked child."""

    __slots__ = ("last_ms", "last_random", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_ms = -1
        self.last_random = 0

    def reset(self) -> None:
        self.lock = threading.Lock()
        self.last_ms = -1
        self.last_random = 0

    def next(self) -> int:
        with self.lock:
            now = time.time_ns() // 1_000_000
            if now <= self.last_ms:
                # Same millisecond (or the wall clock stepped back): keep increasing.
                now = self.last_ms
                rand = self.last_random + 1
                if rand > _RANDOM_MAX:
                    now += 1
                    rand = int.from_bytes(os.urandom(10), "big") >> 1
            else:
                # Leave headroom (top bit clear) so increments rarely overflow.
                rand = int.from_bytes(os.urandom(10), "big") >> 1
            self.last_ms = now
            self.last_random = rand
            return (now << _RANDOM_BITS) | rand


_GENERATOR = _Generator()
if hasattr(os, "register_at_fork"):  # pragma: no branch - every POSIX Python has it
    os.register_at_fork(after_in_child=_GENERATOR.reset)


# Encoding through base64.b32encode (C) and a translation table is ~5x faster than a Python
# loop over 26 five-bit groups (measured: 0.5 us vs 2.6 us per id).
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def new_id() -> str:
    """Return a new sortable id, unique across threads and processes (ULID layout)."""
    # 20 bytes = 32 base-32 digits; the first 6 are the 30 leading zero bits.
    encoded = base64.b32encode(_GENERATOR.next().to_bytes(20, "big"))[6:]
    return encoded.translate(_TO_CROCKFORD).decode()


# The storage key rules (atomiton.storage): no C0/C1 control character, no lone surrogate.
# One regex search is ~20x faster than a per-character Python check on every write's id.
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def validate_entity_id(value: object, *, store: str) -> str:
    """Return ``value`` if it can be an entity id, else raise ``InvalidEntityIdError``.

    An id is a non-empty ``str`` of at most 128 characters without ``/``, control characters
    or lone surrogates (it becomes one segment of a storage key), and not ``.`` or ``..``.
    """
    if not isinstance(value, str):
        raise InvalidEntityIdError(
            f"store {store!r}: an entity id must be a str, got {type(value).__name__} {value!r}"
        )
    if not value or len(value) > MAX_ID_LENGTH:
        raise InvalidEntityIdError(
            f"store {store!r}: an entity id must have 1..{MAX_ID_LENGTH} characters, got {value!r}"
        )
    if "/" in value or value in {".", ".."} or _UNSTORABLE.search(value) is not None:
        raise InvalidEntityIdError(
            f"store {store!r}: entity id {value!r} may not contain '/', control characters or "
            "lone surrogates and may not be '.' or '..'"
        )
    return value


def validate_store_name(name: object) -> str:
    """Return ``name`` if it can name an entity store, else raise ``InvalidEntityIdError``.

    A store name starts with a letter and continues with letters, digits, ``_`` or ``-``
    (at most 64 characters), so it works as ``client.stores.Name`` and as a key segment.
    """
    if not isinstance(name, str) or not _STORE_NAME.fullmatch(name):
        raise InvalidEntityIdError(
            f"store name {name!r} is invalid: use a letter followed by letters, digits, '_' or '-'"
            " (at most 64 characters)"
        )
    return name
