"""Strict reading of a DevTools export: every malformed part is an ``ImportDataError`` naming it.

``DevTools.import_`` reads the whole export through these functions before it changes anything,
so a bad export leaves the DevTools exactly as it was. Numbers must be numbers (``true`` is not an
integer, ``"1"`` is not a position, NaN and infinities are not timestamps), collections must be
of the expected kind, and positions and sequence numbers must be in order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from atomiton.devtools._atom_history import HistoryPoint
from atomiton.devtools._errors import ImportDataError
from atomiton.devtools._timeline import KINDS, TimelineEntry


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as an object with string keys, or ``ImportDataError`` naming ``where``."""
    if not isinstance(value, Mapping):
        raise ImportDataError(f"{where} must be an object, got {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise ImportDataError(f"{where} has a key that is not a string: {key!r:.60}")
    return value


def array(value: Any, where: str) -> list[Any]:
    """``value`` as a list (a JSON array), or ``ImportDataError`` naming ``where``."""
    if not isinstance(value, list):
        raise ImportDataError(f"{where} must be a list, got {_kind(value)}")
    return value


def integer(value: Any, where: str) -> int:
    """``value`` as an int (``bool`` refused), or ``ImportDataError`` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ImportDataError(f"{where} must be an integer, got {_kind(value)} {value!r:.40}")
    return value


def number(value: Any, where: str) -> float:
    """``value`` as a finite float (``bool`` refused), or ``ImportDataError`` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImportDataError(f"{where} must be a number, got {_kind(value)} {value!r:.40}")
    result = float(value)
    if not math.isfinite(result):
        raise ImportDataError(f"{where} must be a finite number, got {value!r}")
    return result


def text(value: Any, where: str) -> str:
    """``value`` as a str, or ``ImportDataError`` naming ``where``."""
    if not isinstance(value, str):
        raise ImportDataError(f"{where} must be a string, got {_kind(value)} {value!r:.40}")
    return value


def history(name: str, data: Any) -> tuple[list[HistoryPoint], int]:
    """The points and current position of store ``name``'s exported history."""
    where = f"store {name!r}"
    record = mapping(data, where)
    raw_points = array(record.get("history"), f"{where}: 'history'")
    points: list[HistoryPoint] = []
    for index, raw in enumerate(raw_points):
        at = f"{where}: history[{index}]"
        point = mapping(raw, at)
        position = integer(point.get("position"), f"{at}.position")
        if points and position <= points[-1].position:
            raise ImportDataError(
                f"{at}.position {position} does not follow {points[-1].position}: "
                "positions must increase"
            )
        points.append(
            HistoryPoint(
                position,
                text(point.get("label"), f"{at}.label"),
                number(point.get("timestamp"), f"{at}.timestamp"),
                dict(mapping(point.get("state"), f"{at}.state")),
            )
        )
    position = integer(record.get("position"), f"{where}: 'position'")
    if points and position not in {p.position for p in points}:
        raise ImportDataError(
            f"{where}: position {position} is outside its history "
            f"({points[0].position}..{points[-1].position})"
        )
    return points, position


def timeline(data: Any) -> list[TimelineEntry]:
    """The exported timeline entries, in increasing ``seq`` order."""
    entries: list[TimelineEntry] = []
    for index, raw in enumerate(array(data, "the export's 'timeline'")):
        at = f"timeline[{index}]"
        item = mapping(raw, at)
        seq = integer(item.get("seq"), f"{at}.seq")
        if seq < 0 or (entries and seq <= entries[-1].seq):
            raise ImportDataError(f"{at}.seq {seq} must be >= 0 and follow the previous entry's")
        kind = item.get("kind")
        if kind not in KINDS:
            raise ImportDataError(f"{at}.kind {kind!r:.40} is not one of {', '.join(KINDS)}")
        position = item.get("position")
        data_ = item.get("data")
        before = item.get("before")
        entries.append(
            TimelineEntry(
                seq=seq,
                kind=kind,
                source=text(item.get("source"), f"{at}.source"),
                label=text(item.get("label"), f"{at}.label"),
                data={} if data_ is None else dict(mapping(data_, f"{at}.data")),
                timestamp=number(item.get("timestamp", 0.0), f"{at}.timestamp"),
                position=None if position is None else integer(position, f"{at}.position"),
                origin=text(item.get("origin", ""), f"{at}.origin"),
                before=None if before is None else dict(mapping(before, f"{at}.before")),
            )
        )
    return entries


def records(data: Any, where: str) -> list[dict[str, Any]]:
    """A list of objects (the export's recent events)."""
    return [dict(mapping(item, f"{where}[{i}]")) for i, item in enumerate(array(data, where))]


def jobs(data: Any) -> list[dict[str, Any]]:
    """The export's jobs: objects with a string or integer ``id``."""
    result = records(data, "the export's 'jobs'")
    for index, job in enumerate(result):
        job_id = job.get("id")
        if isinstance(job_id, bool) or not isinstance(job_id, str | int):
            raise ImportDataError(f"jobs[{index}].id must be a string or an integer")
    return result


def entity_counts(name: str, data: Any) -> dict[str, int]:
    """An entity client's exported state: a count (integer >= 0) per entity store."""
    counts = mapping(data, f"entities {name!r}")
    result = {}
    for store, count in counts.items():
        value = integer(count, f"entities {name!r}: the count of {store!r}")
        if value < 0:
            raise ImportDataError(f"entities {name!r}: the count of {store!r} is negative")
        result[store] = value
    return result
