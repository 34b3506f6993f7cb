"""PostgresStorage and RedisStorage against their raw drivers and minimalkv, in one run.

Groups (ratio = peer / atomiton, above 1: atomiton faster); issue 13's targets: >= 0.8x the raw
driver doing the same statement on the same connection pool, >= 2x minimalkv on write_many and
list.

- "storage: postgres write" / "read" / "write_many (1000)" / "read_many (1000)" / "list 1000 of
  100k": atomiton beside raw psycopg running the very statement atomiton sends, on atomiton's own
  psycopg_pool (``with pool.connection() as conn: conn.execute(...)``). For write_many also raw
  psycopg's own batch idiom: ``executemany`` of single upserts in one transaction.
- "storage: redis ...": atomiton beside raw redis-py on atomiton's own connection pool: the same
  Lua script (``evalsha``) where atomiton runs one, and the plain commands an app would send
  (``SET`` / ``GET`` / ``MSET`` / ``MGET`` / ``ZRANGEBYLEX``) that keep no index; and minimalkv's
  ``RedisStore`` (one ``SET`` per key, ``KEYS prefix*`` to list) on the same server.
- minimalkv's SQL store (``SQLAlchemyStore`` over psycopg 3) on the same PostgreSQL server, in
  the postgres write_many and list groups: one DELETE-then-INSERT transaction per key (it has no
  batch), ``LIKE prefix%`` to list.

The list groups hold 100,000 keys when timed; the untimed normal run uses 2,000 so that it stays
a correctness check that costs about a second.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from minimalkv.memory.redisstore import RedisStore

from atomiton.storage import PostgresStorage, RedisStorage

VALUE = b"v" * 100
KEYS = [f"todos/{i}" for i in range(1000)]
BATCH = dict.fromkeys(KEYS, VALUE)

pytestmark = pytest.mark.services


def _timed(benchmark: Any) -> bool:
    return not getattr(benchmark, "disabled", True)


def _sizes(benchmark: Any) -> tuple[int, int]:
    """(keys stored, keys listed): 100,000 / 1,000 when timed, 2,000 / 100 in the untimed run."""
    return (100_000, 1000) if _timed(benchmark) else (2_000, 100)


def _listing(total: int) -> dict[str, bytes]:
    return {f"k/{i:06}": b"x" for i in range(total)}


def _list_prefix(listed: int) -> str:
    # Keys k/000000..: the prefix "k/001" (listed=1000) selects k/001000..k/001999.
    return "k/" + ("001" if listed == 1000 else "0001")


def _cycle() -> Iterator[str]:
    return itertools.cycle(KEYS)


def _run(benchmark: Any, impl: str, fn: Callable[[], object]) -> object:
    benchmark.extra_info["impl"] = impl
    return benchmark(fn)


# -- PostgreSQL ------------------------------------------------------------------------------------
@pytest.fixture
def pg(postgres_url: str, pg_table: str) -> Iterator[PostgresStorage]:
    storage = PostgresStorage(postgres_url, pg_table, min_size=1, max_size=4)
    yield storage
    storage.close()


@pytest.fixture
def mkv_sql(postgres_url: str, pg_table: str) -> Iterator[Any]:
    """minimalkv's SQLAlchemyStore on the same database, in a table the pg_table fixture drops."""
    from minimalkv.db.sql import SQLAlchemyStore
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    metadata = MetaData()
    store = SQLAlchemyStore(engine, metadata, f"{pg_table}_minimalkv")  # type: ignore[no-untyped-call]
    metadata.create_all(engine)
    yield store
    engine.dispose()


def _raw_pg(storage: PostgresStorage, sql: str, fetch: bool) -> Callable[..., Any]:
    """Raw psycopg on atomiton's own pool, running ``sql`` as an app would."""
    pool = storage._pool

    def run(params: Any) -> Any:
        with pool.connection() as conn:
            cursor = conn.execute(sql, params, binary=True)
            return cursor.fetchall() if fetch else None

    return run


