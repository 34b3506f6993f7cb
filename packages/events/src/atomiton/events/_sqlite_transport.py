"""The SQLite transport: one append-only table in a WAL file that every process on a host shares.

``sqlite:///abs/path/events.db`` (or ``sqlite:relative/events.db``), options as query
parameters: ``poll`` (the longest wait between checks for new events, seconds, default 0.002),
``synchronous`` (``normal``, the default, or ``full``), ``busy_timeout`` (seconds a writer waits
for another's lock, default 10), ``maxlen`` (events kept per stream, default 1,000,000: a
publisher deletes older ones every ``maxlen / 100`` events, in its own transaction, so the
stream holds between ``maxlen`` and ``1.01 * maxlen`` events).

Durability: a batch is one ``BEGIN IMMEDIATE ... COMMIT`` transaction, so it is stored whole or
not at all; ``publish`` returns after the commit. In WAL mode a committed transaction survives
the SIGKILL of any process (``synchronous=normal``) and also a power loss with
``synchronous=full``. A writer killed mid-transaction leaves nothing: SQLite rolls it back.

Order and positions: ``seq`` is the table's AUTOINCREMENT rowid. SQLite has one writer at a time
and a transaction holds the write lock from its first insert to its commit, so seqs become
visible in increasing order and a reader that has seen seq ``n`` never later finds one below it.
Rows are never updated; the oldest are deleted beyond ``maxlen``. A reader that falls more
than ``maxlen`` events behind misses the deleted ones (as on NATS and Redis with their maxlen).

Receiving: a thread per transport reads ``seq > last`` in pages; when there is nothing new it
waits for ``PRAGMA data_version`` (a counter SQLite bumps when another connection commits) to
change, checking every 0.2 ms for the first 2 ms and then at doubling intervals up to ``poll``.
No inotify or sockets: it works on any filesystem SQLite's WAL works on (a local one, not NFS).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from atomiton.events._errors import BusConfigError, TransportError
from atomiton.events._patterns import matches
from atomiton.events._transport import Deliver, ReplayFrom, WireEvent

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS atomiton_events ("
    "seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, id TEXT NOT NULL, "
    "type TEXT NOT NULL, data BLOB NOT NULL, source TEXT, timestamp REAL NOT NULL, "
    "origin TEXT NOT NULL, encoding TEXT NOT NULL)",
    # (stream, rowid): the one index readers need; no more, so appends stay cheap.
    "CREATE INDEX IF NOT EXISTS atomiton_events_stream ON atomiton_events (stream)",
)
_COLUMNS = "seq, id, type, data, source, timestamp, origin, encoding"
_INSERT = (
    "INSERT INTO atomiton_events (stream, id, type, data, source, timestamp, origin, encoding) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_AFTER = f"SELECT {_COLUMNS} FROM atomiton_events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?"
_BEFORE = (
    f"SELECT {_COLUMNS} FROM atomiton_events WHERE stream = ? AND seq >= ? AND seq < ? "
    "ORDER BY seq DESC LIMIT ?"
)
_LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM atomiton_events WHERE stream = ?"
_FIRST_SINCE = "SELECT min(seq) FROM atomiton_events WHERE stream = ? AND timestamp >= ?"
_PAGE = 512
_FIRST_POLL = 0.0002
_FAST_CHECKS = 10  # checks _FIRST_POLL apart after the last event, before backing off
_OPTIONS = {"poll", "synchronous", "busy_timeout", "maxlen", "stream"}
_DEFAULT_MAXLEN = 1_000_000
# Delete everything of the stream older than its maxlen-th newest event (the index on
# (stream, rowid) walks maxlen entries, so this runs only every maxlen/100 events).
_TRIM = (
    "DELETE FROM atomiton_events WHERE stream = ?1 AND seq < ("
    "SELECT seq FROM atomiton_events WHERE stream = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)"
)

# (seq, id, type, data, source, timestamp, origin, encoding) as stored; SQLite is dynamically
# typed, so a foreign writer can put anything in a column: _wire checks.
Row = tuple[Any, ...]


def create(url: str, *, stream: str, on_error: Callable[[Exception], None]) -> SQLiteTransport:
    """The ``sqlite`` entry point: a transport on the file named by ``url`` (see the module).

    Raises:
        BusConfigError: The URL has no path or an unknown or invalid option.
        TransportError: The file cannot be opened or is not a database.
    """
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.netloc not in ("", "localhost") or not path or path == "/":
        raise BusConfigError(
            f"sqlite URL must name a file: 'sqlite:///abs/path/events.db', got {url!r}"
        )
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = set(options) - _OPTIONS
    if unknown:
        raise BusConfigError(
            f"unknown sqlite transport option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}"
        )
    poll = _number(options, "poll", 0.002)
    maxlen_text = options.get("maxlen", str(_DEFAULT_MAXLEN))
    if not maxlen_text.isdigit() or int(maxlen_text) < 1:
        raise BusConfigError(
            f"sqlite transport option maxlen must be an int >= 1, got {maxlen_text!r}"
        )
    busy_timeout = _number(options, "busy_timeout", 10.0)
    synchronous = options.get("synchronous", "normal").lower()
    if synchronous not in ("normal", "full"):
        raise BusConfigError(f"synchronous must be 'normal' or 'full', got {synchronous!r}")
    return SQLiteTransport(
        Path(path),
        stream=stream,
        on_error=on_error,
        poll=poll,
        synchronous=synchronous,
        busy_timeout=busy_timeout,
        maxlen=int(maxlen_text),
    )


class SQLiteTransport:
    """A :class:`~atomiton.events._transport.Transport` over one SQLite file (see the module)."""

    def __init__(
        self,
        path: Path,
        *,
        stream: str,
        on_error: Callable[[Exception], None],
        poll: float = 0.002,
        synchronous: str = "normal",
        busy_timeout: float = 10.0,
        maxlen: int = _DEFAULT_MAXLEN,
    ) -> None:
        self._path = path
        self._stream = stream
        self._on_error = on_error
        self._poll = poll
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._maxlen = maxlen
        self._trim_every = max(1, maxlen // 100)
        self._since_trim = self._trim_every  # trim on the first publish: the file may be old
        self._closed = threading.Event()
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._writer = self._connect(create=True)
        self._history_reader = self._connect()

    # -- Transport --------------------------------------------------------------------------

    def publish(self, events: Sequence[WireEvent]) -> None:
        """Append ``events`` in one transaction; returns after the commit."""
        rows = [
            (self._stream, e.id, e.type, e.data, e.source, e.timestamp, e.origin, e.encoding)
            for e in events
        ]
        with self._write_lock:
            if self._closed.is_set():
                raise TransportError(f"the SQLite transport on {self._path} is closed")
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                try:
                    self._writer.executemany(_INSERT, rows)
                    self._since_trim += len(rows)
                    if self._since_trim >= self._trim_every:
                        self._writer.execute(_TRIM, (self._stream, self._maxlen - 1))
                        self._since_trim = 0
                    self._writer.execute("COMMIT")
                except BaseException:
                    self._writer.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise self._error("publishing", error) from error

    def start(
        self, deliver: Deliver, *, patterns: Sequence[str], replay_from: ReplayFrom | None
    ) -> None:
        """Find the start position now, then deliver from a reader thread (see the module)."""
        if self._reader is not None:
            raise TransportError("the SQLite transport was started already")
        after = self._start_after(patterns, replay_from)
        self._reader = threading.Thread(
            target=self._read_forever,
            args=(deliver, after),
            name=f"atomiton-bridge-sqlite-{self._stream}",
            daemon=True,
        )
        self._reader.start()

    def history(
        self,
        patterns: Sequence[str],
        *,
        since_seq: int | None = None,
        since_time: float | None = None,
        limit: int | None = None,
    ) -> list[WireEvent]:
        """Stored events matching ``patterns``, oldest first (see the Transport protocol)."""
        try:
            with self._read_lock:
                if self._closed.is_set():
                    raise TransportError(f"the SQLite transport on {self._path} is closed")
                return self._history(patterns, since_seq, since_time, limit)
        except sqlite3.Error as error:
            raise self._error("reading history", error) from error

    def close(self) -> None:
        """Stop the reader thread and close the connections; idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5.0)
        with self._write_lock:
            self._writer.close()
        with self._read_lock:
            self._history_reader.close()

    # -- internals --------------------------------------------------------------------------

    def _connect(self, *, create: bool = False) -> sqlite3.Connection:
        try:
            if create and not self._path.exists():
                self._path.parent.mkdir(parents=True, exist_ok=True)
                # Events may hold private data: the file is the owner's only.
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            connection = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
            if create:
                for statement in _SCHEMA:
                    connection.execute(statement)
            return connection
        except (sqlite3.Error, OSError) as error:
            raise self._error("opening", error) from error

    def _error(self, doing: str, error: BaseException) -> TransportError:
        return TransportError(
            f"SQLite events transport: {doing} {self._path} failed "
            f"({type(error).__name__}: {error})"
        )

    def _start_after(self, patterns: Sequence[str], replay_from: ReplayFrom | None) -> int:
        """The seq after which delivery starts."""
        try:
            with self._read_lock:
                reader = self._history_reader
                if replay_from is None or replay_from.last == 0:
                    return int(reader.execute(_LAST_SEQ, (self._stream,)).fetchone()[0])
                if replay_from.seq is not None:
                    return replay_from.seq - 1
                if replay_from.time is not None:
                    first = reader.execute(_FIRST_SINCE, (self._stream, replay_from.time))
                    seq = first.fetchone()[0]
                    if seq is None:
                        return int(reader.execute(_LAST_SEQ, (self._stream,)).fetchone()[0])
                    return int(seq) - 1
                assert replay_from.last is not None
                newest = self._history(patterns, None, None, replay_from.last)
                if len(newest) < replay_from.last:
                    return 0
                first_seq = newest[0].seq
                assert first_seq is not None
                return first_seq - 1
        except sqlite3.Error as error:
            raise self._error("finding the start position in", error) from error

    def _history(
        self,
        patterns: Sequence[str],
        since_seq: int | None,
        since_time: float | None,
        limit: int | None,
    ) -> list[WireEvent]:
        reader = self._history_reader
        start = since_seq or 0
        if since_time is not None:
            first = reader.execute(_FIRST_SINCE, (self._stream, since_time)).fetchone()[0]
            if first is None:
                return []
            start = max(start, int(first))
        wanted = _matcher(patterns)
        if limit is None:
            rows = reader.execute(_AFTER, (self._stream, start - 1, -1)).fetchall()
            wires = [self._wire_or_report(row) for row in rows if wanted(str(row[2]))]
            return [wire for wire in wires if wire is not None]
        newest: list[WireEvent] = []
        below = 1 << 62
        while len(newest) < limit:
            rows = reader.execute(_BEFORE, (self._stream, start, below, _PAGE)).fetchall()
            if not rows:
                break
            for row in rows:
                wire = self._wire_or_report(row) if wanted(str(row[2])) else None
                if wire is not None:
                    newest.append(wire)
            below = rows[-1][0]
        del newest[limit:]
        newest.reverse()
        return newest

    def _wire_or_report(self, row: Row) -> WireEvent | None:
        """The row as a WireEvent, or None (reported) if some other writer stored junk."""
        try:
            return _wire(row)
        except (TypeError, ValueError) as error:
            self._on_error(
                TransportError(
                    f"SQLite events transport: row seq {row[0]} of {self._path} is not an "
                    f"event record ({error}); skipped"
                )
            )
            return None

    def _read_forever(self, deliver: Deliver, after: int) -> None:
        connection: sqlite3.Connection | None = None
        failures = 0
        while not self._closed.is_set():
            try:
                if connection is None:
                    connection = self._connect()
                after = self._read_new(connection, deliver, after)
                failures = 0
            except Exception as error:  # sqlite3.Error mostly; the thread must not die silently
                failures += 1
                delay = min(0.05 * 2**failures, 1.0)
                self._on_error(
                    TransportError(
                        f"SQLite events transport: reading {self._path} after seq {after} "
                        f"failed ({error}); retrying in {delay:g} s"
                    )
                )
                if connection is not None:
                    connection.close()
                    connection = None
                self._closed.wait(delay)
        if connection is not None:
            connection.close()

    def _read_new(self, connection: sqlite3.Connection, deliver: Deliver, after: int) -> int:
        """Deliver every row after ``after``, page by page, then wait for a commit.

        Returns:
            The last delivered seq.
        """
        version = connection.execute("PRAGMA data_version").fetchone()[0]
        while True:
            rows = connection.execute(_AFTER, (self._stream, after, _PAGE)).fetchall()
            for row in rows:
                if self._closed.is_set():
                    return after
                after = row[0]
                wire = self._wire_or_report(row)
                if wire is not None:
                    deliver(wire)
            if len(rows) < _PAGE:
                break
        if rows:
            return after
        # Nothing new: the version was read before the query, so a commit that the query
        # missed has changed it already and the next check sees that at once.
        # Every 0.2 ms for the first 2 ms (events tend to come in exchanges: an answer, the next
        # write), then doubling up to ``poll``. Each check is one PRAGMA, a few µs.
        checks = 0
        wait = _FIRST_POLL
        while not self._closed.wait(wait):
            if connection.execute("PRAGMA data_version").fetchone()[0] != version:
                break
            checks += 1
            if checks >= _FAST_CHECKS:
                wait = min(wait * 2, self._poll)
        return after


def _wire(row: Row) -> WireEvent:
    seq, id_, type_, data, source, timestamp, origin, encoding = row
    if isinstance(data, str):  # SQLite is dynamically typed: a foreign writer may store TEXT
        data = data.encode("utf-8")
    if not isinstance(id_, str) or not isinstance(type_, str) or not isinstance(origin, str):
        raise TypeError("id, type and origin must be text")
    return WireEvent(id_, type_, bytes(data), source, float(timestamp), origin, encoding, seq)


def _matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    if "**" in patterns:
        return lambda _type: True
    verdicts: dict[str, bool] = {}

    def wanted(event_type: str) -> bool:
        verdict = verdicts.get(event_type)
        if verdict is None:
            verdict = verdicts[event_type] = any(matches(p, event_type) for p in patterns)
        return verdict

    return wanted


def _number(options: dict[str, str], name: str, default: float) -> float:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise BusConfigError(f"sqlite transport option {name} must be a number > 0, got {raw!r}")
    return value
