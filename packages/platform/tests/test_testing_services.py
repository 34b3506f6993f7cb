"""The shared service fixtures: one smoke test per real service, and the skip-or-fail rule.

A broken service set-up shows up here as one clear failure per service (connect, write, read
back) rather than as many confusing failures in the backends' own suites.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from atomiton.platform.testing import (
    SERVICES,
    NatsServer,
    RedisServer,
    free_port,
    missing_reason,
    redact,
    require_service,
)

pytestmark = pytest.mark.services


def test_postgres_smoke(postgres_url: str, pg_table: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {} (k text PRIMARY KEY, v bytea)").format(
                sql.Identifier(pg_table)
            )
        )
        conn.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(sql.Identifier(pg_table)),
            ("smoke", b"\x00ok"),
        )
        row = conn.execute(
            sql.SQL("SELECT v FROM {} WHERE k = %s").format(sql.Identifier(pg_table)), ("smoke",)
        ).fetchone()
    assert row is not None
    assert bytes(row[0]) == b"\x00ok"


def test_pg_table_is_dropped_after_the_test(postgres_url: str) -> None:
    import psycopg

    # The fixture's teardown, driven by hand: a table made under the name is gone afterwards.
    from atomiton.platform.testing import pg_table

    generator = pg_table.__wrapped__(postgres_url)  # type: ignore[attr-defined]
    name = next(generator)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{name}_extra" (k int)')
    with pytest.raises(StopIteration):
        next(generator)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE starts_with(tablename, %s)", (name,)
        ).fetchone()
    assert left == (0,)


def test_redis_smoke(redis_url: str, redis_prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.set(f"{redis_prefix}smoke", b"\x00ok")
        assert client.get(f"{redis_prefix}smoke") == b"\x00ok"
    finally:
        client.close()


def test_redis_prefix_keys_are_removed_after_the_test(redis_url: str) -> None:
    import redis

    from atomiton.platform.testing import redis_prefix

    generator = redis_prefix.__wrapped__(redis_url)  # type: ignore[attr-defined]
    prefix = next(generator)
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(f"{prefix}a", 1)
        client.set(f"{prefix}b*[x]", 2)
        with pytest.raises(StopIteration):
            next(generator)
        assert client.exists(f"{prefix}a", f"{prefix}b*[x]") == 0
    finally:
        client.close()


def test_nats_jetstream_smoke(nats_url: str, nats_stream: str, nats_subject: str) -> None:
    async def roundtrip() -> bytes:
        import nats

        conn = await nats.connect(nats_url)
        try:
            js = conn.jetstream()
            await js.add_stream(name=nats_stream, subjects=[f"{nats_subject}.>"])
            ack = await js.publish(f"{nats_subject}.smoke", b"\x00ok")
            assert ack.stream == nats_stream
            sub = await js.pull_subscribe(f"{nats_subject}.smoke", durable=None)
            [message] = await sub.fetch(1, timeout=5)
            await message.ack()
            return bytes(message.data)
        finally:
            await conn.close()

    assert asyncio.run(roundtrip()) == b"\x00ok"


def test_private_redis_server_survives_kill_and_restart(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    import redis

    server = redis_server_factory()
    client = redis.Redis.from_url(server.url, socket_timeout=5)
    try:
        client.set("k", "v")
        pid = server.pid
        server.kill()
        pids = [server.pid]
        with pytest.raises(redis.ConnectionError):
            client.get("k")
        server.start()
        pids.append(server.pid)
        assert pids[0] is None
        assert pids[1] not in {None, pid}
        # No persistence: a restarted server starts empty, on the same URL.
        assert client.get("k") is None
    finally:
        client.close()


def test_private_nats_server_keeps_its_streams_across_a_restart(
    nats_server_factory: Callable[[], NatsServer],
) -> None:
    server = nats_server_factory()

    async def publish() -> None:
        import nats

        conn = await nats.connect(server.url)
        js = conn.jetstream()
        await js.add_stream(name="S", subjects=["s.>"])
        await js.publish("s.1", b"one")
        await conn.close()

    async def count() -> int:
        import nats

        conn = await nats.connect(server.url)
        info = await conn.jetstream().stream_info("S")
        await conn.close()
        return int(info.state.messages)

    asyncio.run(publish())
    server.restart()
    assert asyncio.run(count()) == 1


@pytest.fixture
def closed_port_url(monkeypatch: pytest.MonkeyPatch) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    url = f"redis://user:s3cret@127.0.0.1:{port}/0"
    monkeypatch.setenv("ATOMITON_TEST_REDIS_URL", url)
    return url


def test_missing_service_is_skipped_with_its_start_command_outside_ci(
    closed_port_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ATOMITON_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception) as caught:
        require_service("redis")
    message = str(caught.value)
    assert "Redis is not reachable" in message
    assert "redis-server --daemonize yes" in message
    assert "ATOMITON_TEST_REDIS_URL" in message
    assert "s3cret" not in message


@pytest.mark.parametrize("variable", ["CI", "ATOMITON_REQUIRE_SERVICES"])
def test_missing_service_fails_under_ci(
    closed_port_url: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(variable, "true" if variable == "CI" else "1")
    with pytest.raises(pytest.fail.Exception) as caught:
        require_service("redis")
    assert "Redis is not reachable" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_probe_tells_a_different_server_from_the_service() -> None:
    # A NATS-like greeting is not a PostgreSQL server: the probe must say so, not hang or pass.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        import threading

        def greet() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=greet)
        thread.start()
        reason = missing_reason(SERVICES["postgres"], f"postgresql://u@127.0.0.1:{port}/db")
        thread.join(5)
    assert reason is not None
    assert "something else answers" in reason


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://app:pw@db.local:5433/x?table=t") == (
        "postgresql://app:***@db.local:5433/x?table=t"
    )
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
