"""PostgresStorage and RedisStorage beyond the conformance suite: URLs and secrets, missing
drivers, the server's clock, listing by index, namespaces, threads, fork, transient errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import redis

from atomiton.platform.testing import RedisServer
from atomiton.storage import (
    InvalidKeyError,
    PostgresStorage,
    ReadOnlyStorageError,
    RedisStorage,
    StorageClient,
    StorageError,
    StorageURLError,
    is_caller_error,
    is_transient,
    open_storage,
)

pytestmark = pytest.mark.services
SECRET = "hunter2-Secret"


@pytest.fixture(params=["postgres", "redis"])
def storage(request: pytest.FixtureRequest) -> Iterator[StorageClient]:
    """Each backend with the server's clock (clock=None), in the test's own table / prefix."""
    client: StorageClient
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        client = PostgresStorage(url, request.getfixturevalue("pg_table"))
    else:
        url = request.getfixturevalue("redis_url")
        client = RedisStorage(url, request.getfixturevalue("redis_prefix"))
    yield client
    client.close()


def _with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, _, host = rest.rpartition("@")
    return f"{scheme}://{user or 'postgres'}:{SECRET}@{host}"


# -- URLs ------------------------------------------------------------------------------------------
def test_open_storage_opens_every_registered_scheme(
    postgres_url: str, pg_table: str, redis_url: str, redis_prefix: str
) -> None:
    query = "min_size=0&max_size=3&synchronous_commit=off&statement_timeout=5&connect_timeout=3"
    for scheme in ("postgres", "postgresql"):
        url = scheme + postgres_url[postgres_url.index(":") :]
        with open_storage(f"{url}?table={pg_table}&{query}") as pg:
            assert isinstance(pg, PostgresStorage)
            assert (pg.table, pg.max_size, pg.synchronous_commit) == (pg_table, 3, "off")
            pg.write(f"from/{scheme}", b"1")
    with open_storage(postgres_url + "?table=ignored", table=pg_table) as pg:
        assert pg.list("from/") == ["from/postgres", "from/postgresql"]  # the keyword won
    with open_storage(f"{redis_url}?prefix={redis_prefix}&socket_timeout=2") as rd:
        assert isinstance(rd, RedisStorage)
        assert rd.prefix == redis_prefix
        rd.write("k", b"v")
        assert redis.Redis.from_url(redis_url).get(f"{redis_prefix}k") == b"v"
    with open_storage(f"{redis_url}?mode=ro", prefix=redis_prefix) as ro:
        assert ro.read("k") == b"v"
        with pytest.raises(ReadOnlyStorageError, match="read-only"):
            ro.write("k", b"x")
    with open_storage(f"{postgres_url}?table={pg_table}&mode=ro") as ro:
        assert ro.read("from/postgres") == b"1"
        with pytest.raises(ReadOnlyStorageError):
            ro.delete("from/postgres")
        assert ro.read("from/postgres") == b"1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u:{pw}@127.0.0.1/test?colour=red", "unknown postgresql option 'colour'"),
        ("postgresql://u:{pw}@127.0.0.1/test?table=a&table=b", "option 'table' is given more"),
        ("postgres://u:{pw}@127.0.0.1/test?max_size=many", "max_size='many'"),
        ("postgres://u:{pw}@127.0.0.1/test?connect_timeout=-1", "connect_timeout='-1'"),
        ("postgres://u:{pw}@127.0.0.1/test?synchronous_commit=maybe", "synchronous_commit"),
        ("postgres://u:{pw}@127.0.0.1/test?mode=rx", "mode='rx'"),
        ("postgres://u:{pw}@127.0.0.1:99999/test", "malformed host or port"),
        ("redis://u:{pw}@127.0.0.1/0?prefix=a&prefix=b", "option 'prefix' is given more"),
        ("redis://u:{pw}@127.0.0.1/0?db=1", "unknown redis option 'db'"),
        ("redis://u:{pw}@127.0.0.1/zero", "database number"),
        ("redis://u:{pw}@127.0.0.1/0?ssl_cert_reqs=none", "rediss://"),
        ("rediss://u:{pw}@127.0.0.1/0?ssl_cert_reqs=maybe", "ssl_cert_reqs='maybe'"),
        ("redis://u:{pw}@127.0.0.1/0#frag", "fragment"),
        ("s3://u:{pw}@bucket/x", "unknown scheme 's3'"),
    ],
)
def test_bad_urls_name_the_problem_and_never_the_password(url: str, message: str) -> None:
    with pytest.raises(StorageURLError, match=message) as caught:
        open_storage(url.format(pw=SECRET))
    assert SECRET not in str(caught.value)
    assert "***" in str(caught.value)


def test_password_never_in_repr_error_or_log(
    postgres_url: str, pg_table: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The test server trusts local users, so any password is accepted.
    with PostgresStorage(_with_password(postgres_url), pg_table) as pg:
        pg.write("k", b"v")
        assert SECRET not in repr(pg)
        assert "***" in repr(pg)
    with RedisStorage(f"redis://default:{SECRET}@127.0.0.1:1/0", connect_timeout=1) as rd:
        assert SECRET not in repr(rd)
        with pytest.raises(redis.ConnectionError) as redis_error:
            rd.read("k")
    with pytest.raises(psycopg.OperationalError) as pg_error:
        PostgresStorage(f"postgresql://postgres:{SECRET}@127.0.0.1:1/test", connect_timeout=2)
    for error in (redis_error.value, pg_error.value):
        assert SECRET not in str(error)
        assert is_transient(error)
    assert SECRET not in caplog.text


def test_names_import_without_the_drivers_and_constructing_names_the_extra() -> None:
    script = """
