"""A small synchronous NATS connection that publishes one event from the emitting thread.

The outbox's idle fast path on NATS. Handing the event to nats-py's loop costs a thread wake-up
and a loop turn before the bytes reach the socket, while the emitting thread competes with the
loop for the GIL. Here the emitting thread writes the ``HPUB`` (subject, a reply inbox, the
``Nats-Msg-Id`` header, the body) itself, with a non-blocking ``send`` on a plain socket of its
own, and the bridge's sender thread reads the JetStream ack (the reply) from that socket.

Only the simplest case takes this path: a ``nats://`` URL without user, password or token, to a
server whose ``INFO`` asks for neither TLS nor auth.
Anything else (and anything that goes wrong: a send the socket cannot take whole, no ack within
the timeout, a closed or refused connection, ``-ERR``) makes the transport publish that event
through nats-py instead, with all its guarantees; the direct connection is then closed and
opened again by the sender thread at most once per ``_RETRY_EVERY`` seconds. Retrying may store
an event twice; JetStream drops the copy by its ``Nats-Msg-Id``, receivers dedupe by id.

Between publishes nothing reads this socket; the server's keep-alive ``PING`` is answered at the
next ack read. A connection idle for minutes may thus be dropped by the server as stale; the
next event then goes through nats-py and the connection is opened again.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import select
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from atomiton.events._envelope import encode_body
from atomiton.events._subjects import encode_subject
from atomiton.events._transport import WireEvent

__all__ = ["DirectPublisher", "direct_address"]

_RETRY_EVERY = 1.0
_MAX_DIRECT = 64 * 1024
"""Larger messages go through nats-py: a non-blocking send might not take them whole."""


class DirectFailed(Exception):
    """The direct path could not publish; the caller publishes through nats-py."""


class NoStream(DirectFailed):
    """No stream captures the subject (JetStream's 503 no-responders status)."""


class Refused(Exception):
    """JetStream answered the publish with an error (not retried on this path)."""


def direct_address(url: str) -> tuple[str, int] | None:
    """The ``(host, port)`` the direct path may use for the driver ``url``, or None."""
    first = url.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"nats://{first}")
    if parts.scheme != "nats" or parts.username or parts.password or not parts.hostname:
        return None
    return parts.hostname, parts.port or 4222


