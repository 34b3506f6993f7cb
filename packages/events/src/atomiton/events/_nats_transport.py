"""The NATS JetStream transport (``nats://``, extra ``atomiton-events[nats]``).

One JetStream stream per bridge ``stream`` name, capturing the subjects ``atomiton.<stream>.>``;
an event of type ``order.created`` is stored under ``atomiton.<stream>.order.created``, each type
segment encoded by ``_subjects`` (so ``>``, spaces, ``%`` and non-ASCII travel intact). The
message body is ``_envelope``'s (a JSON line of the other fields, then the data as is). ``seq``
is the JetStream stream sequence.

nats-py is asyncio-only, so the transport owns an event-loop thread (all driver calls run there)
and a delivery thread (``deliver`` runs there, fed by a bounded queue; see ``_driver_threads``).

- **publish**: every event of the batch is published with the ``Nats-Msg-Id`` header set to the
  event id (the server drops a retried copy within its duplicate window), then all acks are
  awaited together, bounded by ``timeout``.
- **consume**: an ordered push consumer (ephemeral, flow control, idle heartbeats) starting at a
  stream sequence. The loop remembers the last delivered sequence; after a reconnect, a slow
  consumer drop, or a stream that came back, it starts a new ordered consumer right after that
  sequence and drops anything at or below it, so nothing is skipped or delivered twice.
- **history**: a short-lived consumer on a private inbox reads the matching events that exist at
  the call (its ``num_pending``) and is deleted.

URL options (query): ``storage=file|memory`` (default file: the stream survives a server restart;
memory streams are lost with it), ``maxlen`` (default 1,000,000 events kept, oldest discarded),
``max_age`` (seconds, default unlimited), ``timeout`` (seconds per server call, default 5). They
apply when the transport creates the stream; an existing stream is used as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from atomiton.events._driver_threads import DeliveryThread, LoopThread
from atomiton.events._envelope import decode_body, encode_body
from atomiton.events._errors import BusConfigError, TransportError
from atomiton.events._patterns import matches
from atomiton.events._server_url import (
    missing_extra,
    parse_server_url,
    positive_float,
    positive_int,
    redact,
)
from atomiton.events._subjects import encode_subject, subject_filters
from atomiton.events._transport import Deliver, ReplayFrom, WireEvent

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js.client import JetStreamContext

__all__ = ["DELIVERY_QUEUE", "SUBJECT_ROOT", "NatsTransport", "create"]

_log = logging.getLogger("atomiton.events")

SUBJECT_ROOT = "atomiton"
"""Subjects of stream ``s`` are ``atomiton.s.<encoded type>``."""

DELIVERY_QUEUE = 1000
"""Events read from the server but not yet delivered; beyond it the consumer waits."""

_BACKOFF_CAP = 1.0
_TIME_SKEW = 5.0  # seconds: seek by server time this much earlier, then drop by emit time

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
        self._url, options = parse_server_url(url, _OPTIONS)
        self._server = redact(url)
        self._stream = stream
        self._root = f"{SUBJECT_ROOT}.{stream}"
        self._storage: str = options.get("storage", "file")
        self._maxlen: int = options.get("maxlen", 1_000_000)
        self._max_age: float | None = options.get("max_age")
        self._timeout: float = options.get("timeout", 5.0)
        self._on_error = on_error
        self._is_closed = False
        # Consumer state, only touched on the loop thread.
        self._deliverer: DeliveryThread[WireEvent] | None = None
        self._filter = f"{self._root}.>"
        self._subscription: Any = None
        self._last_seq = 0
        self._drop_before_time: float | None = None
        self._resuming: asyncio.Task[None] | None = None
        self._wants_resume = False
        self._loop_thread = LoopThread(f"atomiton-nats-{stream}")
        try:
            self._nc, self._js = self._call(self._connect(), self._timeout + 1, "connect")
        except BaseException:
            self._loop_thread.stop(1.0)
            raise

    @property
    def is_closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._is_closed

    # -- connecting -------------------------------------------------------------------------

    def _call(self, coroutine: Any, timeout: float, action: str) -> Any:
        if self._is_closed:
            coroutine.close()
            raise TransportError(f"{self._server}: the transport is closed, cannot {action}")
        try:
            return self._loop_thread.run(coroutine, timeout)
        except (TransportError, BusConfigError):
            raise
        except TimeoutError:
            raise TransportError(
                f"{self._server}: {action} timed out after {timeout:g} s"
            ) from None
        except Exception as error:
            raise TransportError(f"{self._server}: {action} failed: {error!r}") from error

    async def _connect(self) -> tuple[Client, JetStreamContext]:
        import nats

        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    self._url,
                    connect_timeout=self._timeout,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.25,
                    error_cb=self._on_driver_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                ),
                self._timeout,
            )
        except (TimeoutError, OSError) as error:
            raise TransportError(
                f"{self._server}: cannot connect within {self._timeout:g} s ({error!r}); "
                "is nats-server running with JetStream (-js)?"
            ) from None
        js = nc.jetstream(timeout=self._timeout)
        try:
            await self._ensure_stream(js)
        except BaseException:
            await nc.close()
            raise
        return nc, js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        from nats.js.api import DiscardPolicy, StorageType, StreamConfig
        from nats.js.errors import BadRequestError, NotFoundError

        subjects = f"{self._root}.>"
        with contextlib.suppress(NotFoundError):
            info = await js.stream_info(self._stream)
            if subjects not in (info.config.subjects or []):
                raise BusConfigError(
                    f"{self._server}: JetStream stream {self._stream!r} exists but does not "
                    f"capture {subjects!r}; it belongs to something else, pick another stream="
                )
            return
        config = StreamConfig(
            name=self._stream,
            subjects=[subjects],
            storage=StorageType.FILE if self._storage == "file" else StorageType.MEMORY,
            max_msgs=self._maxlen,
            max_age=self._max_age,
            discard=DiscardPolicy.OLD,
            duplicate_window=120.0,
        )
        try:
            await js.add_stream(config)
        except BadRequestError:  # another process created it meanwhile
            await js.stream_info(self._stream)

    def _report(self, message: str) -> None:
        if not self._is_closed:
            self._on_error(TransportError(f"{self._server}: {message}"))

    async def _on_driver_error(self, error: Exception) -> None:
        from nats.errors import SlowConsumerError

        if isinstance(error, SlowConsumerError):
            subscription = self._subscription
            if subscription is not None and error.sid == subscription._id:
                self._report("the consumer fell behind; re-reading after the last delivered seq")
                self._schedule_resume()
            return
        self._report(f"connection problem ({error!r}); reconnecting in 0.25 s")

    async def _on_disconnected(self) -> None:
        self._report("disconnected; reconnecting by itself, then resuming after the last seq")

    async def _on_reconnected(self) -> None:
        self._schedule_resume()

    # -- publishing -------------------------------------------------------------------------

    def publish(self, events: Sequence[WireEvent]) -> None:
        """Store ``events`` in order; return once JetStream acknowledged every one of them.

        Raises:
            TransportError: Not connected, no ack within ``timeout``, or the server refused.
        """
        self._call(self._publish(events), self._timeout + 1, f"publish {len(events)} event(s)")

    async def _publish(self, events: Sequence[WireEvent]) -> None:
        from nats.js.errors import NoStreamResponseError

        try:
            await self._publish_once(events)
        except NoStreamResponseError:
            # A memory stream is gone after a server restart: create it again, then retry once.
            await self._ensure_stream(self._js)
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
        filters = {found for pattern in patterns for found in subject_filters(self._root, pattern)}
        # One consumer keeps one order; nats-server < 2.10 takes a single filter subject.
        self._filter = filters.pop() if len(filters) == 1 else f"{self._root}.>"
        start_seq: int | None = None
        if replay_from is not None and replay_from.last is not None:
            if replay_from.last > 0:
                newest = self.history(patterns, limit=replay_from.last)
                start_seq = newest[0].seq if newest else None
        elif replay_from is not None and replay_from.seq is not None:
            start_seq = max(replay_from.seq, 1)
        self._call(
            self._start(deliver, start_seq, None if replay_from is None else replay_from.time),
            self._timeout * 2 + 1,
            "subscribe",
        )

    async def _start(self, deliver: Deliver, start_seq: int | None, since: float | None) -> None:
        self._deliverer = DeliveryThread(
            deliver,
            asyncio.get_running_loop(),
            maxsize=DELIVERY_QUEUE,
            name=f"atomiton-nats-deliver-{self._stream}",
        )
        if since is not None:
            self._drop_before_time = since
            self._subscription = await self._subscribe(None, since)
            return
        if start_seq is None:
            info = await self._js.stream_info(self._stream)
            start_seq = info.state.last_seq + 1
        self._last_seq = start_seq - 1
        self._subscription = await self._subscribe(start_seq, None)

    async def _subscribe(self, start_seq: int | None, since: float | None) -> Any:
        from nats.js.api import ConsumerConfig, DeliverPolicy

        if since is not None:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=_utc(since - _TIME_SKEW),
            )
        else:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start_seq
            )
        return await self._js.subscribe(
            self._filter,
            stream=self._stream,
            cb=self._on_message,
            ordered_consumer=True,
            idle_heartbeat=1.0,
            config=config,
            pending_msgs_limit=DELIVERY_QUEUE * 8,
        )

    async def _on_message(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if seq <= self._last_seq:
            return  # already delivered before a consumer restart
        self._last_seq = seq
        try:
            event = decode_body(msg.data, seq)
        except (ValueError, TypeError) as error:  # not written by a bridge: skip, say so
            self._report(
                f"message seq {seq} on {msg.subject!r} is not an event ({error!r}); skipped"
            )
            return
        floor = self._drop_before_time
        if floor is not None:
            if event.timestamp < floor:
                return
            self._drop_before_time = None
        deliverer = self._deliverer
        if deliverer is not None:
            await deliverer.put(event)

    def _schedule_resume(self) -> None:
        if self._deliverer is None or self._is_closed:
            return
        if self._resuming is not None and not self._resuming.done():
            self._wants_resume = True
            return
        self._resuming = asyncio.get_running_loop().create_task(self._resume())

    async def _resume(self) -> None:
        from nats.js.errors import NotFoundError

        delay = 0.05
        self._wants_resume = True
        while self._wants_resume and not self._is_closed:
            self._wants_resume = False
            old, self._subscription = self._subscription, None
            if old is not None:
                with contextlib.suppress(Exception):
                    await old.unsubscribe()
            try:
                try:
                    info = await self._js.stream_info(self._stream)
                except NotFoundError:  # a memory stream died with its server: make it again
                    await self._ensure_stream(self._js)
                    info = await self._js.stream_info(self._stream)
                if info.state.last_seq < self._last_seq:
                    self._report(
                        f"stream {self._stream!r} restarted empty (memory storage?): events "
                        f"after seq {self._last_seq} were lost; continuing from its start"
                    )
                    self._last_seq = 0
                start = self._last_seq + 1
                since = self._drop_before_time if self._last_seq == 0 else None
                self._subscription = await self._subscribe(
                    None if since is not None else start, since
                )
                delay = 0.05
            except Exception as error:
                if self.is_closed:
                    return
                self._report(f"resuming the consumer failed ({error!r}); retrying in {delay:g} s")
                self._wants_resume = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_CAP)

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
            config.opt_start_time = _utc(since_time - _TIME_SKEW)
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
        """Stop delivering and close the connection and threads; idempotent, never raises."""
        if self._is_closed:
            return
        self._is_closed = True
        deliverer = self._deliverer
        if deliverer is not None:
            deliverer.close(self._timeout)
        if not self._loop_thread.in_loop():
            try:
                self._loop_thread.run(self._shutdown(), self._timeout)
            except Exception as error:  # closing must not raise; a stuck server is only logged
                _log.debug("closing %s: %r", self._server, error)
        self._loop_thread.stop(self._timeout)

    async def _shutdown(self) -> None:
        resuming = self._resuming
        if resuming is not None:
            resuming.cancel()
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        with contextlib.suppress(Exception):
            await self._nc.close()

    def __repr__(self) -> str:
        return f"<NatsTransport {self._server} stream={self._stream!r}>"


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(max(seconds, 0.0), tz=datetime.UTC)
