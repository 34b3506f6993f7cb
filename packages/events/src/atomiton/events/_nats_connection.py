"""What both NATS parts (publisher side, consumer) share: a connection, the stream, its settings.

The NATS transport opens two connections, each on an event loop of its own: one for publishing,
history and stream management, one for the consumer (see ``_nats_consumer``). Both are made
here, with reconnecting for ever (every 0.25 s) and every problem handed to the callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atomiton.events._errors import BusConfigError, TransportError

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js.client import JetStreamContext

__all__ = ["RECONNECT_WAIT", "SUBJECT_ROOT", "TIME_SKEW", "StreamSettings", "connect", "utc"]

SUBJECT_ROOT = "atomiton"
"""Subjects of stream ``s`` are ``atomiton.s.<encoded type>``."""

RECONNECT_WAIT = 0.25
"""Seconds between reconnect attempts (nats-py keeps trying for ever)."""

TIME_SKEW = 5.0
"""Seconds: a replay by time seeks by server receive time this much earlier, then drops by the
events' own timestamps (emitter and server clocks differ)."""


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """The JetStream stream a transport uses, and how it is created when missing.

    Attributes:
        url: The server URL for the driver (credentials included, never printed).
        server: The redacted URL, for messages.
        name: The stream's name (the bridge's ``stream``).
        storage: ``"file"`` or ``"memory"``.
        maxlen: Most events kept (older ones are discarded).
        max_age: Seconds an event is kept, or None for no age limit.
        timeout: Seconds for each server call.
    """

    url: str
    server: str
    name: str
    storage: str
    maxlen: int
    max_age: float | None
    timeout: float

    @property
    def root(self) -> str:
        """The subject root: events live under ``<root>.<encoded type>``."""
        return f"{SUBJECT_ROOT}.{self.name}"

    async def ensure(self, js: JetStreamContext) -> None:
        """Create the stream if it is missing; refuse one that belongs to something else.

        Raises:
            BusConfigError: A stream of this name exists without our subjects.
        """
        from nats.js.api import DiscardPolicy, StorageType, StreamConfig
        from nats.js.errors import BadRequestError, NotFoundError

        subjects = f"{self.root}.>"
        with contextlib.suppress(NotFoundError):
            info = await js.stream_info(self.name)
            if subjects not in (info.config.subjects or []):
                raise BusConfigError(
                    f"{self.server}: JetStream stream {self.name!r} exists but does not "
                    f"capture {subjects!r}; it belongs to something else, pick another stream="
                )
            return
        config = StreamConfig(
            name=self.name,
            subjects=[subjects],
            storage=StorageType.FILE if self.storage == "file" else StorageType.MEMORY,
            max_msgs=self.maxlen,
            max_age=self.max_age,
            discard=DiscardPolicy.OLD,
            duplicate_window=120.0,
        )
        try:
            await js.add_stream(config)
        except BadRequestError:  # another process created it meanwhile
            await js.stream_info(self.name)


async def connect(
    settings: StreamSettings,
    *,
    on_error: Callable[[Exception], Awaitable[None]],
    on_disconnected: Callable[[], Awaitable[None]],
    on_reconnected: Callable[[], Awaitable[None]],
) -> tuple[Client, JetStreamContext]:
    """Connect (within ``timeout``) and make sure the stream exists.

    Raises:
        TransportError: No answer within ``timeout``.
        BusConfigError: The stream belongs to something else.
    """
    import nats

    try:
        client = await asyncio.wait_for(
            nats.connect(
                settings.url,
                connect_timeout=settings.timeout,
                max_reconnect_attempts=-1,
                reconnect_time_wait=RECONNECT_WAIT,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
            ),
            settings.timeout,
        )
    except (TimeoutError, OSError) as error:
        raise TransportError(
            f"{settings.server}: cannot connect within {settings.timeout:g} s ({error!r}); "
            "is nats-server running with JetStream (-js)?"
        ) from None
    js = client.jetstream(timeout=settings.timeout)
    try:
        await settings.ensure(js)
    except BaseException:
        await client.close()
        raise
    return client, js


def utc(seconds: float) -> datetime.datetime:
    """``seconds`` since the epoch as an aware UTC datetime (what nats-py wants)."""
    return datetime.datetime.fromtimestamp(max(seconds, 0.0), tz=datetime.UTC)