class DirectPublisher:
    """One plain-socket NATS connection for single-event publishes (see the module docstring).

    Args:
        address: The server's host and port (from ``direct_address``).
        timeout: Seconds to connect and to wait for an ack.
    """

    def __init__(self, address: tuple[str, int], timeout: float) -> None:
        self._address = address
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._inbox = f"_INBOX.{secrets.token_hex(11)}."
        self._count = 0
        self._last_attempt = 0.0
        self._is_closed = False
        self._deadline = 0.0
        self._max_size = _MAX_DIRECT

    def connect(self) -> bool:
        """Open the connection now (blocking, bounded by the timeout); whether it is usable."""
        self._last_attempt = time.monotonic()
        self._drop()
        wait = min(self._timeout, 2.0)
        try:
            sock = socket.create_connection(self._address, timeout=wait)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            return False
        self._sock = sock
        self._deadline = time.monotonic() + wait
        try:
            line = self._line()
            if not line.startswith(b"INFO "):
                raise DirectFailed(f"unexpected greeting {line[:40]!r}")
            info = json.loads(line[5:])
            if info.get("tls_required") or info.get("auth_required") or not info.get("headers"):
                raise DirectFailed("the server wants TLS or auth, or has no headers")
            self._max_size = min(_MAX_DIRECT, int(info.get("max_payload", _MAX_DIRECT)))
            options: dict[str, Any] = {"verbose": False, "pedantic": False, "headers": True}
            options |= {"no_responders": True, "protocol": 1, "name": "atomiton-direct"}
            hello = f"CONNECT {json.dumps(options)}\r\nSUB {self._inbox}* 1\r\nPING\r\n"
            if sock.send(hello.encode()) != len(hello):
                raise DirectFailed("the connection did not take the CONNECT whole")
            while (line := self._line()) != b"PONG":
                if line.startswith(b"-ERR"):
                    raise DirectFailed(line.decode(errors="replace"))
        except (OSError, ValueError, DirectFailed):
            self._drop()
            return False
        return True

    def reconnect_if_due(self) -> None:
        """From the sender thread: reopen a dropped connection, at most once per second."""
        if (
            self._sock is None
            and not self._is_closed
            and time.monotonic() - self._last_attempt >= _RETRY_EVERY
        ):
            self.connect()

    def start(self, event: WireEvent, root: str) -> str | None:
        """Emitting thread: send ``event`` without waiting; its reply token, or None if not sent.

        None when there is no connection, the message is over 64 KiB (or the server's
        ``max_payload``), or the socket cannot take the whole command now.
        """
        sock = self._sock
        if sock is None or "\r" in event.id or "\n" in event.id:
            return None
        header = f"NATS/1.0\r\nNats-Msg-Id: {event.id}\r\n\r\n".encode()
        body = encode_body(event)
        if len(header) + len(body) > self._max_size:
            return None
        self._count += 1
        token = str(self._count)
        command = b"".join(
            (
                f"HPUB {encode_subject(root, event.type)} {self._inbox}{token} "
                f"{len(header)} {len(header) + len(body)}\r\n".encode(),
                header,
                body,
                b"\r\n",
            )
        )
        try:
            sent = sock.send(command)
        except BlockingIOError:
            return None  # nothing was written: the nats-py path takes this one
        except OSError:
            self._drop()
            return None
        if sent != len(command):  # a torn command: only closing discards it
            self._drop()
            return None
        return token

    def finish(self, token: str) -> None:
        """Sender thread: read until the ack for ``token`` (answering PINGs).

        Raises:
            NoStream: No stream captures the subject.
            Refused: JetStream answered with an error.
            DirectFailed: No ack (timeout, connection lost, ``-ERR``); the connection is closed.
        """
        self._deadline = time.monotonic() + self._timeout
        try:
            while True:
                found = self._read_message()
                if found is None:
                    continue
                subject, headers, payload = found
                if subject != f"{self._inbox}{token}":
                    continue  # the late ack of an abandoned publish
                if headers is not None and headers[9:12] == b"503":
                    raise NoStream("no stream captures the subject")
                reply: dict[str, Any] = json.loads(payload)
                if "error" in reply:
                    raise Refused(str(reply["error"]))
                return
        except (NoStream, Refused):
            raise
        except (OSError, ValueError, DirectFailed) as error:
            self._drop()
            raise DirectFailed(repr(error)) from error

    def _read_message(self) -> tuple[str, bytes | None, bytes] | None:
        line = self._line()
        if line == b"PING":
            sock = self._sock
            if sock is None or sock.send(b"PONG\r\n") != 6:
                raise DirectFailed("cannot answer the server's PING")
            return None
        if line.startswith(b"-ERR"):
            raise DirectFailed(line.decode(errors="replace"))
        if line.startswith((b"MSG ", b"HMSG ")):
            fields = line.split()
            size = int(fields[-1])
            data = self._exactly(size + 2)[:size]
            if fields[0] == b"HMSG":
                header_size = int(fields[-2])
                return fields[1].decode(), data[:header_size], data[header_size:]
            return fields[1].decode(), None, data
        return None  # +OK, PONG, INFO

    def _line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _fill(self) -> None:
        sock = self._sock
        if sock is None:
            raise DirectFailed("the connection is closed")
        remaining = self._deadline - time.monotonic()
        if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
            raise DirectFailed(f"no answer within {self._timeout:g} s")
        chunk = sock.recv(65536)
        if not chunk:
            raise DirectFailed("the server closed the connection")
        self._buffer += chunk

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        self._buffer.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        """Close the connection for good (idempotent)."""
        self._is_closed = True
        self._drop()
