"""RedisStorage: the keys under one prefix on a Redis server, with an index maintained atomically.

A value is a plain Redis string at ``prefix + key``; a sorted set beside it indexes every key
(for ``list`` by lex range, never ``KEYS`` or ``SCAN``) and another one holds the expiries. Every
operation that touches more than one name is one Lua script (see ``_redis_scripts``), so values,
index and expiries never disagree, whatever kills the client.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from atomiton.storage import _redis_scripts as scripts
from atomiton.storage._backends import MAX_SERVER_TTL, import_driver
from atomiton.storage._client import (
    Entry,
    Items,
    KeyList,
    StorageClient,
    check_ttl,
    check_value,
    checked_batch,
    closed_error,
    read_only_error,
)
from atomiton.storage._errors import StorageURLError
from atomiton.storage._keys import _FORBIDDEN_CHAR, validate_key, validate_keys
from atomiton.storage._prefix import prefix_range
from atomiton.storage._server_url import (
    int_option,
    parse_server_url,
    read_only_option,
    seconds_option,
)

SCHEMES = ("redis", "rediss")
URL_OPTIONS = (
    "prefix",
    "socket_timeout",
    "connect_timeout",
    "max_connections",
    "client_name",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "mode",
)
_CERT_REQS = ("none", "optional", "required")


def _ttl_ms(seconds: float, server: bool) -> float | int:
    # The server's clock counts whole milliseconds; a TTL never rounds down to nothing.
    seconds = min(seconds, MAX_SERVER_TTL)
    return max(1, math.ceil(seconds * 1000)) if server else seconds * 1000


class RedisStorage(StorageClient):
    """Store every key under ``prefix`` on a Redis server (``atomiton-storage[redis]``).

    ``write_many``, ``delete_many``, ``clear`` and every write are one Lua script each: Redis
    runs a script whole, so a batch is all or nothing, also when this process is killed. ``list``
    reads a sorted-set index by lex range (byte order of UTF-8 = code-point order).

    TTLs are judged by the server's clock (``TIME``, and a native ``PXAT`` expiry on the value),
    so ``read`` and ``read_many`` are a plain ``GET`` / ``MGET``. A dropped connection (server
    restart, ``CLIENT KILL``) is reopened and the command sent again, twice at most; then the
    driver's error is raised (``is_transient`` holds for it). Threads share one connection pool;
    a forked child opens its own connections (redis-py checks the process id).

    Args:
        url: ``redis://[user:password@]host[:port][/db]`` or ``rediss://`` (TLS). Query
            options as in ``open_storage``; keyword arguments win over them.
        prefix: Every Redis name this client uses starts with it (default ``"atomiton:"``).
        socket_timeout: Seconds to wait for an answer.
        connect_timeout: Seconds to wait for a connection.
        max_connections: Pool bound (``None``: unbounded).
        client_name: Shown by ``CLIENT LIST``.
        readonly: Never write: writes raise ``ReadOnlyStorageError`` before reaching the server
            (use a Redis ACL user without write commands to enforce it server-side as well).
        clock: ``None`` (the server's clock decides TTLs) or seconds since the epoch (tests;
            every read then runs a script that compares expiries with this clock).

    Raises:
        StorageError: redis-py is not installed (names the extra to install).
        StorageURLError: A bad URL or option (the password is never shown).
    """

    def __init__(
        self,
        url: str,
        prefix: str | None = None,
        *,
        socket_timeout: float | None = None,
        connect_timeout: float | None = None,
        max_connections: int | None = None,
        client_name: str | None = None,
        readonly: bool | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        redis = import_driver("redis", "redis", "RedisStorage")
        retry = import_driver("redis.retry", "redis", "RedisStorage")
        backoff = import_driver("redis.backoff", "redis", "RedisStorage")
        parsed = parse_server_url(url, SCHEMES, URL_OPTIONS)
        self.url = shown = parsed.redacted
        opts = parsed.options
        prefix = prefix if prefix is not None else opts.get("prefix", "atomiton:")
        if not isinstance(prefix, str) or _FORBIDDEN_CHAR.search(prefix):
            raise ValueError(
                f"prefix must be a str without control characters or lone surrogates: {prefix!r}"
            )
        self.prefix = prefix
        if readonly is None:
            readonly = "mode" in opts and read_only_option(shown, opts["mode"])
        self.readonly = readonly
        try:
            db = int(parsed.path or "0")
        except ValueError:
            raise StorageURLError(f"{shown!r}: the path must be a database number") from None
        kwargs: dict[str, Any] = {
            "host": parsed.host or "localhost",
            "port": parsed.port or 6379,
            "db": db,
            "username": parsed.username,
            "password": parsed.password,
            "socket_timeout": socket_timeout
            or seconds_option(shown, "socket_timeout", opts.get("socket_timeout", "30")),
            "socket_connect_timeout": connect_timeout
            or seconds_option(shown, "connect_timeout", opts.get("connect_timeout", "10")),
            "client_name": client_name or opts.get("client_name"),
            # A dropped connection is reopened and the command resent (every operation is
            # idempotent): twice, a few ms apart, then the error reaches the caller.
            "retry": retry.Retry(backoff.ExponentialBackoff(cap=0.05, base=0.005), 2),
        }
        if "max_connections" in opts and max_connections is None:
            max_connections = int_option(shown, "max_connections", opts["max_connections"], 1)
        if max_connections is not None:
            kwargs["max_connections"] = max_connections
        if parsed.scheme == "rediss":
            reqs = opts.get("ssl_cert_reqs", "required")
            if reqs not in _CERT_REQS:
                raise StorageURLError(
                    f"{shown!r}: ssl_cert_reqs={reqs!r} is not one of {', '.join(_CERT_REQS)}"
                )
            kwargs.update(
                connection_class=redis.SSLConnection,
                ssl_cert_reqs=reqs,
                ssl_ca_certs=opts.get("ssl_ca_certs"),
            )
        elif "ssl_cert_reqs" in opts or "ssl_ca_certs" in opts:
            raise StorageURLError(f"{shown!r}: ssl options need the rediss:// scheme")
        self._redis = redis.Redis(connection_pool=redis.ConnectionPool(**kwargs))
        self._name = prefix.encode()
        self._plen = str(len(self._name))
        self._index = self._name + b"\x00index"
        self._expires = self._name + b"\x00expires"
        self._clock = clock
        self._is_closed = False
        self._no_script = redis.exceptions.NoScriptError
        register = self._redis.register_script
        self._scripts = {
            name: register(getattr(scripts, name.upper()))
            for name in (
                "write",
                "write_many",
                "read",
                "read_entry",
                "size",
                "read_many",
                "delete_many",
                "list",
                "count",
                "total_size",
                "purge",
                "clear",
            )
        }

    # -- helpers --------------------------------------------------------------------------------
    def _now(self) -> float | str:
        if self._is_closed:
            raise closed_error(self)
        clock = self._clock
        return "" if clock is None else clock() * 1000

    def _call(self, script: str, keys: list[bytes], args: list[Any]) -> Any:
        # EVALSHA straight through execute_command (redis-py's Script object costs ~10 us more
        # per call); a server that lost its script cache (restart, SCRIPT FLUSH) gets it again.
        sha = self._scripts[script].sha
        try:
            return self._redis.execute_command("EVALSHA", sha, len(keys), *keys, *args)
        except self._no_script:
            self._redis.script_load(self._scripts[script].script)
            return self._redis.execute_command("EVALSHA", sha, len(keys), *keys, *args)

    # -- operations ----------------------------------------------------------------------------
    def read(self, key: str) -> bytes | None:
        """Return the value at ``key`` or ``None`` (see ``StorageClient.read``)."""
        name = self._name + validate_key(key).encode()
        value: bytes | None
        if self._clock is None and not self._is_closed:
            value = self._redis.get(name)
        else:
            value = self._call("read", [self._expires, name], [self._now(), key])
        return value

    def read_entry(self, key: str) -> Entry | None:
        """Return ``(value, expires_at)``; ``expires_at`` is in this process's clock."""
        name = self._name + validate_key(key).encode()
        now = self._now()
        local = time.time() if self._clock is None else self._clock()
        found = self._call("read_entry", [self._expires, name], [now, key])
        if not found:
            return None
        if len(found) == 1:
            return found[0], None
        return found[0], local + float(found[1]) / 1000

    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Store ``data`` at ``key``, atomically with its index entry (see ``StorageClient``)."""
        if self.readonly:
            raise read_only_error(self, "write")
        name = self._name + validate_key(key).encode()
        if data.__class__ is not bytes:
            data = check_value(data)
        now = self._now()
        ttl_ms = "" if ttl is None else _ttl_ms(check_ttl(ttl), self._clock is None)
        self._call("write", [self._index, self._expires, name], [now, key, data, ttl_ms])

    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it was live."""
        if self.readonly:
            raise read_only_error(self, "delete")
        return self.delete_many([key]) == 1

    def exists(self, key: str) -> bool:
        """Return whether ``key`` holds a live value."""
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        """Return the value's length in bytes, or ``None`` when absent."""
        name = self._name + validate_key(key).encode()
        found = self._call("size", [self._expires, name], [self._now(), key])
        return None if found is None else int(found)

    def list(self, prefix: str = "") -> KeyList:
        """Return the live keys starting with ``prefix``, sorted by code point (a lex range)."""
        bounds = prefix_range(prefix)
        now = self._now()
        if bounds is None:
            return []
        low, high = bounds
        low_arg = b"[" + low.encode() if low else b"-"
        high_arg = b"(" + high.encode() if high is not None else b"+"
        found = self._call("list", [self._index, self._expires], [now, low_arg, high_arg])
        # Keys hold no newline: one join and one decode instead of one decode per key.
        return b"\n".join(found).decode().split("\n") if found else []

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Return the present keys among ``keys`` with their values (one atomic command)."""
        wanted = list(dict.fromkeys(validate_keys(list(keys))))
        now = self._now()
        if not wanted:
            return {}
        base = self._name
        names = [base + key.encode() for key in wanted]
        if self._clock is None:
            values = self._redis.mget(names)
            return {
                key: value for key, value in zip(wanted, values, strict=True) if value is not None
            }
        flat = self._call("read_many", [self._expires, *names], [now, self._plen])
        return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}

    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Store every pair in one Lua script: all or nothing."""
        if self.readonly:
            raise read_only_error(self, "write_many")
        seconds = None if ttl is None else check_ttl(ttl)
        batch = checked_batch(items)
        now = self._now()
        if not batch:
            return
        base = self._name
        names = [base + key.encode() for key in batch]
        ttl_ms = "" if seconds is None else _ttl_ms(seconds, self._clock is None)
        self._call(
            "write_many",
            [self._index, self._expires, *names],
            [now, ttl_ms, self._plen, *batch.values()],
        )

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key in ``keys`` in one Lua script; return how many were live."""
        if self.readonly:
            raise read_only_error(self, "delete_many")
        wanted = list(dict.fromkeys(validate_keys(list(keys))))
        now = self._now()
        if not wanted:
            return 0
        base = self._name
        names = [base + key.encode() for key in wanted]
        return int(
            self._call("delete_many", [self._index, self._expires, *names], [now, self._plen])
        )

    def total_size(self) -> int:
        """Return the summed length of every live value (one script over the index: O(n))."""
        return int(
            self._call("total_size", [self._index, self._expires], [self._now(), self._name])
        )

    def clear(self) -> None:
        """Remove every key of this prefix's index (never another prefix, never FLUSHDB)."""
        if self.readonly:
            raise read_only_error(self, "clear")
        self._now()
        self._call("clear", [self._index, self._expires], [self._name])

    def purge_expired(self) -> int:
        """Remove the index entries (and values) of expired keys; return how many."""
        if self.readonly:
            raise read_only_error(self, "purge_expired")
        return int(self._call("purge", [self._index, self._expires], [self._now(), self._name]))

    def close(self) -> None:
        """Close the connection pool; later calls raise ``StorageClosedError``."""
        if self._is_closed:
            return
        self._is_closed = True
        self._redis.close()
        self._redis.connection_pool.disconnect()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._is_closed

    def __len__(self) -> int:
        return int(self._call("count", [self._index, self._expires], [self._now()]))

    def __repr__(self) -> str:
        state = (" read-only" if self.readonly else "") + (" closed" if self._is_closed else "")
        return f"<RedisStorage {self.url!r} prefix={self.prefix!r}{state}>"


def open_redis(url: str, **options: Any) -> RedisStorage:
    """Open a ``redis://`` / ``rediss://`` URL for ``open_storage`` (keywords win)."""
    return RedisStorage(url, **options)
