"""Event data on the wire: JSON by default, msgpack when asked for; never pickle.

Each wire record names its encoding, so a receiver decodes what it gets whatever it sends with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from atomiton.events._errors import BridgeEncodingError, BusConfigError

ENCODINGS = ("json", "msgpack")

_json_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _encode_json(data: Any) -> bytes:
    return _json_encoder.encode(data).encode("utf-8")


def _decode_json(raw: bytes) -> Any:
    return json.loads(raw)


def encoder_for(encoding: str) -> Callable[[Any], bytes]:
    """The function that turns event data into bytes for ``encoding``.

    Raises:
        BusConfigError: An unknown encoding, or msgpack without the ``msgpack`` extra installed.
    """
    if encoding == "json":
        return _encode_json
    if encoding == "msgpack":
        return _msgpack().packb  # type: ignore[no-any-return]
    raise BusConfigError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def encode(encoder: Callable[[Any], bytes], event_type: str, data: Any) -> bytes:
    """``encoder(data)``, with any failure turned into an error naming the event type.

    Raises:
        BridgeEncodingError: ``data`` cannot be encoded (e.g. a set, an object, NaN in JSON).
    """
    try:
        return encoder(data)
    except Exception as error:  # each codec raises its own kinds (TypeError, ValueError, ...)
        raise BridgeEncodingError(
            f"event {event_type!r} was delivered locally but not sent to other processes: "
            f"its data cannot be encoded ({type(error).__name__}: {error}); send JSON-like "
            "data (dict, list, str, int, float, bool, None)"
        ) from error


def decode(encoding: str, raw: bytes) -> Any:
    """The event data back from its wire bytes.

    Raises:
        BusConfigError: The record uses an encoding this process cannot read.
        ValueError: The bytes are not valid for their encoding.
    """
    if encoding == "json":
        return _decode_json(raw)
    if encoding == "msgpack":
        return _msgpack().unpackb(raw)
    raise BusConfigError(f"cannot decode event data encoded as {encoding!r}")


def _msgpack() -> Any:
    try:
        import msgpack  # type: ignore[import-untyped, unused-ignore]
    except ImportError as error:
        raise BusConfigError(
            "encoding='msgpack' needs the msgpack extra: pip install 'atomiton-events[msgpack]'"
        ) from error
    return msgpack