import sys
for name in ("psycopg", "psycopg_pool", "redis"):
    sys.modules[name] = None  # an import of it now fails, as if it were not installed
from atomiton.storage import PostgresStorage, RedisStorage, StorageError, open_storage
cases = [
    (lambda: PostgresStorage("postgresql://u@127.0.0.1/db"), "atomiton-storage[postgres]"),
    (lambda: open_storage("postgres://u@127.0.0.1/db"), "atomiton-storage[postgres]"),
    (lambda: RedisStorage("redis://127.0.0.1"), "atomiton-storage[redis]"),
    (lambda: open_storage("rediss://127.0.0.1"), "atomiton-storage[redis]"),
]
for make, extra in cases:
    try:
        make()
    except StorageError as exc:
        assert extra in str(exc), exc
    else:
        raise SystemExit("constructed without its driver")
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "ok\n", done.stderr


# -- semantics on the server's clock ---------------------------------------------------------------
def test_keys_with_pattern_characters_list_correctly(storage: StorageClient) -> None:
    keys = ["a%b", "a_b", "a*b", "a?b", "a[b]", "a\\b", "ab", "a%", "a_", "a[", "a]x", "%", "_x"]
    keys += [
        "*",
        "?",
        "[",
        "]",
        "\\",
        "a",
        "aa",
        "b%_*?[]\\",
        "é",
        "日本",
        "\U0010ffff",
        "z\U0010ffffz",
    ]
    storage.write_many({key: key.encode() for key in keys})
    assert storage.list() == sorted(keys)
    for prefix in ["a%", "a_", "a*", "a?", "a[", "a]", "a\\", "%", "_", "*", "[", "\\", "b%_*?[]"]:
        assert storage.list(prefix) == sorted(k for k in keys if k.startswith(prefix)), prefix
    assert storage.list("\U0010ffff") == ["\U0010ffff"]
    assert storage.list("z\U0010ffff") == ["z\U0010ffffz"]
    assert storage.list("a\x00") == []
    assert storage.list("\ud800") == []


