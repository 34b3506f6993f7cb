"""PostgresStorage: one table on a PostgreSQL server, shared by every process on every machine.

Each operation is one SQL statement (a batch too: ``unnest`` arrays for ``write_many``,
``= ANY`` for ``read_many`` / ``delete_many``), run in autocommit on a connection from a
psycopg_pool pool, so every operation is one atomic transaction and one round trip.
"""

from __future__ import annotations

import math
import os
import re
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

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
from atomiton.storage._errors import StorageError, StorageURLError
from atomiton.storage._keys import validate_key, validate_keys
from atomiton.storage._prefix import prefix_range
from atomiton.storage._server_url import (
    int_option,
    parse_server_url,
    read_only_option,
    seconds_option,
)

SCHEMES = ("postgres", "postgresql")
URL_OPTIONS = (
    "table",
    "min_size",
    "max_size",
    "connect_timeout",
    "timeout",
    "statement_timeout",
    "synchronous_commit",
    "application_name",
    "sslmode",
    "sslrootcert",
    "mode",
)
SYNCHRONOUS_COMMIT = ("on", "off", "local", "remote_write", "remote_apply")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# The server's clock, unless the client passes its own time (a ``clock=`` for tests).
_NOW = "coalesce(%s::float8, extract(epoch from statement_timestamp())::float8)"
_LIVE = f"(expires IS NULL OR expires > {_NOW})"


def _quoted_table(table: str) -> str:
    parts = table.split(".") if isinstance(table, str) else [""]
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
        raise ValueError(
            f"table must be a name like 'atomiton_kv' or 'schema.atomiton_kv' (letters, digits, "
            f"'_', at most 63 each), not {table!r}"
        )
    return ".".join(f'"{part}"' for part in parts)


def _fetchone(cursor: Any) -> Any:
    return cursor.fetchone()


def _fetchall(cursor: Any) -> list[Any]:
    rows: list[Any] = cursor.fetchall()
    return rows


def _rowcount(cursor: Any) -> int:
    count: int = cursor.rowcount
    return count