@pytest.mark.benchmark(group="storage: postgres write")
@pytest.mark.parametrize("impl", ["atomiton", "raw psycopg (same statement)"])
def test_pg_write(benchmark: Any, pg: PostgresStorage, impl: str) -> None:
    keys = _cycle()
    if impl == "atomiton":
        _run(benchmark, impl, lambda: pg.write(next(keys), VALUE))
    else:
        raw = _raw_pg(pg, pg._sql["write"], fetch=False)
        _run(benchmark, impl, lambda: raw((next(keys), VALUE)))
    assert pg.read(KEYS[0]) == VALUE


@pytest.mark.benchmark(group="storage: postgres read")
@pytest.mark.parametrize("impl", ["atomiton", "raw psycopg (same statement)"])
def test_pg_read(benchmark: Any, pg: PostgresStorage, impl: str) -> None:
    pg.write_many(BATCH)
    keys = _cycle()
    if impl == "atomiton":
        assert _run(benchmark, impl, lambda: pg.read(next(keys))) == VALUE
    else:
        raw = _raw_pg(pg, pg._sql["read"], fetch=True)
        assert _run(benchmark, impl, lambda: raw((next(keys), None))[0][0]) == VALUE


@pytest.mark.benchmark(group="storage: postgres write_many (1000)")
@pytest.mark.parametrize(
    "impl",
    ["atomiton", "raw psycopg (same statement)", "raw psycopg executemany", "minimalkv (SQL)"],
)
def test_pg_write_many(
    benchmark: Any, pg: PostgresStorage, impl: str, request: pytest.FixtureRequest
) -> None:
    if impl == "minimalkv (SQL)":
        store = request.getfixturevalue("mkv_sql")
        mkv_batch = {_mkv(key): value for key, value in BATCH.items()}

        def put_all() -> None:
            for key, value in mkv_batch.items():
                store.put(key, value)

        benchmark.extra_info["impl"] = impl
        benchmark.pedantic(put_all, rounds=3 if _timed(benchmark) else 1, iterations=1)
        assert store.get(_mkv(KEYS[0])) == VALUE
        return
    if impl == "atomiton":
        _run(benchmark, impl, lambda: pg.write_many(BATCH))
    elif impl == "raw psycopg (same statement)":
        raw = _raw_pg(pg, pg._sql["write_many"], fetch=False)
        keys = sorted(BATCH)
        values = [BATCH[key] for key in keys]
        _run(benchmark, impl, lambda: raw((keys, values)))
    else:
        pool, sql = pg._pool, pg._sql["write"]

        def executemany() -> None:
            with pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(sql, list(BATCH.items()))

        _run(benchmark, impl, executemany)
    assert pg.read_many(KEYS) == BATCH


@pytest.mark.benchmark(group="storage: postgres read_many (1000)")
@pytest.mark.parametrize("impl", ["atomiton", "raw psycopg (same statement)"])
def test_pg_read_many(benchmark: Any, pg: PostgresStorage, impl: str) -> None:
    pg.write_many(BATCH)
    if impl == "atomiton":
        assert _run(benchmark, impl, lambda: pg.read_many(KEYS)) == BATCH
    else:
        raw = _raw_pg(pg, pg._sql["read_many"], fetch=True)
        assert dict(_run(benchmark, impl, lambda: raw((KEYS, None)))) == BATCH  # type: ignore[call-overload]


@pytest.mark.benchmark(group="storage: postgres list 1000 of 100k")
@pytest.mark.parametrize("impl", ["atomiton", "raw psycopg (same statement)", "minimalkv (SQL)"])
def test_pg_list(
    benchmark: Any, pg: PostgresStorage, impl: str, request: pytest.FixtureRequest
) -> None:
    total, listed = _sizes(benchmark)
    pg.write_many(_listing(total))
    prefix = _list_prefix(listed)
    high = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    if impl == "minimalkv (SQL)":
        # The same 100k keys (with '_' for '/', which minimalkv's key rules refuse) in its table.
        store = request.getfixturevalue("mkv_sql")
        sql = f'COPY "{store.table.name}" (key, value) FROM STDIN'
        with pg._pool.connection() as conn, conn.cursor() as cursor, cursor.copy(sql) as copy:
            for key, value in _listing(total).items():
                copy.write_row((_mkv(key), value))
        found = _run(benchmark, impl, lambda: store.keys(_mkv(prefix)))
    elif impl == "atomiton":
        found = _run(benchmark, impl, lambda: pg.list(prefix))
    else:
        raw = _raw_pg(pg, pg._sql["list_range"], fetch=True)
        found = [row[0] for row in _run(benchmark, impl, lambda: raw((prefix, high, None)))]  # type: ignore[attr-defined]
    assert len(found) == listed  # type: ignore[arg-type]


