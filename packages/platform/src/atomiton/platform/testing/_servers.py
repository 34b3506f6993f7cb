"""Private Redis and NATS servers a test starts on a free port, SIGKILLs and restarts.

The shared services are for ordinary tests; a test that proves recovery from a server crash needs
a server of its own, so that killing it harms no other test. Each server keeps its files in the
test's own folder, so a NATS JetStream restart finds the streams it had.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Self

from atomiton.platform.testing._services import SERVICES, probe

START_TIMEOUT = 15.0
"""Seconds a private server may take to answer after it is started."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateServer(ABC):
    """A server process owned by one test: ``start()``, ``kill()`` (SIGKILL), ``stop()``.

    Attributes:
        port: The TCP port, kept across restarts so clients can reconnect to the same URL.
        url: The URL clients connect to.
        folder: Where the server keeps its files (data, log).
    """

    _service_key = ""
    _binary = ""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def _command(self, binary: str) -> list[str]:
        """The command line that starts this kind of server on ``self.port``."""

    @property
    def pid(self) -> int | None:
        """The running server's process id, or None when it is not running."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> Self:
        """Start (or restart) the server on its port and wait until it answers.

        Raises:
            RuntimeError: The binary is missing, or the server did not answer within
                ``START_TIMEOUT`` seconds (its log is quoted).
        """
        if self.pid is not None:
            return self
        binary = shutil.which(self._binary) or (
            f"/usr/sbin/{self._binary}" if os.path.exists(f"/usr/sbin/{self._binary}") else None
        )
        if binary is None:
            raise RuntimeError(f"{self._binary} is not installed (apt-get install {self._binary})")
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 - the child keeps it
        with log:
            self._process = subprocess.Popen(
                self._command(binary),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        service = SERVICES[self._service_key]
        while probe(service, self.url, timeout=0.5) is not None:
            if self._process.poll() is not None or time.monotonic() > deadline:
                tail = (self.folder / "server.log").read_text(errors="replace")[-2000:]
                self.kill()
                raise RuntimeError(f"{self._binary} on port {self.port} did not start:\n{tail}")
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        """SIGKILL the server, as a crash would, and reap it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), SIGKILL after 10 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    def restart(self) -> Self:
        """SIGKILL the server and start it again on the same port."""
        self.kill()
        return self.start()


class RedisServer(PrivateServer):
    """A private ``redis-server`` on 127.0.0.1; nothing kept on disk unless ``appendonly``."""

    _service_key = "redis"
    _binary = "redis-server"

    def __init__(self, folder: Path, port: int | None = None, *, appendonly: bool = False) -> None:
        super().__init__(folder, port)
        self.appendonly = appendonly
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _command(self, binary: str) -> list[str]:
        return [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--dir", str(self.folder),
            "--daemonize", "no",
        ]  # fmt: skip


class NatsServer(PrivateServer):
    """A private ``nats-server -js`` on 127.0.0.1 whose JetStream store survives restarts."""

    _service_key = "nats"
    _binary = "nats-server"

    def __init__(self, folder: Path, port: int | None = None) -> None:
        super().__init__(folder, port)
        self.url = f"nats://127.0.0.1:{self.port}"

    def _command(self, binary: str) -> list[str]:
        return [
            binary,
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.folder / "js"),
        ]