class PostgresStorage(StorageClient):
    """Store each key as a row of a table on a PostgreSQL server (``atomiton-storage[postgres]``).

    The table (``key text COLLATE "C" PRIMARY KEY, value bytea, expires float8``) is created when
    missing. Every operation is one statement in autocommit, so each ``write``, ``write_many``
    and ``delete_many`` is one transaction: all or nothing, also when this process is killed.
    ``list`` is an index range scan in code-point order (the ``"C"`` collation).

    TTLs are judged by the server's clock (``statement_timestamp()``), so clients on machines
    whose clocks disagree still agree on what has expired. A connection the server dropped is
    replaced and the operation tried once more on a fresh one; when that fails too, the driver's
    error is raised (``is_transient`` holds for it).

    Args:
        url: ``postgresql://user:password@host:port/database`` (``postgres://`` too). Query
            options as in ``open_storage``; keyword arguments win over them.
        table: The table (``name`` or ``schema.name``).
        min_size: Connections the pool keeps open.
        max_size: Connections the pool opens at most (threads beyond wait for one).
        connect_timeout: Seconds to wait for a new connection.
        timeout: Seconds a call waits for a free pooled connection.
        statement_timeout: Seconds a statement may run on the server (``None``: no limit).
        synchronous_commit: The server setting for this client's transactions (``None``: the
            server's default). See the README's durability table.
        application_name: Shown in ``pg_stat_activity``.
        readonly: Never write: every session is ``default_transaction_read_only``, the table is
            never created (it must exist), and writes raise ``ReadOnlyStorageError`` at once.
        clock: ``None`` (the server's clock decides TTLs) or seconds since the epoch (tests).

    Raises:
        StorageError: psycopg is not installed (names the extra to install), or ``readonly``
            and the table does not exist.
        StorageURLError: A bad URL or option (the password is never shown).
    """

    def __init__(
        self,
        url: str,
        table: str | None = None,
        *,
        min_size: int | None = None,
        max_size: int | None = None,
        connect_timeout: float | None = None,
        timeout: float | None = None,
        statement_timeout: float | None = None,
        synchronous_commit: str | None = None,
        application_name: str | None = None,
        readonly: bool | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        psycopg = import_driver("psycopg", "postgres", "PostgresStorage")
        self._pool_module = import_driver("psycopg_pool", "postgres", "PostgresStorage")
        self._psycopg = psycopg
        parsed = parse_server_url(url, SCHEMES, URL_OPTIONS)
        self.url = parsed.redacted
        shown = parsed.redacted
        opts = parsed.options
        self.table = table if table is not None else opts.get("table", "atomiton_kv")
        quoted = _quoted_table(self.table)
        self.min_size = (
            min_size
            if min_size is not None
            else int_option(shown, "min_size", opts.get("min_size", "1"), 0)
        )
        self.max_size = (
            max_size
            if max_size is not None
            else int_option(shown, "max_size", opts.get("max_size", "10"), 1)
        )
        if self.max_size < max(self.min_size, 1):
            raise ValueError(f"max_size ({self.max_size}) must be >= min_size and >= 1")
        connect = connect_timeout or seconds_option(
            shown, "connect_timeout", opts.get("connect_timeout", "10")
        )
        self.timeout = timeout or seconds_option(shown, "timeout", opts.get("timeout", "30"))
        if statement_timeout is None and "statement_timeout" in opts:
            statement_timeout = seconds_option(
                shown, "statement_timeout", opts["statement_timeout"]
            )
        sync = synchronous_commit or opts.get("synchronous_commit")
        if sync is not None and sync not in SYNCHRONOUS_COMMIT:
            raise StorageURLError(
                f"{shown!r}: synchronous_commit={sync!r} is not one of "
                f"{', '.join(SYNCHRONOUS_COMMIT)}"
            )
        self.synchronous_commit = sync
        if readonly is None:
            readonly = "mode" in opts and read_only_option(shown, opts["mode"])
        self.readonly = readonly
        settings = ["-c default_transaction_read_only=on"] if readonly else []
        if sync is not None:
            settings.append(f"-c synchronous_commit={sync}")
        if statement_timeout is not None:
            settings.append(f"-c statement_timeout={max(1, math.ceil(statement_timeout * 1000))}")
        self._connect_kwargs: dict[str, Any] = {
            key: value
            for key, value in {
                "host": parsed.host,
                "port": parsed.port,
                "user": parsed.username,
                "password": parsed.password,
                "dbname": parsed.path or None,
                "connect_timeout": max(2, math.ceil(connect)),
                "application_name": application_name
                or opts.get("application_name", "atomiton-storage"),
                "sslmode": opts.get("sslmode"),
                "sslrootcert": opts.get("sslrootcert"),
                "options": " ".join(settings) or None,
                "autocommit": True,
            }.items()
            if value is not None
        }
        self._clock = clock
        self._is_closed = False
        self._abandoned: list[object] = []  # pools inherited over fork(): never used, never closed
        self._sql = _statements(quoted)
        self._create_table(quoted)
        self._pool: Any = self._new_pool()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_pool(ref))

    # -- connections ----------------------------------------------------------------------------
    def _create_table(self, quoted: str) -> None:
        if self.readonly:
            with self._psycopg.connect(**self._connect_kwargs) as conn:
                found = conn.execute("SELECT to_regclass(%s)", (quoted,)).fetchone()
            if found is None or found[0] is None:
                raise StorageError(
                    f"{self.url!r} has no table {self.table!r}, and a read-only "
                    "PostgresStorage never creates one"
                )
            return
        with self._psycopg.connect(**self._connect_kwargs) as conn, conn.transaction():
            # Several processes may open a new table at once: CREATE TABLE IF NOT EXISTS races
            # on the catalog (a unique violation), so they take turns.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"atomiton:{quoted}",))
            for statement in self._sql["schema"]:
                conn.execute(statement)

    def _new_pool(self) -> Any:
        pool = self._pool_module.ConnectionPool(
            kwargs=self._connect_kwargs,
            min_size=self.min_size,
            max_size=self.max_size,
            timeout=self.timeout,
            name=f"atomiton-storage {self.table}",
            open=False,
        )
        pool.open(wait=False)
        return pool

    def _pool_or_new(self) -> Any:
        if self._is_closed:
            raise closed_error(self)
        pool = self._pool
        if pool is None:  # first use in a forked child
            pool = self._pool = self._new_pool()
        return pool

    def _run(self, sql: str, params: Any, fetch: Callable[[Any], Any]) -> Any:
        """Run one statement on a pooled connection; once more on a fresh one if it was dropped."""
        pool = self._pool if not self._is_closed else None
        if pool is None:
            pool = self._pool_or_new()
        for attempt in (1, 2):
            try:
                conn = pool.getconn()
            except self._pool_module.PoolClosed:
                raise closed_error(self) from None
            try:
                result = fetch(conn.execute(sql, params, binary=True))
            except self._psycopg.OperationalError:
                broken = conn.closed or conn.broken
                pool.putconn(conn)
                if attempt == 2 or not broken:
                    raise
                # The server dropped this connection (restart, pg_terminate_backend): the
                # pooled ones are probably gone too, so test them all before trying again.
                pool.check()
                continue
            except BaseException:
                pool.putconn(conn)
                raise
            pool.putconn(conn)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _now(self) -> float | None:
        clock = self._clock
        return None if clock is None else clock()

    def _local_time(self) -> float:
        clock = self._clock
        return time.time() if clock is None else clock()

    # -- operations ----------------------------------------------------------------------------
    def read(self, key: str) -> bytes | None:
        """Return the value at ``key`` or ``None`` (see ``StorageClient.read``)."""
        row = self._run(self._sql["read"], (validate_key(key), self._now()), _fetchone)
        return None if row is None else row[0]

    def read_entry(self, key: str) -> Entry | None:
        """Return ``(value, expires_at)``; ``expires_at`` is in this process's clock."""
        key = validate_key(key)
        now = self._local_time()
        row = self._run(self._sql["read_entry"], (self._now(), key), _fetchone)
        if row is None or (row[1] is not None and row[1] <= 0):
            return None
        return row[0], None if row[1] is None else now + row[1]

    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Store ``data`` at ``key`` in its own transaction (see ``StorageClient.write``)."""
        if self.readonly:
            raise read_only_error(self, "write")
        key = validate_key(key)
        if data.__class__ is not bytes:
            data = check_value(data)
        if ttl is None:
            self._run(self._sql["write"], (key, data), _rowcount)
        else:
            params = (key, data, self._now(), min(check_ttl(ttl), MAX_SERVER_TTL))
            self._run(self._sql["write_ttl"], params, _rowcount)

    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it was live."""
        if self.readonly:
            raise read_only_error(self, "delete")
        rows = self._run(self._sql["delete"], (validate_key(key), self._now()), _fetchall)
        return bool(rows) and (rows[0][0] is None or rows[0][0] > 0)

    def exists(self, key: str) -> bool:
        """Return whether ``key`` holds a live value."""
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        """Return the value's length in bytes, or ``None`` when absent."""
        row = self._run(self._sql["size"], (validate_key(key), self._now()), _fetchone)
        return None if row is None else int(row[0])

    def list(self, prefix: str = "") -> KeyList:
        """Return the live keys starting with ``prefix``, sorted by code point (an index range)."""
        bounds = prefix_range(prefix)
        if bounds is None:  # no valid key can start with this prefix
            self._pool_or_new()
            return []
        low, high = bounds
        if low == "":
            rows = self._run(self._sql["list_all"], (self._now(),), _fetchall)
        elif high is None:
            rows = self._run(self._sql["list_from"], (low, self._now()), _fetchall)
        else:
            rows = self._run(self._sql["list_range"], (low, high, self._now()), _fetchall)
        # The range is exact (see prefix_range): no key outside the prefix comes back.
        return [row[0] for row in rows]

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Return the present keys among ``keys`` with their values (one snapshot)."""
        wanted = list(dict.fromkeys(validate_keys(list(keys))))
        if not wanted:
            self._pool_or_new()
            return {}
        rows = self._run(self._sql["read_many"], (wanted, self._now()), _fetchall)
        return dict(rows)

    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Store every pair in one statement: all or nothing."""
        if self.readonly:
            raise read_only_error(self, "write_many")
        seconds = None if ttl is None else min(check_ttl(ttl), MAX_SERVER_TTL)
        batch = checked_batch(items)
        if not batch:
            self._pool_or_new()
            return
        # Sorted, so concurrent batches lock shared rows in the same order (no deadlock).
        keys = sorted(batch)
        values = [batch[key] for key in keys]
        if seconds is None:
            self._run(self._sql["write_many"], (keys, values), _rowcount)
        else:
            params = (self._now(), seconds, keys, values)
            self._run(self._sql["write_many_ttl"], params, _rowcount)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key in ``keys`` in one statement; return how many were live."""
        if self.readonly:
            raise read_only_error(self, "delete_many")
        wanted = sorted(set(validate_keys(list(keys))))
        if not wanted:
            self._pool_or_new()
            return 0
        rows = self._run(self._sql["delete_many"], (wanted, self._now()), _fetchall)
        return sum(1 for (remaining,) in rows if remaining is None or remaining > 0)

    def total_size(self) -> int:
        """Return the summed length of every live value."""
        return int(self._run(self._sql["total"], (self._now(),), _fetchone)[0])

    def clear(self) -> None:
        """Remove every row of this client's table (and nothing else)."""
        if self.readonly:
            raise read_only_error(self, "clear")
        self._run(self._sql["clear"], (), _rowcount)

    def purge_expired(self) -> int:
        """Delete the rows whose TTL has passed (they are already invisible); return how many."""
        if self.readonly:
            raise read_only_error(self, "purge_expired")
        return int(self._run(self._sql["purge"], (self._now(),), _rowcount))

    def close(self) -> None:
        """Close the pool; later calls raise ``StorageClosedError``.

        Calls running on other threads finish first (their connections close when returned).
        """
        if self._is_closed:
            return
        self._is_closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(timeout=self.timeout)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._is_closed

    def __len__(self) -> int:
        return int(self._run(self._sql["count"], (self._now(),), _fetchone)[0])

    def __repr__(self) -> str:
        state = (" read-only" if self.readonly else "") + (" closed" if self._is_closed else "")
        return f"<PostgresStorage {self.url!r} table={self.table!r}{state}>"


