"""Turning arbitrary application values into JSON-safe data for the timeline and the page."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any

_MAX_DEPTH = 8
_MAX_ITEMS = 200


def jsonable(value: Any, _depth: int = 0) -> Any:
    """Return a JSON-safe copy of ``value``.

    Plain JSON values pass through; mappings, sequences, sets, dataclasses and enums are converted
    structurally; anything else becomes its ``repr``. Deep or huge values are cut (the inspector
    shows values, it is not a serializer), so this never raises and never recurses without bound.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if _depth >= _MAX_DEPTH:
        return "…"
    if isinstance(value, enum.Enum):
        return jsonable(value.value, _depth + 1)
    if isinstance(value, bytes | bytearray | memoryview):
        return repr(bytes(value[:_MAX_ITEMS]))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {
            str(key): jsonable(item, _depth + 1) for key, item in list(value.items())[:_MAX_ITEMS]
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [jsonable(item, _depth + 1) for item in list(items)[:_MAX_ITEMS]]
    return repr(value)
