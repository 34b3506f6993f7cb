"""The NATS JetStream transport (``nats://``, extra ``atomiton-events[nats]``).

One JetStream stream per bridge ``stream`` name, capturing the subjects ``atomiton.<stream>.>``;
an event of type ``order.created`` is stored under ``atomiton.<stream>.order.created``, each type
segment encoded by ``_subjects`` (so ``>``, spaces, ``%`` and non-ASCII travel intact). The
message body is ``_envelope``'s (a JSON line of the other fields, then the data as is). ``seq``
is the JetStream stream sequence.

nats-py is asyncio-only, so the transport owns event-loop threads: one here, for publishing,
``history`` and creating the stream (callers block on it with a timeout), and one in the consumer
(``_nats_consumer``), which also runs ``deliver``, each with its own connection.

- **begin_publish** (the outbox's idle fast path): the emitting thread writes the event's
  ``HPUB`` itself on a small direct connection of its own and the sender thread reads the ack
  there (``_nats_direct``, plain ``nats://`` URLs without credentials to servers without TLS or
  auth); otherwise, or while that connection is down, it hands nats-py's loop one callback that
  writes the command (``_nats_fast_publish``: one loop turn instead of the three of
  ``js.publish_async``). Anything that fails on the direct connection is published again
  through nats-py (stored once: JetStream drops the copy by its ``Nats-Msg-Id``).
- **publish**: every event of the batch is published with the ``Nats-Msg-Id`` header set to the
  event id (the server drops a retried copy within its duplicate window), then all acks are
  awaited together, bounded by ``timeout``.
- **history**: a short-lived consumer on a private inbox reads the matching events that exist at
  the call (its ``num_pending``) and is deleted.

URL options (query): ``storage=file|memory`` (default file: the stream survives a server restart;
memory streams are lost with it), ``maxlen`` (default 1,000,000 events kept, oldest discarded),
``max_age`` (seconds, default unlimited), ``timeout`` (seconds per server call, default 5). They
apply when the transport creates the stream; an existing stream is used as it is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from atomiton.events._envelope import decode_body, encode_body
from atomiton.events._errors import BusConfigError, TransportError
from atomiton.events._loop_thread import LoopThread
from atomiton.events._nats_connection import (
    RECONNECT_WAIT,
    SUBJECT_ROOT,
    TIME_SKEW,
    StreamSettings,
    connect,
    utc,
)
from atomiton.events._nats_consumer import NatsConsumer
from atomiton.events._nats_direct import (
    DirectFailed,
    DirectPublisher,
    Refused,
    direct_address,
)
from atomiton.events._nats_fast_publish import FastPublisher, init_replies
from atomiton.events._outage import OutageReports
from atomiton.events._patterns import matches
from atomiton.events._server_url import (
    missing_extra,
    parse_server_url,
    positive_float,
    positive_int,
    redact,
)
from atomiton.events._subjects import encode_subject, subject_filters
from atomiton.events._transport import Deliver, Finish, ReplayFrom, WireEvent

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js.client import JetStreamContext

__all__ = ["SUBJECT_ROOT", "NatsTransport", "create"]

_log = logging.getLogger("atomiton.events")

_OPTIONS: dict[str, Callable[[str], Any]] = {
    "storage": lambda text: _choice(text, ("file", "memory")),
    "maxlen": positive_int,
    "max_age": positive_float,
    "timeout": positive_float,
}


def _choice(text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return text


def create(url: str, *, stream: str, on_error: Callable[[Exception], None]) -> NatsTransport:
    """The ``nats`` entry point: a transport on ``url``'s server for ``stream`` (connects now).

    Raises:
        BusConfigError: nats-py is missing (install ``atomiton-events[nats]``), or a bad option.
        TransportError: The server cannot be reached within ``timeout``.
    """
    try:
        import nats  # noqa: F401
    except ImportError:
        raise missing_extra("nats", "nats-py", "nats") from None
    return NatsTransport(url, stream=stream, on_error=on_error)


class NatsTransport:
    """A bridge transport over one JetStream stream (see the module docstring)."""

    def __init__(self, url: str, *, stream: str, on_error: Callable[[Exception], None]) -> None:
        driver_url, options = parse_server_url(url, _OPTIONS)
        self._settings = StreamSettings(
            url=driver_url,
            server=redact(url),
            name=stream,
            storage=options.get("storage", "file"),
            maxlen=options.get("maxlen", 1_000_000),
            max_age=options.get("max_age"),
            timeout=options.get("timeout", 5.0),
        )
        self._server = self._settings.server
        self._stream = stream
        self._root = self._settings.root
        self._timeout = self._settings.timeout
        self._on_error = on_error
        self._is_closed = False
        self._consumer: NatsConsumer | None = None
        self._outage = OutageReports(self._report)
        self._loop_thread = LoopThread(f"atomiton-nats-{stream}")
        try:
            self._nc, self._js = self._call(self._connect(), self._timeout + 1, "connect")
        except BaseException:
            self._loop_thread.stop(1.0)
            raise
        self._fast = FastPublisher(self._nc, self._js, self._loop_thread.loop, self._timeout)
        address = direct_address(driver_url)
        self._direct = None if address is None else DirectPublisher(address, self._timeout)
        if self._direct is not None:
            self._direct.connect()

    @property
    def is_closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._is_closed

    # -- connecting -------------------------------------------------------------------------

    def _call(self, coroutine: Any, timeout: float, action: str) -> Any:
        if self._is_closed:
            coroutine.close()
            raise TransportError(f"{self._server}: the transport is closed, cannot {action}")
        return self._result(self._loop_thread.submit(coroutine), timeout, action)

    def _result(self, future: concurrent.futures.Future[Any], timeout: float, action: str) -> Any:
        try:
            try:
                return future.result(timeout)
            except TimeoutError:
                future.cancel()
                raise
        except (TransportError, BusConfigError):
            raise
        except TimeoutError:
            raise TransportError(
                f"{self._server}: {action} timed out after {timeout:g} s"
            ) from None
        except Exception as error:
            raise TransportError(f"{self._server}: {action} failed: {error!r}") from error

    async def _connect(self) -> tuple[Client, JetStreamContext]:
        nc, js = await connect(
            self._settings,
            on_error=self._on_driver_error,
            on_disconnected=self._on_disconnected,
            on_reconnected=self._on_reconnected,
        )
        try:
            await init_replies(js)
        except BaseException:
            await nc.close()
            raise
        return nc, js

    def _report(self, message: str) -> None:
        if not self._is_closed:
            self._on_error(TransportError(f"{self._server}: {message}"))

    async def _on_driver_error(self, error: Exception) -> None:
        self._outage.failed(
            f"connection problem ({error!r}); reconnecting every {RECONNECT_WAIT} s"
        )

    async def _on_disconnected(self) -> None:
        self._outage.failed("disconnected; publishing fails until it has reconnected by itself")

    async def _on_reconnected(self) -> None:
        self._outage.recovered()  # the consumer resumes on its own connection

    # -- publishing -------------------------------------------------------------------------

    def publish(self, events: Sequence[WireEvent]) -> None:
        """Store ``events`` in order; return once JetStream acknowledged every one of them.

        Raises:
            TransportError: Not connected, no ack within ``timeout``, or the server refused.
        """
        self._call(self._publish(events), self._timeout + 1, f"publish {len(events)} event(s)")
        if self._direct is not None:  # the server answers again: reopen the direct connection
            self._direct.reconnect_if_due()

    def begin_publish(self, events: Sequence[WireEvent], done: Callable[[], None]) -> Finish | None:
        """Start the publish of ``events`` now; return what waits for the acks.

        Never waits (see ``StartsPublish``). A single event goes through ``_nats_fast_publish``
        (one loop turn to the socket); None when closed or that path cannot take it now.
        """
        if self._is_closed or len(events) != 1:
            return None
        direct = self._direct
        if direct is not None:
            token = direct.start(events[0], self._root)
            if token is not None:
                done()  # finish reads the ack itself
                sent = token
                return lambda: self._finish_direct(direct, sent, events)
        started = self._fast.start(events[0], self._root)
        if started is None:
            return None
        future, token = started
        future.add_done_callback(lambda _: done())
        timeout = self._timeout + 1  # the loop fails the future after ``_timeout`` itself

        def finish() -> None:
            from nats.js.errors import NoStreamResponseError

            try:
                future.result(timeout)
            except NoStreamResponseError:
                # A memory stream is gone after a server restart: publish again through the
                # full path, which creates it again and retries once.
                self.publish(events)
            except TimeoutError:
                self._fast.forget(token)
                raise TransportError(
                    f"{self._server}: publish 1 event(s) timed out after {self._timeout:g} s"
                ) from None
            except TransportError:
                raise
            except Exception as error:
                raise TransportError(
                    f"{self._server}: publish 1 event(s) failed: {error!r}"
                ) from error

        return finish

    def _finish_direct(
        self, direct: DirectPublisher, token: str, events: Sequence[WireEvent]
    ) -> None:
        try:
            direct.finish(token)
        except Refused as error:
            raise TransportError(f"{self._server}: publish 1 event(s) failed: {error}") from None
        except DirectFailed:
            # No stream (created again there), or no ack on the direct connection: the same
            # event again through nats-py (JetStream drops a stored copy by its Nats-Msg-Id).
            self.publish(events)

    async def _publish(self, events: Sequence[WireEvent]) -> None:
        from nats.js.errors import NoStreamResponseError

        try:
            await self._publish_once(events)
        except NoStreamResponseError:
            # A memory stream is gone after a server restart: create it again, then retry once.
            await self._settings.ensure(self._js)
            await self._publish_once(events)

    async def _publish_once(self, events: Sequence[WireEvent]) -> None:
        js = self._js
        root = self._root
        pending = []
        for event in events:
            pending.append(
                await js.publish_async(
                    encode_subject(root, event.type),
                    encode_body(event),
                    headers={"Nats-Msg-Id": event.id},
                )
            )
        try:
            await asyncio.wait_for(asyncio.gather(*pending), self._timeout)
        except BaseException:
            for future in pending:
                future.cancel()
            raise

    # -- consuming --------------------------------------------------------------------------

    def start(
        self, deliver: Deliver, *, patterns: Sequence[str], replay_from: ReplayFrom | None
    ) -> None:
        """Deliver stored events matching ``patterns`` from ``replay_from`` on, then live.

        Raises:
            TransportError: The stream cannot be read or subscribed to now.
        """
        if self._is_closed:
            raise TransportError(f"{self._server}: the transport is closed, cannot subscribe")
        filters = {found for pattern in patterns for found in subject_filters(self._root, pattern)}
        # One consumer keeps one order; nats-server < 2.10 takes a single filter subject.
        subject = filters.pop() if len(filters) == 1 else f"{self._root}.>"
        start_seq: int | None = None
        if replay_from is not None and replay_from.last is not None and replay_from.last > 0:
            # The stream's end first: a match stored after the history read is then not missed.
            start_seq = self._call(self._next_seq(), self._timeout + 1, "read the stream")
            newest = self.history(patterns, limit=replay_from.last)
            if newest:
                start_seq = newest[0].seq
        elif replay_from is not None and replay_from.seq is not None:
            start_seq = max(replay_from.seq, 1)
        self._consumer = NatsConsumer(self._settings, deliver, self._report)
        self._consumer.start(subject, start_seq, None if replay_from is None else replay_from.time)

    async def _next_seq(self) -> int:
        info = await self._js.stream_info(self._stream)
        return int(info.state.last_seq) + 1

    # -- reading history --------------------------------------------------------------------

    def history(
        self,
        patterns: Sequence[str],
        *,
        since_seq: int | None = None,
        since_time: float | None = None,
        limit: int | None = None,
    ) -> list[WireEvent]:
        """Stored events matching ``patterns`` exactly, oldest first (see ``Transport``).

        Raises:
            TransportError: The stream cannot be read now.
        """
        filters = {found for pattern in patterns for found in subject_filters(self._root, pattern)}
        subject = filters.pop() if len(filters) == 1 else f"{self._root}.>"
        found: list[WireEvent] = self._call(
            self._read(subject, since_seq, since_time), self._timeout * 4, "read history"
        )
        kept: deque[WireEvent] = deque(maxlen=limit)
        for event in found:
            if any(matches(pattern, event.type) for pattern in patterns):
                kept.append(event)
        return list(kept)

    async def _read(
        self, subject: str, since_seq: int | None, since_time: float | None
    ) -> list[WireEvent]:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            filter_subject=subject,
            mem_storage=True,
            inactive_threshold=max(self._timeout, 5.0),
            deliver_policy=DeliverPolicy.ALL,
        )
        if since_seq is not None:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = max(since_seq, 1)
        elif since_time is not None:
            config.deliver_policy = DeliverPolicy.BY_START_TIME
            config.opt_start_time = utc(since_time - TIME_SKEW)
        inbox = self._nc.new_inbox()
        config.deliver_subject = inbox
        subscription = await self._nc.subscribe(
            inbox, pending_msgs_limit=-1, pending_bytes_limit=-1
        )
        events: list[WireEvent] = []
        try:
            info = await self._js._jsm.add_consumer(self._stream, config=config)
            try:
                for _ in range(info.num_pending):
                    msg = await subscription.next_msg(timeout=self._timeout)
                    seq = msg.metadata.sequence.stream
                    try:
                        events.append(decode_body(msg.data, seq))
                    except (ValueError, TypeError):  # not an event (reported when delivered)
                        continue
            finally:
                with contextlib.suppress(Exception):
                    await self._js.delete_consumer(self._stream, info.name)
        finally:
            await subscription.unsubscribe()
        if since_time is not None:
            first = next((i for i, e in enumerate(events) if e.timestamp >= since_time), None)
            events = [] if first is None else events[first:]
        return events

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop delivering and close both connections and loops; idempotent, never raises."""
        if self._is_closed:
            return
        self._is_closed = True
        if self._direct is not None:
            self._direct.close()
        consumer = self._consumer
        if consumer is not None:
            consumer.close(self._timeout)
        if not self._loop_thread.in_loop():
            try:
                self._loop_thread.run(self._shutdown(), self._timeout)
            except Exception as error:  # closing must not raise; a stuck server is only logged
                _log.debug("closing %s: %r", self._server, error)
        self._loop_thread.stop(self._timeout)

    async def _shutdown(self) -> None:
        with contextlib.suppress(Exception):
            await self._nc.close()

    def __repr__(self) -> str:
        return f"<NatsTransport {self._server} stream={self._stream!r}>"