def test_ttl_by_the_server_clock_expires_everywhere_at_once(storage: StorageClient) -> None:
    before = time.time()
    storage.write("short", b"1", ttl=0.4)
    storage.write_many({"batch/1": b"22", "batch/2": b"333"}, ttl=0.4)
    storage.write("long", b"4444", ttl=600)
    storage.write("forever", b"55555")
    entry = storage.read_entry("short")
    assert entry is not None
    assert entry[1] is not None
    assert before < entry[1] <= time.time() + 0.4 + 0.05
    long_entry = storage.read_entry("long")
    assert long_entry is not None
    assert long_entry[1] == pytest.approx(time.time() + 600, abs=5)
    assert storage.list() == ["batch/1", "batch/2", "forever", "long", "short"]
    assert storage.read_many(["short", "batch/1"]) == {"short": b"1", "batch/1": b"22"}
    deadline = time.monotonic() + 10
    # The server decides when; wait, bounded, for the batch: it was written after "short", so
    # its expiry is the later one (waiting for "short" raced the batch's few ms later expiry).
    while storage.read("batch/1") is not None:
        assert time.monotonic() < deadline, "a 0.4 s TTL never expired"
        time.sleep(0.02)
    assert time.time() >= before + 0.4 - 0.05  # not before its time (clocks agree here)
    # Everything agrees at once: no read, list, size or count still sees an expired key.
    assert storage.read("short") is None
    assert storage.read_entry("short") is None
    assert not storage.exists("batch/2")
    assert storage.size("short") is None
    assert storage.list() == ["forever", "long"]
    assert storage.list("batch/") == []
    assert len(storage) == 2
    assert storage.total_size() == 9
    assert storage.read_many(["short", "batch/1", "batch/2", "long"]) == {"long": b"4444"}
    assert storage.delete("short") is False
    assert storage.delete_many(["batch/1", "batch/2", "long"]) == 1
    storage.write("short", b"again")  # rewritten without a TTL: permanent
    assert storage.read_entry("short") == (b"again", None)
    assert storage.purge_expired() >= 0
    assert storage.list() == ["forever", "short"]


@pytest.mark.parametrize("ttl", [1e9, 1e300, float(2**1023)])
def test_a_huge_ttl_is_kept_as_a_very_long_one(storage: StorageClient, ttl: float) -> None:
    storage.write("k", b"v", ttl=ttl)
    storage.write_many({"m": b"w"}, ttl=ttl)
    entry = storage.read_entry("k")
    assert entry is not None
    assert entry[1] is not None
    assert entry[1] > time.time() + min(ttl, 1e15) * 0.99
    assert storage.list() == ["k", "m"]
    assert storage.read_many(["k", "m"]) == {"k": b"v", "m": b"w"}


def test_clear_removes_only_its_own_table_or_prefix(
    postgres_url: str, pg_table: str, redis_url: str, redis_prefix: str
) -> None:
    raw = redis.Redis.from_url(redis_url)
    raw.set(f"{redis_prefix}foreign", b"not ours")  # under the prefix, but never written by us
    pairs = [
        (PostgresStorage(postgres_url, pg_table), PostgresStorage(postgres_url, pg_table + "_b")),
        (RedisStorage(redis_url, redis_prefix), RedisStorage(redis_url, redis_prefix + "b:")),
    ]
    for mine, other in pairs:
        with mine, other:
            mine.write_many({"x/1": b"1", "x/2": b"2"})
            other.write_many({"x/1": b"other", "y": b"other"})
            mine.clear()
            assert mine.list() == []
            assert len(mine) == 0
            assert other.list() == ["x/1", "y"]
            assert other.read("x/1") == b"other"
    assert raw.get(f"{redis_prefix}foreign") == b"not ours"
    raw.close()


