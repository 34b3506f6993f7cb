"""RetryingStorage and CircuitBreakerStorage, on the platform's RetryPolicy and CircuitBreaker.

Which errors are transient (worth retrying, and counted by a breaker) is decided here, not by the
policy alone: a missing key, an invalid key, a wrong value type or a closed client are the
caller's mistakes, and repeating them cannot help.
"""

from __future__ import annotations

import errno
import sqlite3
from abc import abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from atomiton.platform import CircuitBreaker, RetryPolicy
from atomiton.storage._client import Entry, Items, KeyList, StorageClient, pairs
from atomiton.storage._errors import StorageError
from atomiton.storage._server_errors import is_server_transient
from atomiton.storage._sqlite import is_busy
from atomiton.storage._wrapper import StorageWrapper

R = TypeVar("R")

#: OS errors that may pass: try again, interrupted, busy, I/O error (every FileStorage write is a
#: whole new file, so repeating one after EIO rewrites and re-syncs it in full), timeouts, stale
#: NFS handles, lock-table exhaustion and deadlock avoidance. Not: ENOSPC, EACCES, EROFS, ENOENT.
TRANSIENT_ERRNOS = frozenset(
    {
        errno.EAGAIN,
        errno.EWOULDBLOCK,
        errno.EINTR,
        errno.EBUSY,
        errno.EIO,
        errno.ETIMEDOUT,
        errno.ESTALE,
        errno.ENOLCK,
        errno.EDEADLK,
    }
)


def is_transient(exc: BaseException) -> bool:
    """Tell whether retrying the operation that raised ``exc`` may succeed.

    Transient: SQLite "database is locked" / "busy" (``sqlite3.OperationalError``), ``OSError``
    with an errno in ``TRANSIENT_ERRNOS``, ``TimeoutError``, and the PostgreSQL and Redis
    drivers' lost connections, timeouts, serialization failures, deadlocks and ``BUSY`` (see
    ``_server_errors``). Never transient: ``KeyError``,
    ``TypeError``, ``ValueError`` (``InvalidKeyError`` included) and every ``StorageError``.
    """
    if isinstance(exc, KeyError | TypeError | ValueError | StorageError):
        return False
    if isinstance(exc, sqlite3.Error):
        return is_busy(exc)
    if is_server_transient(exc):
        return True
    if isinstance(exc, TimeoutError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in TRANSIENT_ERRNOS
    return False


def is_caller_error(exc: BaseException) -> bool:
    """Tell whether ``exc`` is the caller's mistake (bad key, bad value, closed client)."""
    return isinstance(exc, KeyError | TypeError | ValueError | StorageError)


class _Passed:
    """An exception carried past the policy or breaker as a value, so it is not acted on."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _attempt(
    keep: Callable[[BaseException], bool], fn: Callable[..., R], args: tuple[Any, ...]
) -> R | _Passed:
    try:
        return fn(*args)
    except Exception as exc:
        if keep(exc):
            raise
        return _Passed(exc)


class _GuardedStorage(StorageWrapper):
    """Run every operation through ``self._run``; subclasses say how."""

    @abstractmethod
    def _run(self, fn: Callable[..., R], *args: Any) -> R:
        """Call ``fn(*args)`` under this wrapper's guard (retry policy or breaker)."""

    def read(self, key: str) -> bytes | None:
        """Run ``read`` through the guard."""
        return self._run(self.inner.read, key)

    def read_entry(self, key: str) -> Entry | None:
        """Run ``read_entry`` through the guard."""
        return self._run(self.inner.read_entry, key)

    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Run ``write`` through the guard."""
        if ttl is None:
            self._run(self.inner.write, key, data)
        else:
            self._run(lambda: self.inner.write(key, data, ttl=ttl))

    def delete(self, key: str) -> bool:
        """Run ``delete`` through the guard."""
        return self._run(self.inner.delete, key)

    def exists(self, key: str) -> bool:
        """Run ``exists`` through the guard."""
        return self._run(self.inner.exists, key)

    def list(self, prefix: str = "") -> KeyList:
        """Run ``list`` through the guard."""
        return self._run(self.inner.list, prefix)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Run ``read_many`` through the guard."""
        return self._run(self.inner.read_many, list(keys))

    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Run ``write_many`` through the guard (the batch is atomic, so a retry is safe)."""
        batch = list(pairs(items))
        self._run(lambda: self.inner.write_many(batch, ttl=ttl))

    def delete_many(self, keys: Iterable[str]) -> int:
        """Run ``delete_many`` through the guard."""
        return self._run(self.inner.delete_many, list(keys))

    def size(self, key: str) -> int | None:
        """Run ``size`` through the guard."""
        return self._run(self.inner.size, key)

    def total_size(self) -> int:
        """Run ``total_size`` through the guard."""
        return self._run(self.inner.total_size)

    def clear(self) -> None:
        """Run ``clear`` through the guard."""
        self._run(self.inner.clear)

    def purge_expired(self) -> int:
        """Run ``purge_expired`` through the guard."""
        return self._run(self.inner.purge_expired)

    def __len__(self) -> int:
        return self._run(self.inner.__len__)


class RetryingStorage(_GuardedStorage):
    """Retry operations of ``inner`` that fail with a transient error, following ``policy``.

    Only errors for which ``is_transient`` holds ever reach the policy; the policy's own
    ``retry_on`` may narrow that further. A missing key, an invalid key, a bad value or a closed
    client is raised at once, whatever the policy says.

    Args:
        inner: The client to protect.
        policy: Attempts and backoff; default: 5 attempts, 10 ms doubling up to 200 ms.
    """

    def __init__(self, inner: StorageClient, policy: RetryPolicy | None = None) -> None:
        super().__init__(inner)
        self.policy = policy or RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.2)

    def _run(self, fn: Callable[..., R], *args: Any) -> R:
        result = self.policy.call(_attempt, is_transient, fn, args)
        if isinstance(result, _Passed):
            raise result.error
        return result


class CircuitBreakerStorage(_GuardedStorage):
    """Refuse operations of ``inner`` while ``breaker`` is open.

    Backend failures count towards opening it; the caller's mistakes (``is_caller_error``: a
    missing or invalid key, a bad value, a closed client) pass through without counting. While
    open, every operation raises the platform's ``CircuitOpenError`` without touching ``inner``.

    Args:
        inner: The client to protect.
        breaker: The shared breaker (several clients may share one).
    """

    def __init__(self, inner: StorageClient, breaker: CircuitBreaker) -> None:
        super().__init__(inner)
        self.breaker = breaker

    def _run(self, fn: Callable[..., R], *args: Any) -> R:
        result = self.breaker.call(_attempt, _is_backend_failure, fn, args)
        if isinstance(result, _Passed):
            raise result.error
        return result


def _is_backend_failure(exc: BaseException) -> bool:
    return not is_caller_error(exc)
