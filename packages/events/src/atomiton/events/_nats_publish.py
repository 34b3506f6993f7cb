"""Publishing for the NATS transport: the three paths an event takes to JetStream.

- **direct** (``begin``, one event, the outbox idle): the emitting thread writes the event's
  ``HPUB`` on a small connection of its own and the sender thread reads the ack there
  (``_nats_direct``; plain ``nats://`` URLs without credentials to servers without TLS or auth).
  Anything failing there is published again through nats-py, stored once: JetStream drops the
  copy by its ``Nats-Msg-Id``.
- **fast** (``begin``, when the direct connection cannot take it): nats-py's loop gets one
  callback that writes the command (``_nats_fast_publish``: one loop turn instead of three).
- **batch** (``publish``): every event with its ``Nats-Msg-Id`` through ``js.publish_async``,
  then all acks awaited together, bounded by ``timeout``. A memory stream lost in a server
  restart is created again and the batch retried once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from atomiton.events._envelope import encode_body
from atomiton.events._errors import TransportError
from atomiton.events._nats_connection import StreamSettings
from atomiton.events._nats_direct import DirectFailed, DirectPublisher, Refused
from atomiton.events._nats_fast_publish import FastPublisher
from atomiton.events._subjects import encode_subject
from atomiton.events._transport import Finish, WireEvent

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

__all__ = ["NatsPublisher"]


class NatsPublisher:
    """The publishing side of one NATS transport (see the module docstring).

    ``call(coroutine, timeout, action)`` runs a coroutine on the transport's loop and raises
    ``TransportError`` on failure or timeout (and when the transport is closed).
    """

    def __init__(
        self,
        settings: StreamSettings,
        js: JetStreamContext,
        fast: FastPublisher,
        direct: DirectPublisher | None,
        call: Callable[[Any, float, str], Any],
    ) -> None:
        self._settings = settings
        self._js = js
        self._fast = fast
        self.direct = direct
        self._call = call
        self._server = settings.server
        self._root = settings.root
        self._timeout = settings.timeout

    def publish(self, events: Sequence[WireEvent]) -> None:
        """The batch path: return once JetStream acknowledged every event."""
        self._call(self._publish(events), self._timeout + 1, f"publish {len(events)} event(s)")
        if self.direct is not None:  # the server answers again: reopen the direct connection
            self.direct.reconnect_if_due()

    def begin(self, events: Sequence[WireEvent], done: Callable[[], None]) -> Finish | None:
        """Start a single event on the direct or fast path; None when neither can take it."""
        if len(events) != 1:
            return None
        direct = self.direct
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