# -- Redis -----------------------------------------------------------------------------------------
@pytest.fixture
def rd(redis_url: str, redis_prefix: str) -> Iterator[RedisStorage]:
    storage = RedisStorage(redis_url, redis_prefix)
    yield storage
    storage.close()


def _names(storage: RedisStorage, keys: list[str]) -> list[bytes]:
    return [storage.prefix.encode() + key.encode() for key in keys]


def _minimalkv(storage: RedisStorage) -> RedisStore:
    return RedisStore(redis.Redis(connection_pool=storage._redis.connection_pool))


@pytest.fixture
def mkv_base(redis_url: str) -> Iterator[str]:
    """A name prefix for minimalkv's keys (its key rules refuse '/' and ':'), removed after."""
    base = f"atomitonbench{uuid.uuid4().hex[:12]}_"
    yield base
    client = redis.Redis.from_url(redis_url)
    names = list(client.scan_iter(match=base + "*", count=10_000))
    for start in range(0, len(names), 10_000):
        client.unlink(*names[start : start + 10_000])
    client.close()


def _mkv(key: str) -> str:
    return key.replace("/", "_")


@pytest.mark.benchmark(group="storage: redis write")
@pytest.mark.parametrize(
    "impl", ["atomiton", "raw redis-py (same script)", "raw redis-py SET (no index)", "minimalkv"]
)
def test_redis_write(benchmark: Any, rd: RedisStorage, impl: str, mkv_base: str) -> None:
    keys = _cycle()
    client, script = rd._redis, rd._scripts["write"]
    base = rd.prefix
    index, expires = rd._index, rd._expires
    if impl == "atomiton":
        _run(benchmark, impl, lambda: rd.write(next(keys), VALUE))
        assert rd.read(KEYS[0]) == VALUE
    elif impl == "raw redis-py (same script)":

        def write() -> None:
            key = next(keys)
            client.evalsha(script.sha, 3, index, expires, base + key, "", key, VALUE, "")

        script(keys=[index, expires, base + "x"], args=["", "x", b"", ""])  # loads it
        _run(benchmark, impl, write)
        assert rd.read(KEYS[0]) == VALUE
    elif impl == "raw redis-py SET (no index)":
        _run(benchmark, impl, lambda: client.set(base + next(keys), VALUE))
    else:
        store = _minimalkv(rd)
        _run(benchmark, impl, lambda: store.put(mkv_base + _mkv(next(keys)), VALUE))
        assert client.get(mkv_base + _mkv(KEYS[0])) == VALUE
        return
    assert client.get(base + KEYS[0]) == VALUE


@pytest.mark.benchmark(group="storage: redis read")
@pytest.mark.parametrize("impl", ["atomiton", "raw redis-py GET", "minimalkv"])
def test_redis_read(benchmark: Any, rd: RedisStorage, impl: str, mkv_base: str) -> None:
    rd.write_many(BATCH)
    keys = _cycle()
    base = rd.prefix
    if impl == "atomiton":
        assert _run(benchmark, impl, lambda: rd.read(next(keys))) == VALUE
    elif impl == "raw redis-py GET":
        client = rd._redis
        assert _run(benchmark, impl, lambda: client.get(base + next(keys))) == VALUE
    else:
        store = _minimalkv(rd)
        rd._redis.mset({mkv_base + _mkv(key): VALUE for key in KEYS})
        assert _run(benchmark, impl, lambda: store.get(mkv_base + _mkv(next(keys)))) == VALUE


