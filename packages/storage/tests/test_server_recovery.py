"""PostgreSQL and Redis clients survive the server dropping their connections and (Redis) the
server being SIGKILLed and restarted: the same client object goes on; a call in flight either
completes or raises a transient error."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest
import redis

from atomiton.platform import RetryPolicy
from atomiton.platform.testing import RedisServer
from atomiton.storage import PostgresStorage, RedisStorage, RetryingStorage, StorageClient
from atomiton.storage import is_transient as storage_is_transient

pytestmark = pytest.mark.services


class Stream:
    """A thread writing and reading in a loop, recording every call that returned or failed."""

    def __init__(self, storage: StorageClient, *, verify_reads: bool = True) -> None:
        self.storage = storage
        self.verify_reads = verify_reads  # off when a restart may lose a write right after it
        self.stopping = threading.Event()
        self.done = 0
        self.acknowledged: dict[str, bytes] = {}
        self.uncertain: set[str] = set()  # keys of failed calls: applied or not, either is right
        self.transient: list[BaseException] = []
        self.other: list[BaseException] = []
        self.progress = threading.Condition()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        for i in range(1_000_000):
            if self.stopping.is_set():
                return
            key, value = f"s/{i % 50}", b"%d" % i
            batch = {f"b/{i % 50}/{j}": value for j in range(20)} if i % 5 == 0 else {key: value}
            try:
                if i % 5 == 0:
                    self.storage.write_many(batch)
                else:
                    self.storage.write(key, value)
                    read = self.storage.read(key)
                    assert read == value or not self.verify_reads
            except Exception as exc:
                (self.transient if storage_is_transient(exc) else self.other).append(exc)
                self.uncertain.update(batch)
            else:
                self.acknowledged.update(batch)
                self.uncertain.difference_update(batch)
            with self.progress:
                self.done = i + 1
                self.progress.notify_all()

    def wait_for(self, calls: int) -> None:
        with self.progress:
            assert self.progress.wait_for(lambda: self.done >= calls, timeout=60), self.done

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=120)

    def check(self) -> None:
        self.stop()
        assert not self.thread.is_alive()
        assert self.other == [], self.other
        # Every acknowledged write is there, unless a later call on the key failed in flight
        # (which may or may not have been applied: then some value is there).
        stored = self.storage.read_many(list(self.acknowledged))
        for key, value in self.acknowledged.items():
            if key in self.uncertain:
                assert key in stored, key
            else:
                assert stored.get(key) == value, key


# -- PostgreSQL ------------------------------------------------------------------------------------
def _terminate(postgres_url: str, application_name: str) -> int:
    """pg_terminate_backend every connection of ``application_name``, waiting until they are gone.

    Right after an earlier round the pool may still be reconnecting, with no connection to kill:
    then it asks again until there is one (bounded).
    """
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for _ in range(500):
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                (application_name,),
            ).fetchall()
            if any(gone for (gone,) in rows):
                return len(rows)
            time.sleep(0.01)
    return 0


@pytest.mark.slow
def test_postgres_recovers_after_pg_terminate_backend(postgres_url: str, pg_table: str) -> None:
    name = f"atomiton-test-{uuid.uuid4().hex[:8]}"
    with PostgresStorage(postgres_url, pg_table, application_name=name, min_size=2) as pg:
        pg.write("k", b"1")
        assert _terminate(postgres_url, name) >= 1
        pg.write("k", b"2")  # the same client, on a fresh connection: no error at all
        assert pg.read("k") == b"2"
        stream = Stream(pg)
        stream.thread.start()
        for round_ in range(1, 6):
            stream.wait_for(round_ * 40)
            assert _terminate(postgres_url, name) >= 1
        stream.check()
        assert pg.list("k") == ["k"]


# -- Redis -----------------------------------------------------------------------------------------
def _kill_clients(url: str) -> int:
    admin = redis.Redis.from_url(url)
    try:
        return int(admin.client_kill_filter(_type="normal", skipme=True))
    finally:
        admin.close()


def test_redis_recovers_after_client_kill(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()
    with RedisStorage(server.url, "app:") as rd:
        rd.write("k", b"1")
        assert _kill_clients(server.url) >= 1
        rd.write("k", b"2")  # the same client reconnects: no error at all
        assert rd.read("k") == b"2"
        stream = Stream(rd)
        stream.thread.start()
        for round_ in range(1, 6):
            stream.wait_for(round_ * 40)
            _kill_clients(server.url)
        stream.check()
        assert stream.transient == [], stream.transient  # a killed connection is reopened


def test_redis_recovers_after_the_server_is_killed_and_restarted(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()  # persistence off, as on the test machines
    with RedisStorage(server.url, "app:") as rd:
        rd.write_many({"a": b"1", "b": b"2"})
        server.restart()  # SIGKILL, then the same port again
        assert rd.read("a") is None  # without AOF or RDB a restart loses everything
        assert rd.list() == []
        assert len(rd) == 0
        rd.write("c", b"3")  # the same client, no error
        assert rd.list() == ["c"]
        # Restarted while calls are in flight: each completes or raises a transient error.
        stream = Stream(rd, verify_reads=False)
        stream.thread.start()
        stream.wait_for(50)
        server.restart()
        stream.wait_for(100)
        stream.stop()
        assert stream.other == [], stream.other
        assert all(storage_is_transient(error) for error in stream.transient)
        # The index and the values never disagree after the restart.
        listed = rd.list()
        assert sorted(rd.read_many(listed)) == listed
        assert len(rd) == len(listed)


def test_redis_with_aof_keeps_every_acknowledged_write_across_sigkill(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory(appendonly=True)
    with RedisStorage(server.url, "app:") as rd:
        batch = {f"k/{i}": b"%d" % i for i in range(200)}
        rd.write_many(batch)
        rd.write("single", b"s", ttl=600)
        server.restart()
        assert rd.read_many(list(batch)) == batch
        assert rd.list("k/") == sorted(batch)
        assert rd.read("single") == b"s"


def test_retrying_storage_rides_out_a_redis_restart(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()
    retrying = RetryingStorage(
        RedisStorage(server.url, "app:"), RetryPolicy(attempts=100, base_delay=0.02, max_delay=0.05)
    )
    retrying.write("before", b"1")
    restarter = threading.Thread(target=server.restart)
    restarter.start()
    for i in range(100):  # every call succeeds: the transient errors are retried
        retrying.write(f"k/{i}", b"v")
    restarter.join()
    retrying.write("after", b"2")
    assert retrying.read("after") == b"2"
    retrying.close()


def test_redis_busy_with_another_script_is_a_transient_error(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()
    admin = redis.Redis.from_url(server.url)
    admin.config_set("busy-reply-threshold", 50)  # ms before others get BUSY (default 5 s)
    with RedisStorage(server.url, "app:") as rd:
        rd.write("k", b"v")
        ended: list[BaseException] = []

        def loop_forever() -> None:
            try:
                admin.eval("while true do end", 0)
            except redis.ResponseError as exc:  # killed by SCRIPT KILL, as planned
                ended.append(exc)

        looping = threading.Thread(target=loop_forever)
        looping.start()
        killer = redis.Redis.from_url(server.url)
        deadline = time.monotonic() + 10
        caught: BaseException | None = None
        while caught is None:  # until the loop has run past the threshold
            assert time.monotonic() < deadline, "the script never made the server busy"
            try:
                rd.read("k")
            except redis.ResponseError as exc:
                caught = exc
        assert str(caught).startswith("BUSY")
        assert storage_is_transient(caught)
        killer.script_kill()
        looping.join(timeout=30)
        assert ended, "the looping script was not killed"
        killer.close()
        assert rd.read("k") == b"v"  # and the client goes on
    admin.close()
