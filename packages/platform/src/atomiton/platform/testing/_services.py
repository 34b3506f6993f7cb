"""The real services the test suites talk to: where each is, how to probe it, how to start it.

A probe speaks just enough of each server's wire protocol to know a real server answers (a
PostgreSQL ``SSLRequest``, a Redis ``PING``, the NATS ``INFO`` greeting) within one second, with no
driver imported: a missing driver and a missing server are told apart and named separately.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

PROBE_TIMEOUT = 1.0
"""Seconds a probe waits for a service to answer before calling it missing."""


@dataclass(frozen=True, slots=True)
class Service:
    """One real service the tests may need.

    Attributes:
        key: Short name used by fixtures and messages (``"postgres"``).
        title: Human name (``"PostgreSQL"``).
        env_var: Environment variable that overrides the URL.
        default_url: URL used when the variable is unset.
        start_command: The one command that starts the service on this kind of machine.
        driver: Python module the tests need to talk to it.
        extra: The atomiton extra that installs that driver.
    """

    key: str
    title: str
    env_var: str
    default_url: str
    start_command: str
    driver: str
    extra: str

    @property
    def url(self) -> str:
        """The URL to use: the environment variable's value, or the default."""
        return os.environ.get(self.env_var) or self.default_url


SERVICES: dict[str, Service] = {
    "postgres": Service(
        key="postgres",
        title="PostgreSQL",
        env_var="ATOMITON_TEST_POSTGRES_URL",
        default_url="postgresql://postgres@127.0.0.1:5432/test",
        start_command=("pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"),
        driver="psycopg",
        extra="atomiton-storage[postgres]",
    ),
    "redis": Service(
        key="redis",
        title="Redis",
        env_var="ATOMITON_TEST_REDIS_URL",
        default_url="redis://127.0.0.1:6379/0",
        start_command=(
            'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
            "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
        ),
        driver="redis",
        extra="atomiton-storage[redis]",
    ),
    "nats": Service(
        key="nats",
        title="NATS JetStream",
        env_var="ATOMITON_TEST_NATS_URL",
        default_url="nats://127.0.0.1:4222",
        start_command=(
            "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- "
            "-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"
        ),
        driver="nats",
        extra="atomiton-events[nats]",
    ),
}

DEFAULT_PORTS = {"postgres": 5432, "postgresql": 5432, "redis": 6379, "rediss": 6379, "nats": 4222}


def redact(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``, safe for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def is_strict() -> bool:
    """True when a missing service must fail the test run instead of skipping (CI)."""
    ci = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
    return ci or os.environ.get("ATOMITON_REQUIRE_SERVICES", "").strip() == "1"


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    return host, parts.port or DEFAULT_PORTS.get(parts.scheme, 0)


def _connect(url: str, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres") and not parts.hostname:
        # postgresql:///db means the local socket, as libpq reads it.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(f"/var/run/postgresql/.s.PGSQL.{parts.port or 5432}")
        return sock
    return socket.create_connection(_address(url), timeout=timeout)


def _read_some(sock: socket.socket) -> bytes:
    data = sock.recv(512)
    if not data:
        raise ConnectionError("closed without answering")
    return data


def probe(service: Service, url: str | None = None, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Check that ``service`` answers at ``url`` within ``timeout`` seconds.

    Args:
        service: Which service to probe.
        url: Where; defaults to ``service.url``.
        timeout: Seconds to wait, for the connect and for the answer each.

    Returns:
        None when a real server answered, else a short reason (no password in it).
    """
    url = url or service.url
    try:
        with _connect(url, timeout) as sock:
            sock.settimeout(timeout)
            if service.key == "postgres":
                sock.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest
                answer = _read_some(sock)[:1]
                ok = answer in {b"S", b"N"}
            elif service.key == "redis":
                sock.sendall(b"PING\r\n")
                answer = _read_some(sock)
                ok = answer.startswith((b"+PONG", b"-NOAUTH", b"-WRONGPASS"))
            else:
                answer = _read_some(sock)
                ok = answer.startswith(b"INFO ")
                if ok and b'"jetstream":true' not in answer.replace(b" ", b""):
                    return "NATS answers but without JetStream (start nats-server with -js)"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if ok else f"something else answers there ({answer[:20]!r})"


def missing_reason(service: Service, url: str | None = None) -> str | None:
    """Why ``service`` cannot be used by the tests, or None when it can.

    The reason names the service, the URL (password redacted), the environment variable that
    moves it and the command that starts it, or the extra that installs its driver.
    """
    url = url or service.url
    problem = probe(service, url)
    if problem is not None:
        return (
            f"{service.title} is not reachable at {redact(url)} ({problem}); start it with "
            f"`{service.start_command}` or point {service.env_var} at a running server"
        )
    try:
        __import__(service.driver)
    except ImportError:
        return (
            f"{service.title} runs at {redact(url)} but its driver `{service.driver}` is not "
            f"installed: install {service.extra} (or `uv sync` for the dev group)"
        )
    return None


CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_missing_reason() -> tuple[str | None, str | None]:
    """Find Debian's Chromium and Playwright: ``(path, None)``, or ``(None, reason)``."""
    chosen = os.environ.get("ATOMITON_TEST_CHROMIUM")
    if chosen:
        if not os.access(chosen, os.X_OK):
            return None, f"ATOMITON_TEST_CHROMIUM={chosen} is not an executable Chromium"
        path: str | None = chosen
    else:
        path = next((p for p in CHROMIUM_PATHS if os.path.exists(p)), None) or shutil.which(
            "chromium"
        )
    if path is None:
        return None, (
            "Chromium is not installed: `apt-get install chromium` (Debian) or point "
            "ATOMITON_TEST_CHROMIUM at a Chromium binary"
        )
    try:
        __import__("playwright.sync_api")
    except ImportError:
        return None, "playwright is not installed: `uv sync` installs it with the dev group"
    return path, None
