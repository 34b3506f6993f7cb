"""atomiton.platform.testing: pytest fixtures for the real services, shared by every package.

The workspace loads this plugin for every test run (``-p atomiton.platform.testing`` in the root
pytest configuration); an application's own tests can load it the same way. Nothing here is
imported by ``atomiton.platform`` itself, and the drivers are imported only inside the fixtures.

Services (each URL from an environment variable, with the local default):

============  ==============================  ==========================================
fixture       variable                        default
============  ==============================  ==========================================
postgres_url  ATOMITON_TEST_POSTGRES_URL      postgresql://postgres@127.0.0.1:5432/test
redis_url     ATOMITON_TEST_REDIS_URL         redis://127.0.0.1:6379/0
nats_url      ATOMITON_TEST_NATS_URL          nats://127.0.0.1:4222
chromium_path ATOMITON_TEST_CHROMIUM          /usr/bin/chromium
============  ==============================  ==========================================

Each service is probed once per run (one second at most). When it is missing the test is skipped
with a reason naming the service and the command that starts it; under ``CI=true`` or
``ATOMITON_REQUIRE_SERVICES=1`` the same reason fails the test instead.

Per-test namespaces, unique per test and removed afterwards, so tests never see each other's data
and run in any order:

- ``pg_table``: a table name; afterwards every table whose name starts with it is dropped.
- ``redis_prefix``: a key prefix ending in ``:``; afterwards every key under it is deleted.
- ``nats_stream`` and ``nats_subject``: a JetStream stream name and a subject root; afterwards
  every stream whose name contains the test's token is deleted.

Memory: ``bytes_per_object(make, count)`` is what ``make(i)`` allocates per object, kept alive,
counting only allocations made under ``make`` (never another thread's).

Private servers, for tests that kill and restart a server: ``redis_server_factory`` and
``nats_server_factory`` return a function that starts a :class:`RedisServer` /
:class:`NatsServer` on a free port in the test's folder; each has ``url``, ``kill()`` (SIGKILL),
``start()``, ``restart()`` and ``stop()``, and is stopped after the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from atomiton.platform.testing._imports import (
    HEAVY_AT_IMPORT,
    modules_loaded_by,
)
from atomiton.platform.testing._memory import bytes_per_object
from atomiton.platform.testing._servers import NatsServer, PrivateServer, RedisServer, free_port
from atomiton.platform.testing._services import (
    SERVICES,
    Service,
    chromium_missing_reason,
    is_strict,
    missing_reason,
    probe,
    redact,
)

__all__ = [
    "HEAVY_AT_IMPORT",
    "SERVICES",
    "NatsServer",
    "PrivateServer",
    "RedisServer",
    "Service",
    "bytes_per_object",
    "chromium_path",
    "free_port",
    "is_strict",
    "missing_reason",
    "modules_loaded_by",
    "nats_server_factory",
    "nats_stream",
    "nats_subject",
    "nats_url",
    "pg_table",
    "postgres_url",
    "probe",
    "redact",
    "redis_prefix",
    "redis_server_factory",
    "redis_url",
    "require_service",
    "unavailable",
]

_reasons: dict[tuple[str, str], str | None] = {}


def unavailable(reason: str) -> NoReturn:
    """Skip the current test for ``reason``, or fail it under CI (where nothing may be missing)."""
    if is_strict():
        pytest.fail(f"required for this run (CI): {reason}", pytrace=False)
    pytest.skip(reason)


def require_service(key: str) -> str:
    """Return the URL of service ``key`` (``postgres``, ``redis``, ``nats``) if usable.

    The probe runs once per URL per test session.

    Raises:
        pytest.skip.Exception: The service is missing, outside CI.
        pytest.fail.Exception: The service is missing under CI.
    """
    service = SERVICES[key]
    url = service.url
    if (key, url) not in _reasons:
        _reasons[key, url] = missing_reason(service, url)
    reason = _reasons[key, url]
    if reason is not None:
        unavailable(reason)
    return url


def _token() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of the test PostgreSQL database (skips or fails when it is missing)."""
    return require_service("postgres")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of the test Redis database (skips or fails when it is missing)."""
    return require_service("redis")


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The URL of the test NATS server with JetStream (skips or fails when it is missing)."""
    return require_service("nats")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The path of Debian's Chromium for Playwright (skips or fails when it is missing)."""
    path, reason = chromium_missing_reason()
    if path is None:
        unavailable(reason or "Chromium is missing")
    return path


@pytest.fixture
def pg_table(postgres_url: str) -> Iterator[str]:
    """A table name unique to this test; every table starting with it is dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"t_{_token()}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE starts_with(tablename, %s)",
            (name,),
        ).fetchall()
        for schema, table in rows:
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            )


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to this test (ends in ``:``); its keys are deleted afterwards."""
    import redis

    prefix = f"atomiton-test:{_token()}:"
    yield prefix
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        batch: list[Any] = []
        for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)
    finally:
        client.close()


@pytest.fixture
def _nats_token(nats_url: str) -> Iterator[str]:
    token = _token()
    yield token
    _run_in_own_loop(_delete_streams(nats_url, token))


@pytest.fixture
def nats_stream(_nats_token: str) -> str:
    """A JetStream stream name unique to this test; such streams are deleted afterwards."""
    return f"T_{_nats_token}"


@pytest.fixture
def nats_subject(_nats_token: str) -> str:
    """A subject root unique to this test (``t.<token>``), for subjects like ``t.<token>.x``."""
    return f"t.{_nats_token}"


async def _delete_streams(url: str, token: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    conn = await nats.connect(url, connect_timeout=5, allow_reconnect=False)
    try:
        js = conn.jetstream()
        for info in await js.streams_info():
            name = info.config.name or ""
            if token in name:
                with contextlib.suppress(NotFoundError):
                    await js.delete_stream(name)
    finally:
        await conn.close()


def _run_in_own_loop(coroutine: Any) -> None:
    # A teardown may run while the test's own event loop still exists in this thread; a thread of
    # its own gives the cleanup a loop of its own.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # reported in the test's thread below
            errors.append(exc)

    thread = threading.Thread(target=run, name="atomiton-test-cleanup")
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]


@pytest.fixture
def redis_server_factory(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start private ``redis-server`` processes on free ports; all are killed after the test."""
    servers: list[RedisServer] = []

    def start(*, appendonly: bool = False) -> RedisServer:
        _require_binary("redis-server", "apt-get install redis-server")
        server = RedisServer(tmp_path / f"redis-{len(servers)}", appendonly=appendonly)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def nats_server_factory(tmp_path: Path) -> Iterator[Callable[[], NatsServer]]:
    """Start private ``nats-server -js`` processes on free ports; all are killed after the test."""
    servers: list[NatsServer] = []

    def start() -> NatsServer:
        _require_binary("nats-server", "apt-get install nats-server")
        server = NatsServer(tmp_path / f"nats-{len(servers)}")
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()


def _require_binary(name: str, install: str) -> None:
    import os
    import shutil

    if shutil.which(name) is None and not os.path.exists(f"/usr/sbin/{name}"):
        unavailable(f"{name} is not installed: `{install}`")
