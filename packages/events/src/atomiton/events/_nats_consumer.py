"""The NATS transport's consumer: an ordered push consumer on a connection and loop of its own.

Why its own loop: ``deliver`` runs the bridge's (the user's) handlers and may take a while. It is
called right here, in the consumer's message callback, so a delivered event costs no extra thread
hop; a slow handler then stalls only this loop and connection, never publishing or ``history``
(which have the transport's other loop). While it stalls, nats-py reads nothing more from the
socket and the ordered consumer's flow control stops the server from pushing, so nothing piles
up in memory; nats-py's own buffer holds at most ``PENDING_LIMIT`` messages.

Resuming: the loop remembers the last stream ``seq`` it delivered. After a reconnect, a slow
consumer drop, or a stream that came back, it creates a new ordered consumer right after that
``seq`` (retrying with backoff, each failure reported) and drops anything at or below it, so
nothing is skipped and nothing is delivered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atomiton.events._envelope import decode_body
from atomiton.events._errors import BusConfigError, TransportError
from atomiton.events._loop_thread import LoopThread
from atomiton.events._nats_connection import RECONNECT_WAIT, TIME_SKEW, StreamSettings, connect, utc
from atomiton.events._outage import OutageReports
from atomiton.events._transport import Deliver

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js.client import JetStreamContext

__all__ = ["PENDING_LIMIT", "NatsConsumer"]

PENDING_LIMIT = 8000
"""Messages nats-py may hold for the consumer before it drops (then the consumer re-reads)."""

_BACKOFF_CAP = 1.0


class NatsConsumer:
    """Delivers the stream's events on a loop thread of its own (see the module docstring).

    Args:
        settings: The stream and server.
        deliver: The bridge's callback, called on this consumer's thread.
        report: Reports a background problem as a message (the transport adds the server).
    """

    def __init__(
        self, settings: StreamSettings, deliver: Deliver, report: Callable[[str], None]
    ) -> None:
        self._settings = settings
        self._deliver = deliver
        self._report = report
        self._outage = OutageReports(report)
        self._is_closed = False
        # Everything below is only touched on the consumer's loop.
        self._filter = f"{settings.root}.>"
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subscription: Any = None
        self._last_seq = 0
        self._drop_before_time: float | None = None
        self._resuming: asyncio.Task[None] | None = None
        self._wants_resume = False
        self._thread = LoopThread(f"atomiton-nats-deliver-{settings.name}")

    @property
    def is_closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._is_closed

    def _has_closed(self) -> bool:
        # A call, not the attribute: a check after an await must not be narrowed away.
        return self._is_closed

    def start(self, subject: str, start_seq: int | None, since: float | None) -> None:
        """Connect and subscribe from ``start_seq`` (None: after the newest) or time ``since``.

        Raises:
            TransportError: Cannot connect or subscribe within the timeout.
        """
        timeout = self._settings.timeout * 2 + 1
        try:
            self._thread.run(self._start(subject, start_seq, since), timeout)
        except (TransportError, BusConfigError):
            raise
        except TimeoutError:
            raise TransportError(
                f"{self._settings.server}: subscribing timed out after {timeout:g} s"
            ) from None
        except Exception as error:
            raise TransportError(
                f"{self._settings.server}: subscribing failed: {error!r}"
            ) from error

    async def _start(self, subject: str, start_seq: int | None, since: float | None) -> None:
        self._filter = subject
        self._nc, self._js = await connect(
            self._settings,
            on_error=self._on_driver_error,
            on_disconnected=self._on_disconnected,
            on_reconnected=self._on_reconnected,
        )
        if since is not None:
            self._drop_before_time = since
            self._subscription = await self._subscribe(None, since)
            return
        if start_seq is None:
            info = await self._js.stream_info(self._settings.name)
            start_seq = info.state.last_seq + 1
        self._last_seq = start_seq - 1
        self._subscription = await self._subscribe(start_seq, None)

    async def _subscribe(self, start_seq: int | None, since: float | None) -> Any:
        from nats.js.api import ConsumerConfig, DeliverPolicy

        assert self._js is not None
        if since is not None:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=utc(since - TIME_SKEW),
            )
        else:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start_seq
            )
        return await self._js.subscribe(
            self._filter,
            stream=self._settings.name,
            cb=self._on_message,
            ordered_consumer=True,
            idle_heartbeat=1.0,
            config=config,
            pending_msgs_limit=PENDING_LIMIT,
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
        if self._is_closed:
            return
        # Handlers must not see this private loop as "the running loop": an async handler bound
        # to no loop would otherwise be started here (and die with the transport), and a sync
        # handler could not call asyncio.run(). Hidden, the thread looks like any other.
        loop = asyncio.get_running_loop()
        asyncio.events._set_running_loop(None)
        try:
            self._deliver(event)
        finally:
            asyncio.events._set_running_loop(loop)

    # -- connection problems -------------------------------------------------------------------

    async def _on_driver_error(self, error: Exception) -> None:
        from nats.errors import SlowConsumerError

        if isinstance(error, SlowConsumerError):
            subscription = self._subscription
            if subscription is not None and error.sid == subscription._id:
                self._report("the consumer fell behind; re-reading after the last delivered seq")
                self._schedule_resume()
            return
        self._outage.failed(
            f"consumer connection problem ({error!r}); reconnecting every {RECONNECT_WAIT} s"
        )

    async def _on_disconnected(self) -> None:
        self._outage.failed("consumer disconnected; reconnecting, then resuming after the last seq")

    async def _on_reconnected(self) -> None:
        self._outage.recovered()
        self._schedule_resume()

    def _schedule_resume(self) -> None:
        if self._is_closed:
            return
        if self._resuming is not None and not self._resuming.done():
            self._wants_resume = True
            return
        self._resuming = asyncio.get_running_loop().create_task(self._resume())

    async def _resume(self) -> None:
        from nats.js.errors import NotFoundError

        assert self._js is not None
        js, name = self._js, self._settings.name
        delay = 0.05
        self._wants_resume = True
        while self._wants_resume and not self._has_closed():
            self._wants_resume = False
            old, self._subscription = self._subscription, None
            if old is not None:
                with contextlib.suppress(Exception):
                    await old.unsubscribe()
            try:
                try:
                    info = await js.stream_info(name)
                except NotFoundError:  # a memory stream died with its server: make it again
                    await self._settings.ensure(js)
                    info = await js.stream_info(name)
                if info.state.last_seq < self._last_seq:
                    self._report(
                        f"stream {name!r} restarted empty (memory storage?): events after seq "
                        f"{self._last_seq} were lost; continuing from its start"
                    )
                    self._last_seq = 0
                since = self._drop_before_time if self._last_seq == 0 else None
                start = None if since is not None else self._last_seq + 1
                self._subscription = await self._subscribe(start, since)
                delay = 0.05
            except Exception as error:
                if self._has_closed():
                    return
                self._outage.failed(f"resuming the consumer failed ({error!r}); retrying")
                self._wants_resume = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_CAP)

    # -- closing -------------------------------------------------------------------------------

    def close(self, timeout: float) -> None:
        """Deliver nothing more; close the connection and end the thread (never raises).

        From another thread it waits for a ``deliver`` in progress to return; from inside
        ``deliver`` (a handler closing its bridge) it only schedules the shutdown.
        """
        if self._is_closed:
            return
        self._is_closed = True
        if self._thread.in_loop():  # the loop ends by itself once the connection is closed
            self._thread.loop.create_task(self._shutdown(then_stop=True))
            return
        with contextlib.suppress(Exception):  # a stuck server must not make close raise
            self._thread.run(self._shutdown(), timeout)
        self._thread.stop(timeout)

    async def _shutdown(self, *, then_stop: bool = False) -> None:
        try:
            await self._close_connection()
        finally:
            if then_stop:
                asyncio.get_running_loop().stop()

    async def _close_connection(self) -> None:
        resuming = self._resuming
        if resuming is not None:
            resuming.cancel()
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
