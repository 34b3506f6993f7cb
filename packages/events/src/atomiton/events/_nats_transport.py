"""The NATS JetStream transport (``nats://``, extra ``atomiton-events[nats]``).

One JetStream stream per bridge ``stream`` name, capturing the subjects ``atomiton.<stream>.>``;
an event of type ``order.created`` is stored under ``atomiton.<stream>.order.created``, each type
segment encoded by ``_subjects`` (so ``>``, spaces, ``%`` and non-ASCII travel intact). The
message body is ``_envelope``'s (a JSON line of the other fields, then the data as is). ``seq``
is the JetStream stream sequence.

nats-py is asyncio-only, so the transport owns event-loop threads: one here, for publishing,
``history`` and creating the stream (callers block on it with a timeout), and one in the consumer
(``_nats_consumer``), which also runs ``deliver``, each with its own connection.

- **publish** / **begin_publish** (the outbox's batch path and idle fast path): ``_nats_publish``
  (direct connection, one loop callback, or nats-py's ``publish_async`` with all acks awaited
  together; every event carries ``Nats-Msg-Id``, so a retried copy is stored once);
- **start**: live delivery by a consumer with a loop and connection of its own
  (``_nats_consumer``), after replaying the stored events asked for;
- **history**: a short-lived consumer on a private inbox reads the matching events that exist at
  the call (``_nats_history``).

URL options (query): ``storage=file|memory`` (default file: the stream survives a server restart;
memory streams are lost with it), ``maxlen`` (default 1,000,000 events kept, oldest discarded),
``max_age`` (seconds, default unlimited), ``timeout`` (seconds per server call, default 5). They
apply when the transport creates the stream; an existing stream is used as it is.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from atomiton.events._errors import BusConfigError, TransportError
from atomiton.events._loop_thread import LoopThread
from atomiton.events._nats_connection import (
    RECONNECT_WAIT,
    SUBJECT_ROOT,
    StreamSettings,
    connect,
)
from atomiton.events._nats_consumer import NatsConsumer
from atomiton.events._nats_direct import DirectPublisher, direct_address
from atomiton.events._nats_fast_publish import FastPublisher, init_replies
from atomiton.events._nats_history import read_stored
from atomiton.events._nats_publish import NatsPublisher
from atomiton.events._outage import OutageReports
from atomiton.events._patterns import matches
from atomiton.events._server_url import (
    missing_extra,
    parse_server_url,
    positive_float,
    positive_int,
    redact,
)
from atomiton.events._subjects import subject_filters
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
        fast = FastPublisher(self._nc, self._js, self._loop_thread.loop, self._timeout)
        address = direct_address(driver_url)
        self._direct = None if address is None else DirectPublisher(address, self._timeout)
        if self._direct is not None:
            self._direct.connect()
        self._publisher = NatsPublisher(self._settings, self._js, fast, self._direct, self._call)

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
        self._publisher.publish(events)

    def begin_publish(self, events: Sequence[WireEvent], done: Callable[[], None]) -> Finish | None:
        """Start the publish of ``events`` now; return what waits for the acks (or None).

        Never waits (see ``StartsPublish`` and ``_nats_publish``).
        """
        if self._is_closed:
            return None
        return self._publisher.begin(events, done)

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
        reading = read_stored(
            self._nc,
            self._js,
            self._stream,
            subject,
            since_seq=since_seq,
            since_time=since_time,
            timeout=self._timeout,
        )
        found: list[WireEvent] = self._call(reading, self._timeout * 4, "read history")
        kept: deque[WireEvent] = deque(maxlen=limit)
        for event in found:
            if any(matches(pattern, event.type) for pattern in patterns):
                kept.append(event)
        return list(kept)

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