@pytest.mark.benchmark(group="storage: redis write_many (1000)")
@pytest.mark.parametrize(
    "impl", ["atomiton", "raw redis-py (same script)", "raw redis-py MSET (no index)", "minimalkv"]
)
def test_redis_write_many(benchmark: Any, rd: RedisStorage, impl: str, mkv_base: str) -> None:
    client = rd._redis
    names = _names(rd, KEYS)
    if impl == "atomiton":
        _run(benchmark, impl, lambda: rd.write_many(BATCH))
        assert rd.list("todos/") == sorted(KEYS)
    elif impl == "raw redis-py (same script)":
        script = rd._scripts["write_many"]
        keys = [rd._index, rd._expires, *names]
        args = ["", "", len(rd.prefix.encode()), *BATCH.values()]
        _run(benchmark, impl, lambda: script(keys=keys, args=args))
        assert rd.list("todos/") == sorted(KEYS)
    elif impl == "raw redis-py MSET (no index)":
        mapping = dict(zip(names, BATCH.values(), strict=True))
        _run(benchmark, impl, lambda: client.mset(mapping))
    else:
        store = _minimalkv(rd)
        mkv_batch = {mkv_base + _mkv(key): value for key, value in BATCH.items()}

        def put_all() -> None:
            for key, value in mkv_batch.items():
                store.put(key, value)

        benchmark.extra_info["impl"] = impl
        benchmark.pedantic(put_all, rounds=5 if _timed(benchmark) else 1, iterations=1)
        assert client.get(mkv_base + _mkv(KEYS[0])) == VALUE
        return
    assert client.get(names[0]) == VALUE


@pytest.mark.benchmark(group="storage: redis read_many (1000)")
@pytest.mark.parametrize("impl", ["atomiton", "raw redis-py MGET"])
def test_redis_read_many(benchmark: Any, rd: RedisStorage, impl: str) -> None:
    rd.write_many(BATCH)
    if impl == "atomiton":
        assert _run(benchmark, impl, lambda: rd.read_many(KEYS)) == BATCH
    else:
        client, names = rd._redis, _names(rd, KEYS)
        assert _run(benchmark, impl, lambda: client.mget(names)) == list(BATCH.values())


@pytest.mark.benchmark(group="storage: redis list 1000 of 100k")
@pytest.mark.parametrize(
    "impl",
    [
        "atomiton",
        "raw redis-py (same script)",
        "raw redis-py ZRANGEBYLEX",
        "minimalkv (KEYS prefix*)",
    ],
)
def test_redis_list(benchmark: Any, rd: RedisStorage, impl: str, mkv_base: str) -> None:
    total, listed = _sizes(benchmark)
    listing = _listing(total)
    items = list(listing.items())
    for start in range(0, total, 10_000):
        rd.write_many(dict(items[start : start + 10_000]))
    prefix = _list_prefix(listed)
    low, high = (
        b"[" + prefix.encode(),
        b"(" + prefix[:-1].encode() + chr(ord(prefix[-1]) + 1).encode(),
    )
    client = rd._redis
    if impl == "atomiton":
        found = _run(benchmark, impl, lambda: rd.list(prefix))
    elif impl == "raw redis-py (same script)":
        script = rd._scripts["list"]
        keys = [rd._index, rd._expires]
        found = _run(benchmark, impl, lambda: script(keys=keys, args=["", low, high]))
    elif impl == "raw redis-py ZRANGEBYLEX":
        found = _run(benchmark, impl, lambda: client.zrangebylex(rd._index, low, high))
    else:
        # minimalkv gets its own 100k keys (same names with '_' for '/'): KEYS scans them all.
        for start in range(0, total, 10_000):
            client.mset({mkv_base + _mkv(k): v for k, v in items[start : start + 10_000]})
        store = _minimalkv(rd)
        found = _run(benchmark, impl, lambda: store.keys(mkv_base + _mkv(prefix)))
    assert len(found) == listed  # type: ignore[arg-type]