def test_postgres_list_is_an_index_range_even_as_a_generic_plan(
    postgres_url: str, pg_table: str
) -> None:
    with PostgresStorage(postgres_url, pg_table) as pg:
        pg.write_many({f"k/{i:05}": b"v" for i in range(5000)})
        assert pg.list("k/0012") == [f"k/{i:05}" for i in range(120, 130)]
        sql = pg._sql["list_range"]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'ANALYZE "{pg_table}"')
        for mode in ("force_custom_plan", "force_generic_plan"):
            conn.execute(f"SET plan_cache_mode = {mode}")
            numbered = sql
            for number in (1, 2, 3):
                numbered = numbered.replace("%s", f"${number}", 1)
            conn.execute(f"PREPARE listing(text, text, float8) AS {numbered}")
            plan = "\n".join(
                row[0] for row in conn.execute("EXPLAIN EXECUTE listing('k/0012', 'k/0013', NULL)")
            )
            conn.execute("DEALLOCATE listing")
            assert "Index" in plan, plan
            assert "Seq Scan" not in plan, plan


def test_redis_list_reads_the_index_never_keys_or_scan(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()
    admin = redis.Redis.from_url(server.url)
    with RedisStorage(server.url, "app:") as rd:
        rd.write_many({f"k/{i:05}": b"v" for i in range(3000)})
        admin.config_resetstat()
        assert rd.list("k/0012") == [f"k/{i:05}" for i in range(120, 130)]
        assert len(rd.list()) == 3000
        stats: dict[str, Any] = admin.info("commandstats")
    assert "cmdstat_zrangebylex" in stats
    assert not {"cmdstat_keys", "cmdstat_scan"} & stats.keys(), sorted(stats)
    admin.close()


# -- threads, fork, errors -------------------------------------------------------------------------
def test_threads_share_one_client(storage: StorageClient) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(30):
                storage.write(f"t{worker}/{i}", b"%d" % i)
                storage.write_many({"shared/a": b"%d" % worker, "shared/b": b"%d" % worker})
                assert storage.read(f"t{worker}/{i}") == b"%d" % i
                both = storage.read_many(["shared/a", "shared/b"])
                assert both["shared/a"] == both["shared/b"]  # a batch is never seen half done
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(storage) == 8 * 30 + 2


def test_a_forked_child_uses_its_own_connections(storage: StorageClient) -> None:
    storage.write("parent/0", b"p")  # the parent's pool now holds an open connection
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
        pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            for i in range(50):
                storage.write(f"child/{i}", b"c%d" % i)
                assert storage.read(f"child/{i}") == b"c%d" % i
            code = 0
        finally:
            os._exit(code)
    for i in range(50):  # the parent works on its own connections at the same time
        storage.write(f"parent/{i}", b"p%d" % i)
        assert storage.read(f"parent/{i}") == b"p%d" % i
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(storage.list("child/")) == 50
    assert storage.read("parent/49") == b"p49"


def test_driver_errors_are_transient_and_caller_errors_never_are() -> None:
    transient: list[BaseException] = [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.errors.SerializationFailure(),
        psycopg.errors.DeadlockDetected(),
        psycopg.errors.QueryCanceled(),
        psycopg.errors.AdminShutdown(),
        psycopg.errors.LockNotAvailable(),
        redis.ConnectionError("Connection closed by server."),
        redis.TimeoutError("Timeout reading from socket"),
        redis.BusyLoadingError("Redis is loading the dataset in memory"),
        redis.ResponseError("BUSY Redis is busy running a script."),
        redis.ResponseError("READONLY You can't write against a read only replica."),
    ]
    for error in transient:
        assert is_transient(error), error
        assert not is_caller_error(error)
    permanent: list[BaseException] = [
        psycopg.errors.UndefinedTable(),
        psycopg.errors.UniqueViolation(),
        psycopg.OperationalError("password authentication failed for user"),
        redis.AuthenticationError("invalid username-password pair"),
        redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        InvalidKeyError("../x", "keys must not contain a '..' segment"),
        KeyError("missing"),
    ]
    for error in permanent:
        assert not is_transient(error), error


def test_bad_keys_and_closed_clients_never_reach_the_server(storage: StorageClient) -> None:
    with pytest.raises(InvalidKeyError):
        storage.read("a//b")
    assert storage.read("missing") is None
    storage.close()
    with pytest.raises(StorageError, match="closed"):
        storage.read("k")
    with pytest.raises(StorageError, match="closed"):
        storage.list()
