"""How entities become bytes (and back) for storage.

Entities are encoded as compact JSON (stdlib ``json``: the package must work without optional
extras, and msgspec would only pay off on very large batches). A value JSON cannot represent is
a clear error at write time, before anything changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from atomiton.store._errors import EntityStoreError

__all__ = ["decode_entity", "encode_entity"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_entity(entity: Mapping[str, Any], *, store: str) -> bytes:
    """Return the JSON bytes of ``entity``; raise ``EntityStoreError`` naming what cannot encode."""
    try:
        return _ENCODER.encode(entity).encode()
    except (TypeError, ValueError) as error:
        raise EntityStoreError(
            f"store {store!r}: entity {entity.get('id')!r} cannot be stored as JSON: {error}"
        ) from error


def decode_entity(data: bytes) -> dict[str, Any]:
    """Return the entity dict encoded in ``data``."""
    value = json.loads(data)
    if not isinstance(value, dict):
        raise EntityStoreError(f"stored entity is not a JSON object: {data[:80]!r}")
    return value
