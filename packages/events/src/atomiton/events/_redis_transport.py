"""The Redis Streams transport (``redis://``, extra ``atomiton-events[redis]``).

One Redis stream key per bridge ``stream`` name: ``<prefix><stream>``, the prefix being
``atomiton:events:`` unless the URL says ``?prefix=...``. Each event is one entry with one field,
``e``: ``_envelope``'s body (a JSON line of id, type, source, timestamp, origin and encoding,
then the data as is; the type needs no escaping, a stream has no subjects). ``seq`` is
the entry id ``<ms>-<n>`` as ``ms << 20 | n`` (an id with ``n >= 2**20``, a million entries in one
millisecond, is reported and skipped).

- **publish**: the batch's ``XADD``s go in one pipeline on the transport's publishing
  connection, in order, each with ``MAXLEN ~ maxlen`` (approximate trimming: Redis cuts
  whole internal nodes, so the stream may hold up to about a hundred entries more than
  ``maxlen`` — cheaper than exact trimming, never fewer entries).
- **begin_publish** (the outbox's idle fast path): the emitting thread writes the event's ``XADD``
  on the transport's publishing connection (into the socket's send buffer, which is empty then:
  nothing else is in flight) and the bridge's sender thread reads the reply; so the command
  leaves without waiting for the sender thread to wake. Only when that connection is open: the
  emitting thread never connects (the sender thread does, in ``publish``).
- **consume**: a reader thread of its own replays with ``XRANGE`` from the start position, then
  follows with ``XREAD BLOCK`` from the last id it delivered; after a connection loss it reconnects
  with backoff (capped at 1 s) and continues from that same id, so nothing is skipped. ``deliver``
  runs on that thread: a slow subscriber just reads the stream more slowly.
- **history**: ``XRANGE`` forward, or ``XREVRANGE`` from the newest when only a ``limit`` is given.

Durability is the server's: with persistence off (the Redis default without ``appendonly``), a
restarted server has lost the stream; the reader notices that the newest id went backwards,
reports it through ``on_error`` and reads the new stream from its start.

URL options (query): ``prefix`` (key prefix), ``maxlen`` (default 1,000,000), ``timeout``
(seconds per server call, default 5).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from atomiton.events._envelope import decode_body, encode_body
from atomiton.events._errors import TransportError
from atomiton.events._outage import OutageReports
from atomiton.events._patterns import matches
from atomiton.events._server_url import (
    missing_extra,
    parse_server_url,
    positive_float,
    positive_int,
    redact,
)
from atomiton.events._transport import Deliver, Finish, ReplayFrom, WireEvent

__all__ = ["KEY_PREFIX", "RedisTransport", "create", "id_of", "seq_of"]

_log = logging.getLogger("atomiton.events")

KEY_PREFIX = "atomiton:events:"
"""Default prefix of the stream key: stream ``s`` lives at ``atomiton:events:s``."""

_N_BITS = 20
_N_MASK = (1 << _N_BITS) - 1
_BLOCK_MS = 1000
_CHUNK = 500
_BACKOFF_CAP = 1.0
_TIME_SKEW = 5.0  # seconds: seek by server time this much earlier, then drop by emit time

_OPTIONS: dict[str, Callable[[str], Any]] = {
    "prefix": str,
    "maxlen": positive_int,
    "timeout": positive_float,
}


def create(url: str, *, stream: str, on_error: Callable[[Exception], None]) -> RedisTransport:
    """The ``redis`` entry point: a transport on ``url``'s server for ``stream`` (connects now).

    Raises:
        BusConfigError: redis-py is missing (install ``atomiton-events[redis]``), or a bad option.
        TransportError: The server cannot be reached within ``timeout``.
    """
    try:
        import redis  # noqa: F401
    except ImportError:
        raise missing_extra("redis", "redis-py", "redis") from None
    return RedisTransport(url, stream=stream, on_error=on_error)


def seq_of(entry_id: bytes | str) -> int:
    """``"<ms>-<n>"`` as ``ms << 20 | n``.

    Raises:
        ValueError: ``n`` does not fit in 20 bits.
    """
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, n = text.partition("-")
    number = int(n)
    if number > _N_MASK:
        raise ValueError(f"stream id {text} has more than 2**20 entries in one millisecond")
    return int(ms) << _N_BITS | number


def id_of(seq: int) -> str:
    """The stream id of ``seq``: the inverse of :func:`seq_of`."""
    return f"{seq >> _N_BITS}-{seq & _N_MASK}"


def _id_before(entry_id: str) -> str:
    """The greatest stream id below ``entry_id`` (``"0-0"`` for the first ones)."""
    ms, _, n = entry_id.partition("-")
    if int(n) > 0:
        return f"{ms}-{int(n) - 1}"
    return f"{int(ms) - 1}-{2**64 - 1}" if int(ms) > 0 else "0-0"


def _is_reply_error(error: Exception) -> bool:
    from redis.exceptions import ResponseError

    return isinstance(error, ResponseError)


def _fields(flat: Any) -> dict[bytes, bytes]:
    """An entry's ``[field, value, ...]`` as a dict (empty for a trimmed entry's nil)."""
    return dict(zip(flat[::2], flat[1::2], strict=True)) if isinstance(flat, list) else {}


def _event(fields: dict[bytes, bytes], seq: int) -> WireEvent:
    return decode_body(fields[b"e"], seq)


def _event_or_none(entry_id: bytes, fields: dict[bytes, bytes]) -> WireEvent | None:
    """The event of an entry, or None for an entry some other writer put in the stream."""
    try:
        return _event(fields, seq_of(entry_id))
    except (KeyError, ValueError, TypeError):
        return None


class RedisTransport:
    """A bridge transport over one Redis stream key (see the module docstring)."""

    def __init__(self, url: str, *, stream: str, on_error: Callable[[Exception], None]) -> None:
        self._url, options = parse_server_url(url, _OPTIONS)
        self._server = redact(url)
        self._key = options.get("prefix", KEY_PREFIX) + stream
        self._maxlen: int = options.get("maxlen", 1_000_000)
        self._timeout: float = options.get("timeout", 5.0)
        self._on_error = on_error
        self._closed = threading.Event()
        # Held around each deliver: once close() has it, deliver is never called again.
        self._delivering = threading.RLock()
        self._reader_thread: threading.Thread | None = None
        self._reader_conn: Any = None  # the reader thread's own connection (see _xread)
        self._client = self._connect(self._timeout)
        self._reader = self._connect(self._timeout + _BLOCK_MS / 1000)
        try:
            self._client.ping()
            # Publishing's own connection, used by one thread at a time (see the outbox):
            # the emitting thread may write on it (begin_publish), the sender thread reads.
            self._publisher: Any = self._client.connection_pool.get_connection()
        except Exception as error:
            self._client.close()
            raise TransportError(
                f"{self._server}: cannot connect within {self._timeout:g} s ({error!r}); "
                "is redis-server running?"
            ) from None

    def _connect(self, socket_timeout: float) -> Any:  # redis.Redis; its stubs type replies loosely
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No hidden retries inside the driver: the bridge retries publish, the reader its reads.
        return redis.Redis.from_url(
            self._url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),
        )

    def _report(self, message: str) -> None:
        if not self._closed.is_set():
            self._on_error(TransportError(f"{self._server}: {message}"))

    def _failed(self, action: str, error: Exception) -> TransportError:
        return TransportError(f"{self._server}: {action} failed: {error!r}")

    # -- publishing -------------------------------------------------------------------------

    def publish(self, events: Sequence[WireEvent]) -> None:
        """Append ``events`` in order (one pipeline); return once Redis stored them all.

        Raises:
            TransportError: The transport is closed, or Redis cannot be reached or refused.
        """
        if self._closed.is_set():
            raise TransportError(f"{self._server}: the transport is closed, cannot publish")
        conn = self._publisher
        try:
            conn.send_packed_command(self._pack(conn, events))  # connects if it has to
            self._read_replies(conn, len(events))
        except Exception as error:
            raise self._failed(f"publish {len(events)} event(s)", error) from error

    def begin_publish(self, events: Sequence[WireEvent], done: Callable[[], None]) -> Finish | None:
        """Write the ``XADD``s of ``events`` now; return what reads Redis's replies.

        Never waits for a reply and never connects (see ``StartsPublish``): None when the
        publishing connection is not open, or writing failed (the sender thread then publishes).
        """
        conn = self._publisher
        if self._closed.is_set() or conn._sock is None:
            return None
        try:
            conn.send_packed_command(self._pack(conn, events), check_health=False)
        except Exception:
            conn.disconnect()  # a partial write must not confuse the next reply
            return None
        count = len(events)
        done()  # the sender thread reads the replies (a blocking read, off the emitting thread)

        def finish() -> None:
            try:
                self._read_replies(conn, count)
            except Exception as error:
                raise self._failed(f"publish {count} event(s)", error) from error

        return finish

    def _pack(self, conn: Any, events: Sequence[WireEvent]) -> Any:
        key, maxlen = self._key, self._maxlen
        return conn.pack_commands(
            [("XADD", key, "MAXLEN", "~", maxlen, "*", "e", encode_body(e)) for e in events]
        )

    @staticmethod
    def _read_replies(conn: Any, count: int) -> None:
        error: Exception | None = None
        try:
            for _ in range(count):
                try:
                    conn.read_response()
                except Exception as refused:
                    if not _is_reply_error(refused):
                        raise
                    error = error or refused  # read the other replies: the pipe stays in step
        except BaseException:
            conn.disconnect()
            raise
        if error is not None:
            raise error

    # -- consuming --------------------------------------------------------------------------

    def start(
        self, deliver: Deliver, *, patterns: Sequence[str], replay_from: ReplayFrom | None
    ) -> None:
        """Deliver stored events from ``replay_from`` on (XRANGE), then live (XREAD BLOCK).

        Redis cannot filter a stream by type, so every event is delivered (the bridge matches).

        Raises:
            TransportError: Redis cannot be read now.
        """
        start_id: str | None = None  # inclusive, replayed with XRANGE first
        floor: float | None = None
        try:
            if replay_from is None or replay_from.last == 0:
                newest = self._client.xrevrange(self._key, count=1)
                after = newest[0][0].decode() if newest else "0-0"
            elif replay_from.last is not None:
                # The newest id first: a match stored after the history read is then not missed.
                newest = self._client.xrevrange(self._key, count=1)
                after = newest[0][0].decode() if newest else "0-0"
                found = self.history(patterns, limit=replay_from.last)
                if found and found[0].seq is not None:
                    start_id = id_of(found[0].seq)
            elif replay_from.seq is not None:
                start_id = id_of(max(replay_from.seq, 1))
            else:
                assert replay_from.time is not None
                floor = replay_from.time
                start_id = f"{max(int((floor - _TIME_SKEW) * 1000), 0)}-0"
        except TransportError:
            raise
        except Exception as error:
            raise self._failed("subscribe", error) from error
        if start_id is not None:  # XREAD's exclusive position if the replay finds nothing
            after = _id_before(start_id)
        self._reader_thread = threading.Thread(
            target=self._read_loop,
            args=(deliver, start_id, after, floor),
            name=f"atomiton-redis-{self._key}",
            daemon=True,
        )
        self._reader_thread.start()

    def _read_loop(
        self, deliver: Deliver, start_id: str | None, after: str, floor: float | None
    ) -> None:
        delay = 0.05
        is_replaying = start_id is not None
        lower = start_id or after  # XRANGE's inclusive lower bound while replaying
        key = self._key
        is_checking = False  # after an error: did the stream restart older than ``after``?
        outage = OutageReports(self._report)
        while not self._closed.is_set():
            try:
                if is_checking:
                    after = self._check_restart(after)
                    is_checking = False
                if is_replaying:
                    chunk = self._reader.xrange(key, min=lower, count=_CHUNK)
                    is_replaying = len(chunk) == _CHUNK
                    entries = chunk
                else:
                    entries = self._xread(after)
                if delay > 0.05:  # the first read that worked after a failure
                    outage.recovered()
                delay = 0.05
            except Exception as error:
                if self._closed.is_set():
                    return
                outage.failed(f"reading the stream failed ({error!r}); retrying (backoff to 1 s)")
                if self._closed.wait(delay):
                    return
                delay = min(delay * 2, _BACKOFF_CAP)
                is_checking = True
                continue
            for entry_id, fields in entries:
                if self._closed.is_set():
                    return
                after = entry_id.decode()
                lower = "(" + after
                try:
                    event = _event(fields, seq_of(after))
                except (KeyError, ValueError, TypeError) as error:
                    self._report(f"entry {after} of {key!r} is not an event ({error!r}); skipped")
                    continue
                if floor is not None:
                    if event.timestamp < floor:
                        continue
                    floor = None
                with self._delivering:
                    if self._closed.is_set():
                        return
                    deliver(event)

    def _xread(self, after: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """One ``XREAD BLOCK`` after ``after`` on the reader's own connection.

        Straight on a connection instead of ``Redis.xread``: the client's per-command layers
        (pool checkout and release, retry wrapper, observability hooks, reply callback) cost
        about 60 µs of the reader thread's 120 µs per delivered event (measured, redis-py 8.2),
        and a process that publishes reads each of its own events back (Redis Streams have no
        server-side filter), competing for the GIL with its writing thread.
        """
        conn = self._reader_conn
        if conn is None:
            conn = self._reader_conn = self._reader.connection_pool.get_connection()
        try:
            conn.send_command(
                "XREAD", "COUNT", _CHUNK, "BLOCK", _BLOCK_MS, "STREAMS", self._key, after
            )
            reply = conn.read_response()
        except BaseException:
            conn.disconnect()  # a half-read reply must not be taken for the next one
            raise
        if not reply:
            return []
        # RESP3 (redis-py 8's default): {key: entries}; RESP2 (older ones): [[key, entries]];
        # entries: [[id, [field, value, ...]], ...].
        entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
        return [(entry_id, _fields(flat)) for entry_id, flat in entries]

    def _check_restart(self, after: str) -> str:
        """After an error: if the stream's newest id is older than ``after``, it was recreated."""
        newest = self._reader.xrevrange(self._key, count=1)
        newest_id = newest[0][0].decode() if newest else "0-0"
        if seq_of(newest_id) < seq_of(after):
            self._report(
                f"stream {self._key!r} restarted older than the last delivered id {after} "
                "(persistence off?): events were lost; reading it from its start"
            )
            return "0-0"
        return after

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
            TransportError: Redis cannot be read now.
        """
        lower = "-"
        if since_seq is not None:
            lower = id_of(max(since_seq, 1))
        elif since_time is not None:
            lower = f"{max(int((since_time - _TIME_SKEW) * 1000), 0)}-0"
        try:
            if limit is not None and since_time is None:
                return self._newest(patterns, lower, limit)
            return self._oldest_first(patterns, lower, since_time, limit)
        except TransportError:
            raise
        except Exception as error:
            raise self._failed("read history", error) from error

    def _oldest_first(
        self, patterns: Sequence[str], lower: str, since_time: float | None, limit: int | None
    ) -> list[WireEvent]:
        kept: deque[WireEvent] = deque(maxlen=limit)
        while True:
            chunk = self._client.xrange(self._key, min=lower, count=_CHUNK)
            for entry_id, fields in chunk:
                lower = "(" + entry_id.decode()
                event = _event_or_none(entry_id, fields)
                if event is None:  # not an event (reported when the reader meets it)
                    continue
                if since_time is not None:
                    if event.timestamp < since_time:
                        continue
                    since_time = None
                if any(matches(pattern, event.type) for pattern in patterns):
                    kept.append(event)
            if len(chunk) < _CHUNK:
                return list(kept)

    def _newest(self, patterns: Sequence[str], lower: str, limit: int) -> list[WireEvent]:
        found: list[WireEvent] = []
        upper = "+"
        while len(found) < limit:
            chunk = self._client.xrevrange(self._key, max=upper, min=lower, count=_CHUNK)
            for entry_id, fields in chunk:
                upper = "(" + entry_id.decode()
                event = _event_or_none(entry_id, fields)
                if event is not None and any(matches(p, event.type) for p in patterns):
                    found.append(event)
                    if len(found) == limit:
                        break
            if len(chunk) < _CHUNK:
                break
        found.reverse()
        return found

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the reader and close both connections; idempotent, never raises."""
        if self._closed.is_set():
            return
        with self._delivering:  # waits for a deliver in progress (unless called from it)
            self._closed.set()
        # Closing the reader's socket wakes its XREAD BLOCK at once. If the reader was just
        # opening a new connection, it may block up to 1 s more and then end, as a daemon
        # thread that calls nothing: so the join below is short.
        try:
            self._reader.connection_pool.disconnect(inuse_connections=True)
        except Exception as error:
            _log.debug("closing %s: %r", self._server, error)
        thread = self._reader_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(0.2)
        for client in (self._reader, self._client):
            try:
                client.close()
            except Exception as error:
                _log.debug("closing %s: %r", self._server, error)

    def __repr__(self) -> str:
        return f"<RedisTransport {self._server} key={self._key!r}>"
