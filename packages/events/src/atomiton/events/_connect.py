"""connect_bus: pick the transport for a URL (entry points), check the settings, start a Bridge."""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from atomiton.events._bridge import Bridge
from atomiton.events._codec import ENCODINGS
from atomiton.events._errors import BusConfigError
from atomiton.events._patterns import compile_pattern
from atomiton.events._transport import ENTRY_POINT_GROUP, ReplayFrom, TransportFactory

if TYPE_CHECKING:
    from atomiton.events._bus import EventBus

DEFAULT_STREAM = "atomiton"
_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EXTRAS = {"nats": "nats", "redis": "redis", "rediss": "redis"}


def connect_bus(
    bus: EventBus,
    url: str,
    *,
    publish: Sequence[str] = ("**",),
    subscribe: Sequence[str] = ("**",),
    stream: str = DEFAULT_STREAM,
    replay_from: ReplayFrom | None = None,
    encoding: str = "json",
    max_pending: int = 10_000,
    close_timeout: float = 5.0,
) -> Bridge:
    """Join ``bus`` to the durable stream at ``url``, shared with every other bridged process.

    When this returns, the bus is subscribed: every event that any process publishes to the
    stream from now on reaches this bus (if it matches ``subscribe``).

    Args:
        bus: The local bus; one bridge per bus.
        url: ``"sqlite:///path/events.db"`` (built in), ``"nats://host:4222"``,
            ``"redis://host:6379/0"`` (extras ``atomiton-events[nats]`` / ``[redis]``); the
            scheme picks the transport through the ``atomiton.events.transports`` entry points.
        publish: Patterns of local events to send to the others (``[]``: send nothing).
        subscribe: Patterns of other processes' events to deliver here (``[]``: receive
            nothing).
        stream: The durable stream's name (letters, digits, ``_``, ``-``); a ``stream=`` query
            parameter in ``url`` is used when this is left at its default.
        replay_from: Also deliver stored events from this position (a seq, a time, or the last
            N matching ``subscribe``) before live ones, with no gap and no duplicate.
        encoding: ``"json"`` (default) or ``"msgpack"`` (extra ``atomiton-events[msgpack]``).
        max_pending: Local events that may wait unacknowledged (e.g. while disconnected)
            before new ones are dropped and reported (see the README on overflow).
        close_timeout: How long ``close()`` tries to send what is still queued.

    Returns:
        The running Bridge; close it (or use ``with``) to flush and stop.

    Raises:
        BusConfigError: An unknown scheme (or its extra missing), a malformed URL, pattern,
            stream name or setting, or a bus that is bridged already.
        PatternError: A ``publish`` or ``subscribe`` pattern is malformed.
        TransportError: The transport cannot connect or subscribe.
    """
    publish_patterns = _patterns("publish", publish)
    subscribe_patterns = _patterns("subscribe", subscribe)
    stream = _stream(url, stream)
    if encoding not in ENCODINGS:
        raise BusConfigError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
        raise BusConfigError(f"max_pending must be an int >= 1, got {max_pending!r}")
    if isinstance(close_timeout, bool) or not isinstance(close_timeout, int | float):
        raise BusConfigError(f"close_timeout must be a number >= 0, got {close_timeout!r}")
    if close_timeout < 0:
        raise BusConfigError(f"close_timeout must be a number >= 0, got {close_timeout!r}")
    if replay_from is not None and not isinstance(replay_from, ReplayFrom):
        raise BusConfigError(f"replay_from must be a ReplayFrom or None, got {replay_from!r}")
    factory = transport_factory(url)
    origin = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"
    holder: list[Bridge] = []

    def on_error(error: Exception) -> None:
        if holder:
            holder[0]._report_problem(error)

    transport = factory(url, stream=stream, on_error=on_error)
    bridge = Bridge(
        bus,
        transport,
        origin=origin,
        stream=stream,
        publish=publish_patterns,
        subscribe=subscribe_patterns,
        encoding=encoding,
        max_pending=max_pending,
        close_timeout=float(close_timeout),
    )
    holder.append(bridge)
    bridge._start(replay_from)
    return bridge


def transport_factory(url: str) -> TransportFactory:
    """The factory registered for ``url``'s scheme in ``atomiton.events.transports``.

    Raises:
        BusConfigError: ``url`` is not a string with a scheme, or no transport serves it.
    """
    if not isinstance(url, str) or ":" not in url:
        raise BusConfigError(
            f"url must be a transport URL such as 'sqlite:///path/events.db', got {url!r}"
        )
    scheme = url.split(":", 1)[0].lower()
    from importlib.metadata import entry_points

    found = {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}
    point = found.get(scheme)
    if point is None:
        hint = (
            f"; install atomiton-events[{_EXTRAS[scheme]}]"
            if scheme in _EXTRAS
            else "; a plug-in registers one under the entry-point group " + ENTRY_POINT_GROUP
        )
        raise BusConfigError(
            f"no events transport for the URL scheme {scheme!r} "
            f"(available: {', '.join(sorted(found)) or 'none'}){hint}"
        )
    try:
        factory: TransportFactory = point.load()
    except ImportError as error:
        extra = _EXTRAS.get(scheme, scheme)
        raise BusConfigError(
            f"the {scheme!r} events transport needs its driver: install "
            f"atomiton-events[{extra}] ({error})"
        ) from error
    return factory


def _patterns(name: str, patterns: Sequence[str]) -> list[str]:
    if isinstance(patterns, str):
        raise BusConfigError(f"{name} must be a list of patterns, got the string {patterns!r}")
    chosen = list(patterns)
    for pattern in chosen:
        compile_pattern(pattern)
    return chosen


def _stream(url: str, stream: str) -> str:
    query = parse_qs(urlsplit(url).query) if isinstance(url, str) else {}
    from_url = query.get("stream")
    if from_url:
        if stream not in (DEFAULT_STREAM, from_url[-1]):
            raise BusConfigError(
                f"stream={stream!r} disagrees with the URL's stream={from_url[-1]!r}; give one"
            )
        stream = from_url[-1]
    if not isinstance(stream, str) or not _STREAM_NAME.fullmatch(stream):
        raise BusConfigError(f"stream must be 1-64 letters, digits, '_' or '-', got {stream!r}")
    return stream
