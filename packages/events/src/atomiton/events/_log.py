"""EventLog: events written as JSON records, for debugging, and replayed onto a bus later.

A record is one JSON object per line: ``{"id", "type", "data", "source", "timestamp"}``. The log
writes to a JSON-lines file by default, or to anything that satisfies ``LogSink``. Encoding
happens inside ``emit``, so data that JSON cannot represent is refused at the emit that carries it,
not discovered when the log is read.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from atomiton.events._errors import BusConfigError, EventEncodingError, EventLogError
from atomiton.events._event import Event

# json (stdlib) rather than msgspec/orjson: the log is a debugging aid, the bus's only runtime
# dependency is atomiton-platform, and encoding a small dict costs a few µs either way.
# allow_nan=False: NaN and infinities are not JSON (other readers of the log would choke on them).
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@runtime_checkable
class LogSink(Protocol):
    """Where an EventLog keeps its records: any storage with these two methods will do."""

    def append(self, record: str) -> None:
        """Store one record (a JSON document without a trailing newline), after the others."""

    def records(self) -> Iterable[str]:
        """Every stored record, in the order they were appended."""


class _Emitter(Protocol):
    """A bus to replay onto: atomiton.platform's EventSink, also taking ``source=None``."""

    def emit(self, event_type: str, data: Any = None, *, source: str | None = None) -> Event: ...


class JsonLinesFile:
    """An LogSink that appends one record per line to a UTF-8 file (created on first write)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def append(self, record: str) -> None:
        """Write the record and a newline, and flush so a crash loses at most this line."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(record + "\n")
        self._file.flush()

    def records(self) -> Iterator[str]:
        """Read the records back, skipping blank lines."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as file:
            for line in file:
                if line.strip():
                    yield line.rstrip("\n")

    def close(self) -> None:
        """Close the file; a later append reopens it."""
        if self._file is not None:
            self._file.close()
            self._file = None


class EventLog:
    """Writes every event of a bus as a JSON record; ``EventLog.replay`` re-emits them in order.

    Args:
        target: A file path (JSON lines) or any LogSink.

    Raises:
        BusConfigError: ``target`` is neither a path nor a LogSink.

    Example:
        >>> log = EventLog("events.jsonl")  # doctest: +SKIP
        >>> bus = EventBus(log=log)  # doctest: +SKIP
    """

    def __init__(self, target: str | os.PathLike[str] | LogSink) -> None:
        if isinstance(target, (str, os.PathLike)):
            target = JsonLinesFile(target)
        elif not isinstance(target, LogSink):
            raise BusConfigError(
                "EventLog target must be a file path or a LogSink (append() and records()), "
                f"got {type(target).__name__}: {target!r:.60}"
            )
        self.sink: LogSink = target
        self._lock = threading.Lock()

    @staticmethod
    def encode(event: Event) -> str:
        """One event as a JSON record.

        Raises:
            EventEncodingError: The data (or source) holds a value JSON cannot encode, NaN and
                infinities included; the message gives its path, e.g. ``data['rows'][2]``.
        """
        record = {
            "id": event.id,
            "type": event.type,
            "data": event.data,
            "source": event.source,
            "timestamp": event.timestamp,
        }
        if event.origin is not None:  # from another process (a bridge): keep where it came from
            record["origin"] = event.origin
            record["seq"] = event.seq
        try:
            return _encoder.encode(record)
        except (TypeError, ValueError) as error:
            path, value = _find_unencodable(event.data, "data")
            if not path:
                path, value = _find_unencodable(event.source, "source")
            if not path:  # nothing unencodable by type: a circular reference or the like
                raise EventEncodingError(
                    f"event {event.type!r} cannot be logged: its data is not JSON ({error})"
                ) from error
            raise EventEncodingError(
                f"event {event.type!r} cannot be logged: {path} is a {type(value).__name__} "
                f"({value!r:.60}), which JSON cannot encode. Emit plain dicts, lists, str, int, "
                "finite float, bool or None on a logged bus (convert the value before emitting)."
            ) from error

    @staticmethod
    def decode(record: str) -> Event:
        """Turn one record back into an Event (its original id and timestamp included).

        Raises:
            EventLogError: The record is not a JSON object with the event fields.
        """
        try:
            raw = json.loads(record)
            return Event(
                id=int(raw["id"]),
                type=str(raw["type"]),
                data=raw["data"],
                source=raw["source"],
                timestamp=float(raw["timestamp"]),
                origin=None if raw.get("origin") is None else str(raw["origin"]),
                seq=None if raw.get("seq") is None else int(raw["seq"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise EventLogError(f"not an event record: {record[:120]!r} ({error})") from error

    def write(self, event: Event) -> None:
        """Encode and store one event."""
        self.write_record(self.encode(event))

    def write_record(self, record: str) -> None:
        """Store one already encoded record (the bus encodes inside ``emit``, then calls this)."""
        with self._lock:
            self.sink.append(record)

    def events(self) -> Iterator[Event]:
        """Every logged event, in the order written."""
        for record in self.sink.records():
            yield self.decode(record)

    @classmethod
    def replay(cls, source: str | os.PathLike[str] | LogSink | EventLog, bus: _Emitter) -> int:
        """Re-emit every logged event on ``bus``, in order, with its type, data and source.

        The bus gives the re-emitted events new ids and timestamps; read the originals with
        ``EventLog(path).events()``. Every record is read (and decoded) before the first emit,
        so replaying onto a bus that logs to the same file or sink terminates, and a corrupt
        record stops the replay before anything is emitted.

        Returns:
            How many events were emitted.
        """
        log = source if isinstance(source, EventLog) else cls(source)
        events = list(log.events())  # a snapshot: the bus may be appending to this very log
        for event in events:
            bus.emit(event.type, event.data, source=event.source)
        return len(events)

    def close(self) -> None:
        """Close the sink if it has a ``close()``."""
        close = getattr(self.sink, "close", None)
        if callable(close):
            with self._lock:
                close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _find_unencodable(
    value: Any, path: str, active: frozenset[int] = frozenset()
) -> tuple[str, Any]:
    """The first value (depth-first) that the JSON encoder refuses, with its path.

    Returns ``("", None)`` when every value has an encodable type (e.g. a circular reference).
    """
    if isinstance(value, (dict, list, tuple)):
        if id(value) in active:
            return "", None
        active = active | {id(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                return f"{path} key {key!r}", key
            if isinstance(key, float) and not math.isfinite(key):
                return f"{path} key {key!r}", key
            found = _find_unencodable(item, f"{path}[{key!r}]", active)
            if found[0]:
                return found
        return "", None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_unencodable(item, f"{path}[{index}]", active)
            if found[0]:
                return found
        return "", None
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if value is None or isinstance(value, (str, int, float, bool)):
        return "", None
    return path, value