def _statements(table: str) -> dict[str, Any]:
    upsert = "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires"
    index = table[:-1] + '_expires"'
    return {
        "schema": (
            f'CREATE TABLE IF NOT EXISTS {table} (key text COLLATE "C" PRIMARY KEY, '
            "value bytea NOT NULL, expires double precision)",
            # Only rows with a TTL are indexed, so permanent writes stay HOT updates.
            f"CREATE INDEX IF NOT EXISTS {index.split('.')[-1]} ON {table} (expires) "
            "WHERE expires IS NOT NULL",
        ),
        "read": f"SELECT value FROM {table} WHERE key = %s AND {_LIVE}",
        "read_entry": f"SELECT value, expires - {_NOW} FROM {table} WHERE key = %s",
        "size": f"SELECT length(value) FROM {table} WHERE key = %s AND {_LIVE}",
        "write": f"INSERT INTO {table} (key, value) VALUES (%s, %s) {upsert}",
        "write_ttl": f"INSERT INTO {table} (key, value, expires) VALUES (%s, %s, {_NOW} + %s) "
        f"{upsert}",
        "delete": f"DELETE FROM {table} WHERE key = %s RETURNING expires - {_NOW}",
        "list_all": f"SELECT key FROM {table} WHERE {_LIVE} ORDER BY key",
        "list_from": f"SELECT key FROM {table} WHERE key >= %s AND {_LIVE} ORDER BY key",
        "list_range": f"SELECT key FROM {table} WHERE key >= %s AND key < %s AND {_LIVE} "
        "ORDER BY key",
        "read_many": f"SELECT key, value FROM {table} WHERE key = ANY(%s::text[]) AND {_LIVE}",
        "write_many": f"INSERT INTO {table} (key, value) "
        f"SELECT * FROM unnest(%s::text[], %s::bytea[]) {upsert}",
        "write_many_ttl": f"INSERT INTO {table} (key, value, expires) "
        f"SELECT u.k, u.v, {_NOW} + %s FROM unnest(%s::text[], %s::bytea[]) AS u(k, v) {upsert}",
        "delete_many": f"DELETE FROM {table} WHERE key = ANY(%s::text[]) "
        f"RETURNING expires - {_NOW}",
        "count": f"SELECT count(*) FROM {table} WHERE {_LIVE}",
        "total": f"SELECT coalesce(sum(length(value)), 0) FROM {table} WHERE {_LIVE}",
        "purge": f"DELETE FROM {table} WHERE expires <= {_NOW}",
        "clear": f"DELETE FROM {table}",
    }


def _forget_pool(ref: weakref.ref[PostgresStorage]) -> None:
    storage = ref()
    if storage is not None and storage._pool is not None:
        # The child must never talk on the parent's sockets, nor close them (closing sends the
        # server a Terminate): it keeps the parent's pool unused and opens its own on first use.
        storage._abandoned.append(storage._pool)
        storage._pool = None


def open_postgres(url: str, **options: Any) -> PostgresStorage:
    """Open a ``postgres://`` / ``postgresql://`` URL for ``open_storage`` (keywords win)."""
    return PostgresStorage(url, **options)
