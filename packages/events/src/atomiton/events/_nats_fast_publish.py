"""The NATS transport's one-loop-turn publish of a single event (the outbox's idle fast path).

``js.publish_async`` called through ``run_coroutine_threadsafe`` needs three turns of the
driver's loop before the bytes reach the socket (the coroutine, its awaits, then the flusher
task), while the emitting thread competes with it for the GIL. Here the emitting thread builds
the whole ``HPUB`` command itself (subject, the JetStream reply inbox, the ``Nats-Msg-Id``
header, the body) and hands the loop one plain callback (``call_soon_threadsafe``), which
registers the ack's future exactly where nats-py's own ``publish_async`` does (so nats-py's
reply subscription resolves it) and writes the command to the socket at once when nothing else
is queued on the connection (else it appends it behind what is queued and wakes the flusher,
so commands keep their order).

Everything else stays nats-py's: connection, reconnect, the reply subscription, acks and their
errors. When the connection is not usable right now (disconnected, draining, closed) or the
event does not fit this path (a body over the server's limit, an id that is not a plain header
value), ``start`` returns None and the sender thread publishes through ``js.publish_async``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
from typing import TYPE_CHECKING, Any

from atomiton.events._envelope import encode_body
from atomiton.events._subjects import encode_subject
from atomiton.events._transport import WireEvent

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js.client import JetStreamContext

__all__ = ["FastPublisher", "init_replies"]

_BAD_HEADER_VALUE = frozenset("\r\n")


async def init_replies(js: JetStreamContext) -> None:
    """Subscribe the JetStream context's ack inbox now (nats-py does it on the first publish)."""
    if not js._async_reply_prefix:
        await js._init_async_reply()


class FastPublisher:
    """Starts the publish of one event with a single callback on the driver's loop.

    Args:
        nc: The connected client (its loop is ``loop``).
        js: Its JetStream context, with ``init_replies`` done.
        loop: The loop running ``nc``.
        timeout: Seconds to wait for an ack; then the future fails with ``TimeoutError`` (so
            the sender thread, which sleeps until the future is done, always wakes).
    """

    def __init__(
        self, nc: Client, js: JetStreamContext, loop: asyncio.AbstractEventLoop, timeout: float
    ) -> None:
        self._nc = nc
        self._js = js
        self._loop = loop
        self._timeout = timeout
        prefix = js._async_reply_prefix
        assert prefix is not None, "init_replies must run first"
        self._reply_prefix = bytes(prefix).decode()
        self._tokens = itertools.count(1)

    def start(
        self, event: WireEvent, root: str
    ) -> tuple[concurrent.futures.Future[Any], str] | None:
        """Hand ``event`` (to go under subject ``root``) to the loop now, never waiting.

        Returns:
            The future that gets the ack (or the error), and the token to ``forget`` it by;
            None when this path cannot take the event now (see the module docstring).
        """
        nc = self._nc
        if not nc.is_connected or nc.is_draining_pubs or nc.is_closed:
            return None
        if any(char in _BAD_HEADER_VALUE for char in event.id) or not event.id.isascii():
            return None
        body = encode_body(event)
        if len(body) > nc._max_payload:
            return None
        # A token unique in this connection's inbox; nats-py's reply handler finds it by name.
        token = f"a{next(self._tokens)}"
        header = f"NATS/1.0\r\nNats-Msg-Id: {event.id.strip()}\r\n\r\n".encode()
        subject = encode_subject(root, event.type)
        command = b"".join(
            (
                f"HPUB {subject} {self._reply_prefix}{token} "
                f"{len(header)} {len(header) + len(body)}\r\n".encode(),
                header,
                body,
                b"\r\n",
            )
        )
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._send, command, token, result)
        return result, token

    def forget(self, token: str) -> None:
        """Stop waiting for the ack of a started publish (any thread; its future is dropped)."""
        futures = self._js._publish_async_futures

        def drop() -> None:
            ack = futures.pop(token, None)
            if ack is not None:
                ack.cancel()

        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to drop
            self._loop.call_soon_threadsafe(drop)

    def _send(self, command: bytes, token: str, result: concurrent.futures.Future[Any]) -> None:
        """On the loop: register the ack's future, then write (or queue) the command."""
        if not result.set_running_or_notify_cancel():
            return
        nc = self._nc
        js = self._js
        try:
            if not nc.is_connected or nc.is_draining_pubs or nc.is_closed:
                from nats.errors import ConnectionClosedError

                raise ConnectionClosedError
            ack: asyncio.Future[Any] = self._loop.create_future()
            futures = js._publish_async_futures
            futures[token] = ack

            expiry = self._loop.call_later(self._timeout, ack.cancel)

            def settle(done: asyncio.Future[Any]) -> None:
                expiry.cancel()
                futures.pop(token, None)
                if done.cancelled():
                    result.set_exception(TimeoutError(f"no ack within {self._timeout:g} s"))
                elif (error := done.exception()) is not None:
                    result.set_exception(error)
                else:
                    result.set_result(done.result())

            ack.add_done_callback(settle)
            transport = nc._transport
            if not nc._pending and transport is not None:
                transport.write(command)  # asyncio sends it now if the socket buffer is empty
            else:
                nc._pending.append(command)
                nc._pending_data_size += len(command)
                flush_queue = nc._flush_queue
                if flush_queue is not None and flush_queue.empty():
                    flush_queue.put_nowait(self._loop.create_future())
        except Exception as error:  # not sent: the sender thread retries through nats-py
            if not result.done():
                result.set_exception(error)
